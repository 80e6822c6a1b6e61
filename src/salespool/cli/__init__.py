"""The command-line interface: parse, call one core function, render."""

from salespool.cli import book, config, demo, files, pool, report, rules  # noqa: F401  (registers the commands)
from salespool.cli.app import app


def main() -> None:
    """Entry point of the `salespool` console script."""
    app()


__all__ = ["app", "main"]

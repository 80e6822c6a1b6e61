"""The command-line interface: parse, call one core function, render."""

from salespool.cli import (  # noqa: F401  (registers the commands)
    book,
    coach,
    commission,
    config,
    customer,
    deals,
    demo,
    files,
    imports,
    pool,
    report,
    rules,
)
from salespool.cli.app import app


def main() -> None:
    """Entry point of the `salespool` console script."""
    app()


__all__ = ["app", "main"]

"""The command-line interface: parse, call one core function, render."""

# Imported for the commands they register, in the order `salespool --help` lists them.
from salespool.cli import (  # noqa: F401  # isort: skip
    book,
    report,
    coach,
    commission,
    config,
    customer,
    deals,
    demo,
    files,
    recycling,
    notify,
    pool,
    pools,
    imports,
    team,
)
from salespool.cli.app import app


def main() -> None:
    """Entry point of the `salespool` console script."""
    app()


__all__ = ["app", "main"]

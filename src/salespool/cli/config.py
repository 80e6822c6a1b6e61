"""`salespool config show`: the effective rules and where each came from."""

from __future__ import annotations

import os

import typer

from salespool.cli.app import JsonOpt, app, state
from salespool.render import Col, Format

config_app = typer.Typer(help="The team's rules (salespool.toml).")
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print every rule's effective value, where it came from, and what it means.

    Sources: default, file:line, and for timezone also --tz, SALESPOOL_TZ or machine.

    Example: salespool --config examples/salespool.toml config show
    """
    st = state(ctx)
    out = st.output(as_json)
    rows = st.config.rows()
    if out.fmt is Format.json:
        out.json(
            {
                "file": str(st.config.path) if st.config.path else None,
                "rules": {
                    s.key: {"value": s.value, "source": s.source, "help": s.help} for s in rows
                },
            }
        )
        return
    where = st.config.path or "no salespool.toml found; all defaults"
    prefix = f"{st.config.path.parent}{os.sep}" if st.config.path else "\0"
    columns = [
        Col("key", "rule", no_wrap=True),
        Col("value", "value", no_wrap=True),
        # The file's full path is printed once below; the column names it by file name.
        Col("source", "from", no_wrap=True, fmt=lambda source: source.replace(prefix, "", 1)),
        Col("help", "meaning"),
    ]
    out.listing(rows, columns)
    out.say(f"rules file: {where}")

"""`salespool config show`: the effective rules and where each came from."""

from __future__ import annotations

import typer

from salespool.cli.app import JsonOpt, app, state
from salespool.render import Col, Format

config_app = typer.Typer(help="The team's rules (salespool.toml).")
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print every rule's effective value and where it came from (default or file:line).

    Example: salespool --config examples/salespool.toml config show
    """
    st = state(ctx)
    out = st.output(as_json)
    rows = st.config.rows()
    if out.fmt is Format.json:
        out.json(
            {
                "file": str(st.config.path) if st.config.path else None,
                "rules": {s.key: {"value": s.value, "source": s.source} for s in rows},
            }
        )
        return
    where = st.config.path or "no salespool.toml found; all defaults"
    out.listing(rows, [Col("key", "rule"), Col("value", "value"), Col("source", "from")])
    out.say(f"rules file: {where}")

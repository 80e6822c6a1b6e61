"""`salespool config show` (the effective rules and where each came from) and
`config init` (a starter rules file)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Annotated

import typer

from salespool import __version__
from salespool.cli.app import JsonOpt, app, state
from salespool.config import FILE_NAME, RULES, starter_text
from salespool.errors import BadInput, Refused
from salespool.render import Col, Format

config_app = typer.Typer(help="The team's rules (salespool.toml).")
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print every rule's effective value, where it came from, and what it means.

    Sources: default, file:line, and for timezone also --tz, SALESPOOL_TZ, store or machine.

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
        # A list rule (recycle.clock_kinds, release.reasons...) reads as it is written in
        # TOML, on lines of its own between items, so neither a key nor a zone ever breaks.
        Col("value", "value", no_wrap=True, fmt=_shown),
        # The file's full path is printed once below; the column names it by file name.
        Col("source", "from", no_wrap=True, fmt=lambda source: source.replace(prefix, "", 1)),
        Col("help", "meaning"),
    ]
    out.listing(rows, columns)
    out.say(f"rules file: {where}")


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        # As TOML writes it: names quoted, numbers bare (recycle.warn = [7, 3, 1]).
        toml = "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]"
        return "\n".join(textwrap.wrap(toml, LIST_WIDTH, break_long_words=False))
    return "" if value is None else str(value)


LIST_WIDTH = 24  # a list rule's lines in the table: about as wide as the other values


OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Where to write the rules file.")]


@config_app.command("init")
def init(
    ctx: typer.Context,
    out: OutOpt = Path(FILE_NAME),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a starter salespool.toml: every rule at its default, with what it does.

    The file loads as it is (every value is the default), so edit only what your
    team does differently. An existing file is overwritten only with --force.

    Example: salespool config init --out team/salespool.toml
    """
    st = state(ctx)
    if out.is_dir():
        raise BadInput(f"--out: {out} is a directory (give a file name)")
    if out.exists() and not force:
        raise Refused(f"{out} exists; add --force to overwrite it")
    text = starter_text(__version__)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"--out: cannot write {out}: {exc.strerror or exc}") from exc
    result = {"file": str(out), "rules": len(RULES)}
    st.output(as_json).record(
        result, f"wrote {out}: {len(RULES)} rules at their defaults (see salespool config show)"
    )

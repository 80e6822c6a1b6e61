"""`salespool config show` (the effective rules and where each came from), `config init`
(a starter rules file), and the rules kept in the store: `config set`, `unset`, `load`,
`history`."""

from __future__ import annotations

import os
import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from salespool import __version__
from salespool.cli.app import JsonOpt, State, app, state
from salespool.config import FILE_NAME, RULES, starter_text
from salespool.errors import BadInput, Refused
from salespool.render import Col, Format, note

config_app = typer.Typer(help="The team's rules (salespool.toml, and the store's own).")
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print every rule's effective value, where it came from, and what it means.

    Sources: default, store (`config set`, `config load`), file:line, and for timezone
    also --tz, SALESPOOL_TZ or machine. A key salespool.toml sets wins over the store's,
    key by key; a team store refuses a local file (except for simulate and --dry-run).

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
                "team": st.config.team,
                "stored": st.config.stored,
                "precedence": _precedence(st.config.team),
            }
        )
        return
    where = st.config.path or (
        "none found" if st.config.stored else "no salespool.toml found; all defaults"
    )
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
    if st.config.team or st.config.stored:
        out.say(f"rules in the store: {st.config.stored} ({_precedence(st.config.team)})")


def _precedence(team: bool) -> str:
    """Who wins when the store and salespool.toml both set a key, said for people."""
    if team:
        return "a team store: its rules alone; a local file only for simulate and --dry-run"
    return "salespool.toml wins over the store, key by key"


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


KeyArg = Annotated[str, typer.Argument(help="A rule's dotted key, e.g. recycle.days.")]


# A negative value (`config set recycle.days -1`) is a value to refuse, not an option.
@config_app.command("set", context_settings={"ignore_unknown_options": True})
def set_(
    ctx: typer.Context,
    key: KeyArg,
    value: Annotated[
        str, typer.Argument(help='As TOML writes it: 45, "0.05", [7, 3, 1]; plain text as is.')
    ],
    as_json: JsonOpt = False,
) -> None:
    """Keep one rule in the store, for every machine that uses it; the change is recorded.

    Checked exactly as salespool.toml checks the key: an unknown key or a bad value is
    refused and nothing changes. On a store without team mode, a salespool.toml that
    sets the same key still wins over it on that machine.

    Example: salespool config set recycle.days 45
    """
    from salespool.config import typed_rule

    _change(ctx, {key: typed_rule(key, value)}, "config set", as_json)


@config_app.command("unset")
def unset(ctx: typer.Context, key: KeyArg, as_json: JsonOpt = False) -> None:
    """Remove one rule from the store: the key goes back to its default (or the file's).

    A key the store does not keep is left as it is (exit 0, nothing recorded).

    Example: salespool config unset recycle.days
    """
    from salespool.config import known_key

    _change(ctx, {known_key(key): None}, "config unset", as_json)


@config_app.command("load")
def load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A rules file, as salespool.toml is written.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Also remove the stored rules FILE leaves out.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Keep every rule of a rules file in the store, all or none; each change is recorded.

    A bad file is refused naming the file, line and key, and nothing changes. Without
    --replace the store's other rules stay; with it the store keeps exactly FILE's.

    Example: salespool config load team/salespool.toml --replace
    """
    from salespool.config import read_rules_file, toml_literal

    if not file.is_file():
        raise BadInput(f"{file}: no such file" if not file.exists() else f"{file}: not a file")
    wanted = {r.key: toml_literal(r.value) for r in read_rules_file(file)}
    command = f"config load {file}" + (" --replace" if replace else "")
    _change(ctx, wanted, command, as_json, replace=replace, file=str(file))


def _change(
    ctx: typer.Context,
    wanted: dict[str, str | None],
    command: str,
    as_json: bool,
    replace: bool = False,
    file: str | None = None,
) -> None:
    from salespool.core.settings import change_settings

    st = state(ctx)
    st.manage_rules()
    out = st.output(as_json)
    with st.write() as session:
        result = change_settings(
            session, wanted, now=st.clock.now, actor=st.actor, command=command, replace=replace
        )
    changes = [asdict(c) for c in result.changes]
    if out.fmt is Format.json:
        doc = {"changed": changes, "unchanged": result.unchanged}
        out.json({"file": file, **doc} if file is not None else doc)
    elif not changes:
        out.say("the store keeps these rules as they are already; nothing changed")
    else:
        for c in changes:
            out.say(f"{c['key']}: {_side(c['old'])} -> {_side(c['new'])} (in the store)")
    _warn_file_wins(st, [c["key"] for c in changes if c["new"] is not None])


def _side(literal: str | None) -> str:
    return "(not set)" if literal is None else literal


def _warn_file_wins(st: State, keys: list[str]) -> None:
    """Say so when this machine's salespool.toml sets a key just stored: here the file wins."""
    from salespool.config import find_config_file, read_rules_file
    from salespool.errors import SalespoolError

    if not keys or st.stored_rules().team:
        return
    try:
        path = find_config_file(st.config_file)
        found = {r.key: r.where for r in read_rules_file(path)} if path else {}
    except SalespoolError:
        return  # a broken file is reported by the commands that read it
    for key in keys:
        if key in found:
            note(f"{found[key]} sets {key} too, and wins over the store on this machine")


@config_app.command("history")
def history(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(help="Only this rule's changes.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every change of the rules kept in the store: when, who, key, old -> new, command.

    Values are TOML literals as the store keeps them; (not set) / null: not in the store.

    Example: salespool config history recycle.days
    """
    from salespool.config import known_key
    from salespool.core.settings import setting_history

    st = state(ctx)
    st.manage_rules()
    out = st.output(as_json)
    with st.read() as session:
        rows = [asdict(c) for c in setting_history(session, key)]
    if key is not None and not rows:
        known_key(key)  # a typo is said so, not answered with "no changes"
    if out.fmt is Format.json:
        out.json(rows)
        return
    columns = [
        Col("at", "when", no_wrap=True),
        Col("actor", "who"),
        Col("key", "rule", no_wrap=True),
        Col("old", "old", no_wrap=True, fmt=_side),
        Col("new", "new", no_wrap=True, fmt=_side),
        Col("command", "command"),
    ]
    out.listing(rows, columns, empty="no rule has been changed in the store")

"""Commands that write or read whole files: export, backup, restore."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from salespool.cli.app import JsonOpt, app, state
from salespool.cli.book import StageOpt, stage_option
from salespool.core.vocabulary import ExportFormat
from salespool.core.vocabulary import ExportKind as Kind
from salespool.errors import Refused
from salespool.render import plural, utf8

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Overwrite an existing file or store.")]


@app.command("export")
def export_(
    ctx: typer.Context,
    what: Annotated[
        Kind, typer.Argument(help="customers, followups, deals or events.", show_default=False)
    ],
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            help="csv, xlsx, or json (JSON Lines: one object per line). "
            "Default: from the --out extension, else csv.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="File to write (mode 0600). Default: stdout.", show_default=False
        ),
    ] = None,
    excel: Annotated[
        bool | None,
        typer.Option(
            "--excel/--no-excel",
            help="CSV: start with a UTF-8 BOM so Excel reads Chinese right. "
            "Default: on for a .csv file, off on stdout.",
            show_default=False,
        ),
    ] = None,
    rep: Annotated[
        str | None, typer.Option("--rep", help="Only this rep's customers (and their rows).")
    ] = None,
    stage: StageOpt = None,
    pool: Annotated[bool, typer.Option("--pool", help="Only customers in the pool.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing --out file.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --out: print one JSON document about the file.")
    ] = False,
) -> None:
    """Export customers, follow-ups, deals or events as CSV, XLSX or JSON Lines.

    The filters pick customers as `customers` does; follow-ups, deals and
    events are those of the picked customers. Customer columns are the import
    columns, so an export imports into another store as the same customers.
    CSV cells that a spreadsheet would run as a formula (starting with = + - @,
    tab or a line break) get an apostrophe in front; XLSX stores them as text;
    JSON (lossless) keeps every value as it is. Times are UTC (ISO 8601),
    amounts exact. An existing --out file is replaced only with --force.

    Example: salespool export customers --rep alice --out alice.xlsx
    """
    from salespool.core.export import export, guess_format

    chosen = fmt or guess_format(out)
    if chosen is ExportFormat.xlsx and out is None:
        raise typer.BadParameter("an XLSX export needs a file", param_hint="--out")
    if excel is not None and chosen is not ExportFormat.csv:
        raise typer.BadParameter("only applies to CSV", param_hint="--excel/--no-excel")
    if as_json and out is None:
        raise typer.BadParameter(
            "--json describes an export written with --out; for the data itself as JSON "
            "on stdout use --format json",
            param_hint="--json",
        )
    st = state(ctx)
    if out is not None and st.store.path is not None and out.resolve() == st.store.path.resolve():
        raise Refused(f"--out {out} is the store itself")
    with st.read() as session:
        result = export(
            session,
            what=what,
            fmt=chosen,
            out=out if out is not None else utf8(sys.stdout),
            excel=excel,
            rep=rep,
            stage=stage_option(stage),
            pool=pool,
            force=force,
        )
    if out is not None:
        st.output(as_json).record(
            result, f"exported {plural(result.rows, 'row')} of {what.value} to {out}"
        )


@app.command("backup")
def backup_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the copy.", show_default=False)],
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Copy the SQLite store to FILE (mode 0600), safely while others are writing to it.

    Uses SQLite's online backup API: the copy is one consistent moment of the
    store, and other salespool processes keep working meanwhile. An existing
    FILE is overwritten only with --yes. For PostgreSQL use pg_dump.

    Example: salespool backup backups/salespool-$(date +%F).db
    """
    from salespool.storage import backup as backups
    from salespool.storage.store import to_url

    st = state(ctx)
    result = backups.backup(to_url(st.db), file, yes=yes)
    st.output(as_json).record(
        result,
        f"backed up {result.db} to {result.file}: {plural(result.customers, 'customer')}, "
        f"{result.bytes} bytes",
    )


@app.command("restore")
def restore_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A backup made by `salespool backup`.", show_default=False)
    ],
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Replace the store with a backup (refused over an existing store without --yes).

    FILE is checked first: it must be an undamaged salespool store this version
    can read. A backup from an older version is upgraded as it is restored.
    For PostgreSQL use pg_restore.

    Example: salespool restore backups/salespool-2026-11-28.db --yes
    """
    from salespool.storage import backup as backups
    from salespool.storage.store import to_url

    st = state(ctx)
    result = backups.restore(to_url(st.db), file, yes=yes)
    st.output(as_json).record(
        result,
        f"restored {result.file} into {result.db}: {plural(result.customers, 'customer')}",
    )

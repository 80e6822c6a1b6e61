"""Commands that bring files in: import (customers), import-followups, import-deals and
import-reps."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from salespool.cli.app import JsonOpt, State, app, state
from salespool.core.readers import Format, Limits, Progress, ReadOptions
from salespool.core.vocabulary import OnDuplicate
from salespool.errors import SalespoolError
from salespool.render import Col, Output, note, plural

if TYPE_CHECKING:
    from sqlmodel import Session

    from salespool.core import deal_import, followup_import, importer
    from salespool.core.staging import ImportJob

FileArg = Annotated[
    Path, typer.Argument(help="CSV, XLSX or JSON Lines file with a header row.", show_default=False)
]
FormatOpt = Annotated[
    Format | None,
    typer.Option("--format", help="csv, xlsx or jsonl (default: from the file's extension)."),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="A CSV's text encoding, e.g. gb18030 (default: UTF-8 BOM, UTF-8, GB18030, guess).",
    ),
]
SheetOpt = Annotated[
    str | None, typer.Option("--sheet", help="The XLSX sheet to read (default: the first).")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        metavar="'HEADER=column'",
        help="Read a header as a column, e.g. --map 'Company Name=name' (repeatable).",
    ),
]
RejectsOpt = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        help="Import the good rows; write each bad row (line, reason, cells) to this CSV "
        "(with --dry-run: list them, write nothing).",
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check and count, write nothing.")]
RejectsOpt = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        help="Import the good rows; write each bad row (line, reason, cells) to this CSV.",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no notes on stderr.")
]


MapKindOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map-kind",
        metavar="'LABEL=kind'",
        help="Read a kind label as a kind, e.g. --map-kind 传真=other (repeatable); "
        "a label no table or mapping knows is a bad row.",
    ),
]


def parse_map(
    pairs: list[str] | None, flag: str = "--map", shape: str = "HEADER=column"
) -> dict[str, str]:
    """`--map 'Company Name=name'` pairs as {header: column} (any `flag`'s NAME=VALUE)."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        header, sep, column = pair.rpartition("=")
        if not sep or not header.strip() or not column.strip():
            raise typer.BadParameter(f"'{pair}' is not {shape}", param_hint=flag)
        mapping[header.strip()] = column.strip()
    return mapping


def show_progress(quiet: bool, as_json: bool, tty: bool | None = None) -> bool:
    """A progress bar only for a person watching: stderr is a terminal, no --quiet/--json."""
    if tty is None:
        tty = sys.stderr.isatty()
    return tty and not quiet and not as_json


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar on stderr fed by the core's progress callback, or nothing."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=None)

        def report(done: int, total: int | None, unit: str) -> None:
            del unit
            bar.update(task, completed=done, total=total)

        yield report


def read_options(
    fmt: str | None, encoding: str | None, sheet: str | None, mapping: list[str] | None
) -> ReadOptions:
    """The reading options both import commands share, from their flags and the environment."""
    try:
        limits = Limits.from_env()
    except SalespoolError as exc:
        raise typer.BadParameter(str(exc)) from None
    return ReadOptions(fmt, encoding, sheet, parse_map(mapping), limits)


Result = TypeVar("Result")


@dataclass(frozen=True)
class ImportFlags:
    """The flags every import command has."""

    file: Path
    fmt: str | None
    encoding: str | None
    sheet: str | None
    mapping: list[str] | None
    dry_run: bool
    rejects: Path | None
    quiet: bool
    as_json: bool


def run_import(
    ctx: typer.Context,
    flags: ImportFlags,
    call: Callable[[Session, State, ImportJob], Result],
) -> tuple[State, Result]:
    """Run one import (`call`) in a write transaction, with a progress bar for a person watching."""
    from salespool.core.staging import ImportJob

    st = state(ctx)
    read = read_options(flags.fmt, flags.encoding, flags.sheet, flags.mapping)
    watched = show_progress(flags.quiet, flags.as_json)
    with (
        progress_bar(f"importing {flags.file.name}", watched) as progress,
        st.write() as session,
    ):
        job = ImportJob(
            file=flags.file,
            now=st.clock.now,
            tz=st.clock.tz,
            actor=st.actor,
            dry_run=flags.dry_run,
            read=read,
            rejects=flags.rejects,
            progress=progress,
        )
        result = call(session, st, job)
    return st, result


@app.command("import")
def import_(
    ctx: typer.Context,
    file: FileArg,
    dry_run: DryRunOpt = False,
    fmt: FormatOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    mapping: MapOpt = None,
    on_duplicate: Annotated[
        OnDuplicate,
        typer.Option(
            "--on-duplicate",
            help="A row matching a customer already in the book: update its details, "
            "skip it, or refuse it (error). Duplicates inside the file are refused, "
            "or skipped with 'skip'.",
        ),
    ] = OnDuplicate.update,
    take_owner: Annotated[
        bool,
        typer.Option(
            "--take-owner",
            help="Matched customers go to the file's owner (an 'assigned' event each), "
            "within each rep's capacity.",
        ),
    ] = False,
    rejects: RejectsOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import customers: all of the file, or nothing if any row is bad (see --rejects).

    Columns (any order, any case): name (required), external_id, contact, phone,
    email, city, level, owner, stage, created_at, owned_since, last_contact_at,
    referred_by (the referring customer: #ID, external_id or name, of the book or
    the file); and Chinese headers such as 客户名称, 联系人, 手机, 邮箱, 城市, 负责人,
    客户阶段, 介绍人.
    A row matches a customer already in the book by external_id, else phone
    (E.164), else e-mail, else name (full-width and spacing ignored).

    Example: salespool import 客户.xlsx --map '公司全称=name' --rejects bad.csv
    """
    from salespool.core import importer

    flags = ImportFlags(file, fmt, encoding, sheet, mapping, dry_run, rejects, quiet, as_json)
    st, result = run_import(
        ctx,
        flags,
        lambda session, st, job: importer.import_customers(
            session,
            job=job,
            region=st.config["phone_region"],
            on_duplicate=on_duplicate,
            take_owner=take_owner,
            rules=st.config.claim_rules(st.clock.tz),
        ),
    )
    out = st.output(as_json)
    if not as_json and not quiet:
        file_notes(result)
        for dup in result.duplicates[:10]:
            note(
                f"line {dup['line']}: same {dup['key']} as line {dup['first_line']} "
                f"('{dup['value']}'): skipped"
            )
        unkeyed = result.phones_not_matchable
        if unkeyed["count"]:
            lines = ", ".join(map(str, unkeyed["lines"][:10]))
            note(
                f"{plural(unkeyed['count'], 'phone')} kept as typed but never matched "
                f"(not a valid number): "
                f"lines {lines}{'...' if unkeyed['count'] > 10 else ''}"
            )
    if dry_run and result.rejects and not as_json:
        show_rejects(out, result.rejects, result.rejected)
    verb = "would import" if dry_run else "imported"
    read_as = result.format + (f", {result.encoding}" if result.encoding else "")
    created = f"; new reps: {', '.join(result.reps_created)}" if result.reps_created else ""
    skipped = f", {result.skipped} skipped" if result.skipped else ""
    out.record(
        result,
        f"{verb} {file.name} ({read_as}): {result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged{skipped}, {result.rejected} rejected{created}",
    )


def file_notes(
    result: importer.ImportResult
    | followup_import.FollowupImportResult
    | deal_import.DealImportResult,
) -> None:
    """What every import tells people on stderr: columns it ignored, where bad rows went."""
    if result.ignored_columns:
        note(f"ignored columns: {', '.join(result.ignored_columns)}")
    if result.rejected and result.rejects_file:
        note(f"{plural(result.rejected, 'bad row')} written to {result.rejects_file}")


def show_rejects(out: Output, rejects: list[dict], total: int) -> None:
    """A dry run's would-be rejects as a table (the first ones; --json lists up to 1,000)."""
    shown = rejects[:SHOWN_REJECTS]
    out.console.print(out.table(shown, [Col("line", "line", "right"), Col("reason", "reason")]))
    if total > len(shown):
        note(f"... and {total - len(shown)} more bad rows (--json lists the first {len(rejects)})")


# Rows of a dry run's rejects table: a screen, not a million-row file.
SHOWN_REJECTS = 50


@app.command("import-followups")
def import_followups(
    ctx: typer.Context,
    file: FileArg,
    dry_run: DryRunOpt = False,
    fmt: FormatOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    mapping: MapOpt = None,
    map_kind: MapKindOpt = None,
    rejects: RejectsOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import follow-up history from another CRM: all of the file, or nothing (see --rejects).

    Columns: customer (external_id, else exact name), rep, kind, note, at, and
    optionally next_at; or 客户, 跟进人, 跟进方式 (电话/微信/拜访/邮件/会议), 跟进内容,
    跟进时间. An empty kind is other; a kind no table knows is a bad row
    (--map-kind maps it). Follow-ups by any rep are kept as history; each
    customer's last contact moves forward to its newest follow-up. An optional
    stage column (阶段; a stage name or its Chinese label) is the customer's stage
    at each follow-up: it writes the stage trail, and the newest one becomes the
    current stage when newer than what the book knew. Re-importing skips rows
    already stored.

    Example: salespool import-followups followups.csv --dry-run
    Example: salespool import-followups 跟进记录.xlsx --map-kind 传真=other --map-kind 短信=wechat
    """
    from salespool.core import followup_import

    flags = ImportFlags(file, fmt, encoding, sheet, mapping, dry_run, rejects, quiet, as_json)
    kinds = parse_map(map_kind, "--map-kind", "LABEL=kind")
    st, result = run_import(
        ctx,
        flags,
        lambda session, _st, job: followup_import.import_followups(
            session, job=job, map_kind=kinds
        ),
    )
    out = st.output(as_json)
    if not as_json and not quiet:
        file_notes(result)
    if dry_run and result.rejects and not as_json:
        show_rejects(out, result.rejects, result.rejected)
    verb = "would import" if dry_run else "imported"
    created = (
        f"; new inactive reps: {', '.join(result.reps_created)}" if result.reps_created else ""
    )
    rejected = f", {result.rejected} rejected" if rejects is not None else ""
    staged = (
        f"; {plural(result.stage_changes, 'stage change')}, current stage moved on "
        f"{result.stage_moved}"
        if result.stage_changes or result.stage_moved
        else ""
    )
    out.record(
        result,
        f"{verb} {file.name}: {plural(result.inserted, 'follow-up')} for "
        f"{plural(result.customers, 'customer')}, "
        f"{result.skipped} already there{rejected}; last contact moved forward on "
        f"{result.contact_moved}{staged}{created}",
    )


@app.command("import-deals")
def import_deals(
    ctx: typer.Context,
    file: FileArg,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check and count, write nothing (with --rejects: list the bad rows)."
        ),
    ] = False,
    fmt: FormatOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    mapping: MapOpt = None,
    rejects: RejectsOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import deal history from another CRM: all of the file, or nothing (see --rejects).

    Columns: amount, at (required); the customer by external_id, phone, email or
    name (matched in that order), or customer (an external_id or exact name);
    channel (direct/online, 线上/线下), rep, deal_id; or 客户编号, 客户名称,
    成交金额, 成交日期, 渠道, 销售, 订单号. Without rep, a deal is credited to the
    customer's owner at its time (from the trail), else its owner now. Deals count
    as contact and make a lead won. Re-importing changes nothing.

    Example: salespool import-deals 成交记录.xlsx --rejects bad.csv
    """
    from salespool.core import deal_import

    flags = ImportFlags(file, fmt, encoding, sheet, mapping, dry_run, rejects, quiet, as_json)
    st, result = run_import(
        ctx,
        flags,
        lambda session, st, job: deal_import.import_deals(
            session, job=job, region=st.config["phone_region"]
        ),
    )
    if not as_json and not quiet:
        for bad in result.rejects[:10]:
            note(f"line {bad['line']}: {bad['reason']}")
        file_notes(result)
    verb = "would import" if dry_run else "imported"
    read_as = result.format + (f", {result.encoding}" if result.encoding else "")
    st.output(as_json).record(
        result,
        f"{verb} {file.name} ({read_as}): {result.inserted} deals for {result.customers} "
        f"customers, {result.unchanged} unchanged, {result.rejected} rejected; last contact "
        f"moved forward on {result.contact_moved}, {result.won} moved to won",
    )


@app.command("import-reps")
def import_reps(
    ctx: typer.Context,
    file: FileArg,
    dry_run: DryRunOpt = False,
    fmt: FormatOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    mapping: MapOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a team: add new reps, update the others; all of the file, or nothing.

    Columns: name (required), role (rookie/rep/coach/manager, or 新人/销售/教练/经理),
    coach (a rep of the store or of the file, in any order), capacity, hired_at;
    or 姓名, 角色, 教练, 容量, 入职日期. An empty cell leaves a rep's value as it is
    (a new rep gets rep add's defaults). Re-importing the same file changes nothing.

    Example: salespool import-reps 团队.xlsx --dry-run
    """
    from salespool.core import rep_import

    flags = ImportFlags(file, fmt, encoding, sheet, mapping, dry_run, None, quiet, as_json)
    st, result = run_import(
        ctx, flags, lambda session, _st, job: rep_import.import_reps(session, job=job)
    )
    if not as_json and not quiet and result.ignored_columns:
        note(f"ignored columns: {', '.join(result.ignored_columns)}")
    if not as_json and not quiet:
        for change in result.reps:
            if change.action == "updated":
                note(f"line {change.line}: {change.name}: {', '.join(change.changed)} changed")
    verb = "would import" if dry_run else "imported"
    read_as = result.format + (f", {result.encoding}" if result.encoding else "")
    nothing = "; nothing to change" if not (result.inserted or result.updated) else ""
    st.output(as_json).record(
        result,
        f"{verb} {file.name} ({read_as}): {plural(result.inserted, 'rep')} added, "
        f"{result.updated} updated, {result.unchanged} unchanged{nothing}",
    )

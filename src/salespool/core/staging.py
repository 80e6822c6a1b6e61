"""The skeleton the three imports share: read a file into a temporary staging table.

An import says what is its own in a `Plan` (its columns and their aliases, its
staging table and the other temporary tables it works in) and a function turning
records into staging tuples. `staged` does the rest, in the caller's write
transaction: refuse an unwritable rejects file before any work, take the import's
lock, ready the connection for bulk work, open the file and read its header,
create the tables, stream the rows in batches (`storage.bulk.stage_rows`, times
pre-formatted by `storage.bulk.stamper`), and drop the tables however it ends.
Between, the import runs its set-based statements over the staging table;
`settle_rejects` then counts, lists and writes the bad rows as a dry run or a
real one asks.

Every import's rows go through `Staging.records` (a reader's issue in a column
the import reads, cells past the header) and dates through `Staging.dates`
(ISO 8601 read fast, else clock.parse_absolute; never in the future).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Connection, MetaData, Table, and_, func, or_, select, update
from sqlalchemy.schema import CreateTable
from sqlmodel import Session

from salespool.clock import parse_absolute, to_db
from salespool.core.layout import Layout, clean, layout
from salespool.core.readers import Progress, ReadOptions, Source, open_source
from salespool.core.rejects import (
    REJECTS,
    REPORTED_REJECTS,
    Problems,
    check_rejects_path,
    listed_rejects,
    write_rejects,
)
from salespool.errors import BadInput
from salespool.models import Customer
from salespool.storage.bulk import stage_rows, stamper, tune_for_bulk
from salespool.storage.store import serialize

_metadata = MetaData()
# What `Dates.read` returns for a cell it has made a problem of (None is an empty cell).
BAD = object()


def temp_table(name: str, *columns: Column) -> Table:
    """A temporary table of an import's, created and dropped by `staged`."""
    return Table(name, _metadata, *columns, prefixes=["TEMPORARY"])


@dataclass(frozen=True)
class ImportJob:
    """What every import is given: the file and how to read it, when and by whom, and
    whether to write (`dry_run`) and where bad rows go (`rejects`; else they refuse it)."""

    file: Path
    now: datetime
    tz: str
    actor: str
    dry_run: bool = False
    read: ReadOptions = field(default_factory=ReadOptions)
    rejects: Path | None = None
    progress: Progress | None = None


@dataclass(frozen=True)
class Plan:
    """What is one import's own in the skeleton."""

    columns: tuple[str, ...]  # as its rows read them (vocabulary)
    aliases: Mapping[str, str]
    required: tuple[str, ...]  # columns the header must have
    staging: Table
    staged: Sequence[str]  # the staging columns its tuples fill, in their order
    tables: tuple[Table, ...] = ()  # its other temporary tables
    batch_rows: int = 5000
    lock: str | None = None  # imports that must run one at a time (storage.store.serialize)
    check: Callable[[str, Layout], None] | None = None  # more demands on the header


@dataclass
class Staging:
    """An import under way: its open file, header layout, connection and bad rows."""

    file: str
    source: Source
    lay: Layout
    conn: Connection
    problems: Problems
    stamp: Callable[[datetime], object]
    staged: int = 0  # rows staged

    def facts(self, job: ImportJob) -> dict[str, Any]:
        """What every import result tells of the file: how it was read, what it ignored."""
        return {
            "file": self.file,
            "dry_run": job.dry_run,
            "format": self.source.format.value,
            "encoding": self.source.encoding,
            "sheet": self.source.sheet,
            "ignored_columns": self.lay.ignored,
        }

    def records(self) -> Iterator[tuple[int, list[str | None]]]:
        """The `(line, cells)` of each record; one a reader found bad in a column this
        import reads, or with cells past the header, is a problem instead."""
        lay, problems = self.lay, self.problems
        width = len(lay.header)
        for line, cells, issue in self.source.records:
            if issue is not None and lay.matters(issue):
                at, value, why = issue
                problems.add(line, lay.label(at) if at >= 0 else None, value, why, cells)
                continue
            count = len(cells)
            if count > width and any(clean(c) for c in cells[width:]):
                problems.add(line, None, None, f"{count} fields but the header has {width}", cells)
                continue
            yield line, cells

    def dates(self, now: datetime, tz: str) -> Dates:
        """Cells as staged times, read in `tz`, none later than `now`."""
        return Dates(self, now, tz)


class Dates:
    """The one ISO-date fast path: a cell's time as staged, or a problem."""

    def __init__(self, run: Staging, now: datetime, tz: str) -> None:
        self.run, self.tz, self.zone = run, tz, ZoneInfo(tz)
        self.stamp = run.stamp
        # Stamps compare as the database does (text in one fixed form on SQLite).
        self.now = self.stamp(to_db(now))

    def when(self, text: str) -> object:
        """The staged time of `text`; BadInput if it is no time clock.parse_absolute reads."""
        try:  # the common ISO forms, as clock.parse_absolute reads them first
            moment = datetime.fromisoformat(text)
        except ValueError:
            return self.stamp(to_db(parse_absolute(text, self.tz)))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return self.stamp(moment.astimezone(UTC))

    def read(
        self, line: int, cells: list[str | None], key: str, text: str, future: bool = False
    ) -> object:
        """`text` of column `key` as a staged time, else BAD with the row's problem added:
        not a date, or (unless `future`) later than now."""
        label = self.run.lay.labels.get(key, key)
        try:
            moment = self.when(text)
        except BadInput:
            self.run.problems.add(line, label, text, "not a date (use ISO 8601)", cells)
            return BAD
        if not future and moment > self.now:  # type: ignore[operator]
            self.run.problems.add(line, label, text, "in the future", cells)
            return BAD
        return moment


@contextmanager
def staged(
    session: Session, plan: Plan, job: ImportJob, rows: Callable[[Staging], Iterator[tuple]]
) -> Iterator[Staging]:
    """Stage the job's file as `rows` makes its tuples; the tables live until the block ends.

    Bad rows refuse the file (a RowError) unless the job names a rejects file for them.
    """
    name, read = str(job.file), job.read
    if job.rejects is not None:
        check_rejects_path(job.rejects, job.file)
    if plan.lock is not None:
        serialize(session, plan.lock)
    conn = session.connection()
    tune_for_bulk(conn)
    with open_source(job.file, read, job.progress) as source:
        lay = layout(name, source.header, plan.columns, plan.aliases, read.mapping, plan.required)
        if plan.check is not None:
            plan.check(name, lay)
        tables = (plan.staging, *plan.tables, REJECTS)
        for table in tables:
            table.drop(conn, checkfirst=True)
            conn.execute(CreateTable(table))
        try:
            problems = Problems(conn, name, keep=job.rejects is not None)
            run = Staging(name, source, lay, conn, problems, stamper(conn))
            names = list(plan.staged)
            run.staged = stage_rows(conn, plan.staging, names, rows(run), plan.batch_rows)
            problems.flush()
            source.close()
            yield run
        finally:
            for table in tables:
                table.drop(conn)


def settle_rejects(run: Staging, job: ImportJob, result: Any, listed: bool = True) -> None:
    """Count the bad rows kept; with a rejects file, list them in the result (on a real
    run too, if `listed`) and, unless a dry run, write them there."""
    rejects, dry_run = job.rejects, job.dry_run
    run.problems.flush()
    result.rejected = run.problems.count
    if rejects is None:
        return
    if dry_run or listed:
        result.rejects = listed_rejects(run.conn, REPORTED_REJECTS)[0]
    if not dry_run:
        write_rejects(run.conn, rejects, run.source.header)
        result.rejects_file = str(rejects)


# --- last contact: follow-ups and deals move it forward, never back ------------------


def _moving(latest: Table):
    """Customers whose last contact is older than their newest imported one in `latest`
    (a table of customer_id, at)."""
    c, n = Customer.__table__.c, latest.c
    return and_(c.id == n.customer_id, or_(c.last_contact_at.is_(None), c.last_contact_at < n.at))


def contact_moves(session: Session, latest: Table) -> int:
    """How many customers' last contact `move_contact` moves forward."""
    query = select(func.count()).select_from(latest).join(Customer, _moving(latest))
    return session.execute(query).scalar_one()


def move_contact(session: Session, latest: Table) -> None:
    """Move each customer's last contact forward to its time in `latest`, never back."""
    moving = _moving(latest)
    session.execute(update(Customer.__table__).where(moving).values(last_contact_at=latest.c.at))

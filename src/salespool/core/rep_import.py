"""Importing a team from a file: reps with their role, coach, capacity and hire date.

Columns: `name` (required), `role`, `coach`, `capacity`, `hired_at`; Chinese
headers are aliases (姓名, 角色, 教练, 容量, 入职日期, ...), and role cells may be
the titles Chinese teams use (新人, 销售, 教练, 经理). The file is read as
`import` reads its files (core/readers.py: CSV in any common encoding, XLSX,
JSON Lines; `--map` for other headers).

A row names a new rep (added as `rep add` adds one) or one the store has
(changed as `rep set` changes one). An empty cell is "not given": a new rep
gets `rep add`'s default (role `rep`, no coach, the role's capacity, hired now)
and a stored rep keeps its value, so a partial file never blanks a team.
Re-importing a file changes nothing (its rows are `unchanged`).

The checks are `rep add`'s and `rep set`'s, against the team as it will be once
the whole file is in: a known role, a capacity of 0 or more, a date (not in the
future), a coach that is a rep of the store or of the file (a coach may come
after their rookies) who has not left and is not the rep themselves, and no
coaching cycle; a rep who left may appear only unchanged; a name appears once.
Any bad row refuses the whole file with its line, column and value: all or
nothing.

Every rep added gets an `imported` rep event and every rep changed an `updated`
one whose detail holds each changed field's old and new value (the rep trail,
`rep_event`, as `rep rename` writes it). A team is small (rows are checked in
Python), but the writes are a few executemany statements, not a loop of ORM work.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from salespool.clock import from_db, parse_absolute, to_db
from salespool.core.layout import layout
from salespool.core.readers import RowError, open_source
from salespool.core.rejects import Problems
from salespool.core.reps import insert_reps
from salespool.core.staging import ImportJob, Staging
from salespool.core.vocabulary import REP_ALIASES as ALIASES
from salespool.core.vocabulary import REP_COLUMNS as COLUMNS
from salespool.core.vocabulary import ROLE_ALIASES, ROLES_SHOWN, kind_key
from salespool.errors import BadInput
from salespool.models import Rep, RepEvent, RepEventKind, Role
from salespool.storage.store import serialize

BAD_ROLE = f"not a role: use {ROLES_SHOWN}"
FIELDS = ("role", "coach", "capacity", "hired_at")


@dataclass
class RepChange:
    """One row's effect: `action` is inserted, updated or unchanged; `changed` the fields."""

    line: int
    name: str
    action: str
    changed: list[str] = field(default_factory=list)


@dataclass
class RepImportResult:
    file: str
    dry_run: bool
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # always 0: a bad row refuses the file (no --rejects for a team)
    format: str = "csv"
    encoding: str | None = None
    sheet: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    reps: list[RepChange] = field(default_factory=list)  # in the file's order


@dataclass
class _Row:
    """A team file row, read: None is an empty cell."""

    line: int
    name: str
    role: str | None
    coach: str | None
    capacity: int | None
    hired_at: datetime | None


@dataclass
class _Member:
    """A rep as the team will be: from the store, then the file's values over it."""

    name: str
    role: str
    coach: str | None
    capacity: int | None
    hired_at: datetime
    left_at: datetime | None = None
    id: int | None = None  # None: new


def role_of(text: str) -> str | None:
    """The canonical role a cell names (新人 -> rookie); None when it names none."""
    return ROLE_ALIASES.get(kind_key(text))


def import_reps(session: Session, *, job: ImportJob) -> RepImportResult:
    """Add and update reps from the job's file, all or nothing (see the module's doc)."""
    name = str(job.file)
    serialize(session, "import-reps")  # two runs at once would both add the same names
    conn = session.connection()
    with open_source(job.file, job.read, job.progress) as source:
        lay = layout(name, source.header, COLUMNS, ALIASES, job.read.mapping, ("name",))
        run = Staging(name, source, lay, conn, Problems(conn, name, keep=False), lambda m: m)
        rows = _read(run, job)
        result = RepImportResult(
            file=name,
            dry_run=job.dry_run,
            format=source.format.value,
            encoding=source.encoding,
            sheet=source.sheet,
            ignored_columns=lay.ignored,
        )
    team = _team(session)
    before = {n: _Member(**asdict(m)) for n, m in team.items()}
    for row in rows:
        _apply(team, row, job.now)
    for row in rows:
        _check(run, team, before, row)
    for row in rows:
        was, now = before.get(row.name), team[row.name]
        if was is None:
            change = RepChange(row.line, row.name, "inserted")
        else:
            changed = [f for f in FIELDS if getattr(was, f) != getattr(now, f)]
            change = RepChange(row.line, row.name, "updated" if changed else "unchanged", changed)
        result.reps.append(change)
    result.inserted = sum(c.action == "inserted" for c in result.reps)
    result.updated = sum(c.action == "updated" for c in result.reps)
    result.unchanged = sum(c.action == "unchanged" for c in result.reps)
    if not job.dry_run:
        _write(session, job, team, before, result.reps)
    return result


def _read(run: Staging, job: ImportJob) -> list[_Row]:
    """Each record as a row, checking what one row can tell: any bad cell refuses the file."""
    read = run.lay.reader(COLUMNS, run.source.unquote)
    seen: dict[str, int] = {}
    rows: list[_Row] = []
    for line, cells in run.records():
        name, role_text, coach, capacity_text, hired_text = read(cells)
        if name is None:
            if any(v is not None for v in (role_text, coach, capacity_text, hired_text)):
                _refuse(run, line, "name", "", "a rep needs a name")
            continue  # a blank row
        if name in seen:
            _refuse(run, line, "name", name, f"same name as line {seen[name]}")
        seen[name] = line
        role = None
        if role_text is not None:
            role = role_of(role_text)
            if role is None:
                _refuse(run, line, "role", role_text, BAD_ROLE)
        capacity = None if capacity_text is None else _capacity(run, line, capacity_text)
        hired_at = None if hired_text is None else _date(run, job, line, hired_text)
        rows.append(_Row(line, name, role, coach, capacity, hired_at))
    return rows


def _refuse(run: Staging, line: int, key: str, value: str, why: str) -> NoReturn:
    """Refuse the file at this row's cell of column `key` (all or nothing)."""
    raise RowError(run.file, line, run.lay.labels.get(key, key), value, why)


def _capacity(run: Staging, line: int, text: str) -> int:
    """A capacity cell as a whole number of 0 or more (30, or 30.0 from a spreadsheet)."""
    try:
        number = float(text) if "." in text else int(text)
    except ValueError:
        _refuse(run, line, "capacity", text, "not a whole number")
    if number != int(number):
        _refuse(run, line, "capacity", text, "not a whole number")
    if number < 0:
        _refuse(run, line, "capacity", text, "must be 0 or more")
    return int(number)


def _date(run: Staging, job: ImportJob, line: int, text: str) -> datetime:
    """A hire date read in the job's zone (a date is its midnight there), not in the future."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parse_absolute(text, job.tz)
        except BadInput:
            _refuse(run, line, "hired_at", text, "not a date (use ISO 8601)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(job.tz))
    moment = moment.astimezone(UTC)
    if moment > job.now:
        _refuse(run, line, "hired_at", text, "in the future")
    return moment


def _team(session: Session) -> dict[str, _Member]:
    """Every rep of the store (a team is small: read whole), by name."""
    coaches = {rep.id: rep.name for rep in session.execute(select(Rep)).scalars()}
    return {
        rep.name: _Member(
            name=rep.name,
            role=rep.role,
            coach=coaches.get(rep.coach_id) if rep.coach_id is not None else None,
            capacity=rep.capacity,
            hired_at=from_db(rep.hired_at),
            left_at=from_db(rep.left_at),
            id=rep.id,
        )
        for rep in session.execute(select(Rep)).scalars()
    }


def _apply(team: dict[str, _Member], row: _Row, now: datetime) -> None:
    """The row's given values over the stored rep's, or a new rep with rep add's defaults."""
    member = team.get(row.name)
    if member is None:
        team[row.name] = _Member(
            name=row.name,
            role=row.role or Role.rep.value,
            coach=row.coach,
            capacity=row.capacity,
            hired_at=row.hired_at or now.astimezone(UTC),
        )
        return
    for key in FIELDS:
        value = getattr(row, key)
        if value is not None:
            setattr(member, key, value)


def _check(run: Staging, team: dict[str, _Member], before: dict[str, _Member], row: _Row) -> None:
    """What only the whole team tells: the coach, a cycle, a rep who left."""
    member, was = team[row.name], before.get(row.name)
    if was is not None and was.left_at is not None:
        changed = [f for f in FIELDS if getattr(was, f) != getattr(member, f)]
        if changed:
            why = f"rep left on {was.left_at:%Y-%m-%d}: their {', '.join(changed)} cannot change"
            _refuse(run, row.line, "name", row.name, why)
    if row.coach is None or (was is not None and was.coach == row.coach):
        return  # an unchanged coach is no new claim (as `rep set` without --coach)
    coach = row.coach
    if coach == row.name:
        _refuse(run, row.line, "coach", coach, f"'{row.name}' cannot coach themselves")
    mentor = team.get(coach)
    if mentor is None:
        _refuse(run, row.line, "coach", coach, "no rep of this name in the store or the file")
    if mentor.left_at is not None:
        _refuse(run, row.line, "coach", coach, f"rep left on {mentor.left_at:%Y-%m-%d}")
    # Up the coach's chain, as the team will be: meeting the rep is a cycle.
    visited: set[str] = set()
    current: _Member | None = mentor
    while current is not None and current.name not in visited:
        if current.name == row.name:
            why = f"{row.name} already coaches {coach} (directly or through others)"
            _refuse(run, row.line, "coach", coach, why)
        visited.add(current.name)
        current = team.get(current.coach) if current.coach is not None else None


def _write(
    session: Session,
    job: ImportJob,
    team: dict[str, _Member],
    before: dict[str, _Member],
    changes: list[RepChange],
) -> None:
    """Insert the new reps, then set coaches and changes by name, then the rep events."""
    at = to_db(job.now)
    new = [team[c.name] for c in changes if c.action == "inserted"]
    changed = [c for c in changes if c.action == "updated"]
    if new:
        insert_reps(
            session,
            [
                {
                    "name": m.name,
                    "role": m.role,
                    "capacity": m.capacity,
                    "hired_at": to_db(m.hired_at),
                }
                for m in new
            ],
        )
    # By name, once every rep exists: a coach may be added after their rookie.
    ids = dict(session.execute(select(Rep.name, Rep.id)).all())
    rows = [m for m in new if m.coach is not None] + [team[c.name] for c in changed]
    if rows:
        session.execute(
            update(Rep.__table__)
            .where(Rep.__table__.c.id == bindparam("b_id"))
            .values(
                role=bindparam("b_role"),
                coach_id=bindparam("b_coach"),
                capacity=bindparam("b_capacity"),
                hired_at=bindparam("b_hired"),
            ),
            [
                {
                    "b_id": ids[m.name],
                    "b_role": m.role,
                    "b_coach": ids[m.coach] if m.coach is not None else None,
                    "b_capacity": m.capacity,
                    "b_hired": to_db(m.hired_at),
                }
                for m in rows
            ],
        )
    file = Path(job.file).name
    events = [
        {
            "rep_id": ids[m.name],
            "at": at,
            "kind": RepEventKind.imported.value,
            "detail": _detail({"file": file, **{f: _value(m, f) for f in FIELDS}}),
            "actor": job.actor,
        }
        for m in new
    ] + [
        {
            "rep_id": ids[c.name],
            "at": at,
            "kind": RepEventKind.updated.value,
            "detail": _detail(
                {
                    "file": file,
                    **{
                        f: {"old": _value(before[c.name], f), "new": _value(team[c.name], f)}
                        for f in c.changed
                    },
                }
            ),
            "actor": job.actor,
        }
        for c in changed
    ]
    if events:
        session.execute(insert(RepEvent), events)


def _value(member: _Member, key: str) -> object:
    """A field as a rep event's detail holds it (times as ISO 8601 text)."""
    value = getattr(member, key)
    return value.isoformat() if isinstance(value, datetime) else value


def _detail(values: dict[str, object]) -> str:
    return json.dumps(values, ensure_ascii=False)

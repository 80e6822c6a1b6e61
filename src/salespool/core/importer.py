"""Importing customers from a CSV file, all or nothing, in bulk.

Rows are validated as they stream in and written in batches to a temporary
staging table inside the caller's write transaction; matching, rep creation,
inserts, updates and their events are then a handful of set-based statements.
A bad row raises before anything is committed, so the store is left as it was.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlmodel import Session

from salespool.clock import parse_absolute, to_db
from salespool.core.normalize import email_key, phone_key, text_key
from salespool.errors import BadInput
from salespool.models import Customer, Event, EventKind, Rep, Role, Stage, parse_stage

COLUMNS = (
    "name",
    "external_id",
    "contact",
    "phone",
    "email",
    "city",
    "level",
    "owner",
    "stage",
    "created_at",
    "owned_since",
    "last_contact_at",
)
DATE_COLUMNS = ("created_at", "owned_since", "last_contact_at")
# Details an import may change on a customer that already exists. Owner, stage and
# dates move only through claim/assign/log/recycle, which leave a trail.
DETAIL_COLUMNS = ("name", "contact", "phone", "email", "city", "level")
KEY_COLUMNS = ("name_key", "phone_key", "email_key")
BATCH_ROWS = 5000

_staging_metadata = MetaData()
STAGING = Table(
    "import_staging",
    _staging_metadata,
    Column("line", Integer, primary_key=True),
    Column("customer_id", Integer),
    Column("external_id", String),
    Column("name", String, nullable=False),
    Column("contact", String),
    Column("phone", String),
    Column("email", String),
    Column("city", String),
    Column("level", String),
    Column("owner", String),
    Column("stage", String, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("owned_since", DateTime(timezone=True)),
    Column("last_contact_at", DateTime(timezone=True)),
    Column("name_key", String),
    Column("phone_key", String),
    Column("email_key", String),
    prefixes=["TEMPORARY"],
)


@dataclass
class ImportResult:
    file: str
    dry_run: bool
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    reps_created: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def header_key(text: str) -> str:
    """`External ID` -> `external_id`: header names are matched loosely."""
    return "_".join(text.strip().lower().replace("-", " ").split())


class RowError(BadInput):
    """A bad cell, reported as `file:line: column 'x': value 'y': why`."""

    def __init__(self, file: str, line: int, column: str | None, value: str | None, why: str):
        where = f"{file}:{line}:"
        if column is not None:
            where += f" column '{column}':"
        if value is not None:
            where += f" value '{value}':"
        super().__init__(f"{where} {why}")


def read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Open a UTF-8 CSV (BOM or not); return its header and (line, cells) records."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise BadInput(f"{path}: cannot open: {exc.strerror}") from exc
    reader = csv.reader(handle)
    name = str(path)

    def records() -> Iterator[tuple[int, list[str]]]:
        with handle:
            line = reader.line_num + 1
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise RowError(name, line, None, None, f"not valid CSV: {exc}") from exc
                except UnicodeDecodeError as exc:
                    raise RowError(
                        name,
                        line,
                        None,
                        None,
                        f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})",
                    ) from exc
                if any(cell.strip() for cell in cells):
                    yield line, cells
                line = reader.line_num + 1

    rows = records()
    try:
        _line, header = next(rows)
    except StopIteration:
        raise BadInput(f"{name}: the file is empty (expected a header row)") from None
    return header, rows


def _staged_rows(
    file: str,
    header: list[str],
    records: Iterator[tuple[int, list[str]]],
    now: datetime,
    tz: str,
) -> Iterator[dict]:
    """Validate each record and turn it into a staging row."""
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        key = header_key(raw)
        if key in COLUMNS:
            if key in positions:
                raise RowError(file, 1, raw, None, "column appears twice in the header")
            positions[key] = index
    if "name" not in positions:
        raise RowError(file, 1, None, None, "no 'name' column in the header")
    import_time = to_db(now)
    width = len(header)
    for line, cells in records:
        if len(cells) > width:
            raise RowError(
                file, line, None, None, f"{len(cells)} fields but the header has {width}"
            )
        row: dict = {"line": line}
        for key, index in positions.items():
            value = cells[index].strip() if index < len(cells) else ""
            row[key] = value or None
        if row["name"] is None:
            raise RowError(file, line, "name", "", "a customer needs a name")
        stage_text = row.get("stage")
        if stage_text is None:
            row["stage"] = Stage.prospecting.value
        else:
            try:
                row["stage"] = parse_stage(stage_text).value
            except ValueError:
                raise RowError(
                    file,
                    line,
                    "stage",
                    stage_text,
                    "unknown stage (use " + ", ".join(s.value for s in Stage) + ")",
                ) from None
        for key in DATE_COLUMNS:
            text = row.get(key)
            if text is not None:
                try:
                    row[key] = to_db(parse_absolute(text, tz))
                except BadInput:
                    raise RowError(file, line, key, text, "not a date (use ISO 8601)") from None
        row.setdefault("created_at", None)
        row["created_at"] = row["created_at"] or import_time
        # Never make a customer look idle without evidence: the clock starts at
        # owned_since, else created_at, else now.
        if row.get("owner"):
            row["owned_since"] = row.get("owned_since") or row["created_at"]
        else:
            row["owned_since"] = None
        for key in COLUMNS:
            row.setdefault(key, None)
        row["name_key"] = text_key(row["name"])
        row["phone_key"] = phone_key(row["phone"])
        row["email_key"] = email_key(row["email"])
        yield row


def import_customers(
    session: Session,
    now: datetime,
    actor: str,
    path: Path,
    tz: str,
    dry_run: bool = False,
) -> ImportResult:
    """Import customers from `path`; counts what was inserted, updated and unchanged."""
    file = str(path)
    header, records = read_csv(path)
    known = {header_key(h) for h in header} & set(COLUMNS)
    result = ImportResult(
        file=file,
        dry_run=dry_run,
        ignored_columns=[h for h in header if header_key(h) not in known and h.strip()],
    )
    conn = session.connection()
    STAGING.drop(conn, checkfirst=True)
    STAGING.create(conn)
    try:
        _stage(conn, _staged_rows(file, header, records, now, tz))
        _check(session, file)
        _match(session)
        s, c = STAGING.c, Customer.__table__.c
        matched = s.customer_id.is_not(None)
        changed = or_(
            *(and_(s[k].is_not(None), s[k].is_distinct_from(c[k])) for k in DETAIL_COLUMNS)
        )
        new = session.execute(
            select(func.count()).where(~matched).select_from(STAGING)
        ).scalar_one()
        updated = session.execute(
            select(func.count())
            .select_from(STAGING.join(Customer, c.id == s.customer_id))
            .where(changed)
        ).scalar_one()
        total = session.execute(select(func.count()).select_from(STAGING)).scalar_one()
        result.inserted, result.updated = new, updated
        result.unchanged = total - new - updated
        result.reps_created = _new_owners(session)
        if not dry_run:
            _write(session, now, actor, file, changed, result.reps_created)
    finally:
        STAGING.drop(conn)
    return result


def _stage(conn, rows: Iterator[dict]) -> None:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            conn.execute(insert(STAGING), batch)
            batch = []
    if batch:
        conn.execute(insert(STAGING), batch)


def _check(session: Session, file: str) -> None:
    """Refuse duplicates inside the file, ambiguous names, and owners who have left."""
    s = STAGING.c
    for key, scope in (
        ("external_id", s.external_id.is_not(None)),
        ("name", s.external_id.is_(None)),
    ):
        dup = session.execute(
            select(s[key], func.min(s.line), func.max(s.line))
            .where(scope)
            .group_by(s[key])
            .having(func.count() > 1)
            .order_by(func.max(s.line))
            .limit(1)
        ).first()
        if dup:
            raise RowError(file, dup[2], key, dup[0], f"same {key} as line {dup[1]}")
    c = Customer.__table__.c
    ambiguous = session.execute(
        select(s.line, s.name, func.count())
        .join(Customer, c.name == s.name)
        .where(s.external_id.is_(None))
        .group_by(s.line, s.name)
        .having(func.count() > 1)
        .order_by(s.line)
        .limit(1)
    ).first()
    if ambiguous:
        raise RowError(
            file,
            ambiguous[0],
            "name",
            ambiguous[1],
            f"matches {ambiguous[2]} customers; add an external_id column to tell them apart",
        )
    gone = session.execute(
        select(s.line, s.owner)
        .join(Rep, Rep.name == s.owner)
        .where(Rep.left_at.is_not(None))
        .order_by(s.line)
        .limit(1)
    ).first()
    if gone:
        raise RowError(file, gone[0], "owner", gone[1], "this rep has left")


def _match(session: Session) -> None:
    """Find the existing customer for each row: by external_id, else by exact name."""
    s, c = STAGING.c, Customer.__table__.c
    by_external = select(c.id).where(c.external_id == s.external_id).scalar_subquery()
    by_name = select(func.min(c.id)).where(c.name == s.name).scalar_subquery()
    session.execute(
        update(STAGING).where(s.external_id.is_not(None)).values(customer_id=by_external)
    )
    session.execute(update(STAGING).where(s.external_id.is_(None)).values(customer_id=by_name))


def _new_owners(session: Session) -> list[str]:
    s = STAGING.c
    known = select(Rep.id).where(Rep.name == s.owner).exists()
    return list(
        session.execute(
            select(s.owner)
            .where(s.customer_id.is_(None), s.owner.is_not(None), ~known)
            .distinct()
            .order_by(s.owner)
        ).scalars()
    )


def _write(
    session: Session, now: datetime, actor: str, file: str, changed, new_reps: list[str]
) -> None:
    s, c = STAGING.c, Customer.__table__.c
    at = to_db(now)
    if new_reps:
        session.execute(
            insert(Rep), [{"name": n, "role": Role.rep.value, "hired_at": at} for n in new_reps]
        )
    session.execute(
        update(Customer.__table__)
        .where(c.id == s.customer_id, changed)
        .values({k: func.coalesce(s[k], c[k]) for k in (*DETAIL_COLUMNS, *KEY_COLUMNS)})
    )
    before = session.execute(select(func.coalesce(func.max(c.id), 0))).scalar_one()
    columns = [
        "external_id",
        "name",
        "contact",
        "phone",
        "email",
        "city",
        "level",
        "stage",
        "owner_id",
        "owned_since",
        "last_contact_at",
        "pooled_at",
        "created_at",
        *KEY_COLUMNS,
    ]
    session.execute(
        insert(Customer.__table__).from_select(
            columns,
            select(
                s.external_id,
                s.name,
                s.contact,
                s.phone,
                s.email,
                s.city,
                s.level,
                s.stage,
                Rep.id,
                s.owned_since,
                s.last_contact_at,
                case((Rep.id.is_(None), literal(at)), else_=None),
                s.created_at,
                *(s[k] for k in KEY_COLUMNS),
            )
            .select_from(STAGING.outerjoin(Rep, Rep.name == s.owner))
            .where(s.customer_id.is_(None))
            .order_by(s.line),
        )
    )
    session.execute(
        insert(Event).from_select(
            ["customer_id", "at", "kind", "to_rep_id", "to_stage", "reason", "actor"],
            select(
                c.id,
                literal(at),
                literal(EventKind.imported.value),
                c.owner_id,
                c.stage,
                literal(f"import {Path(file).name}"),
                literal(actor),
            ).where(c.id > before),
        )
    )

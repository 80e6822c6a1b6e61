"""Ordered schema migrations.

Each store records its schema version in the `meta` table. Opening a store
with an older version applies the missing steps in order, inside one write
transaction (so two processes opening an old store at once migrate it once:
the second waits for the lock, then finds it current). On SQLite a copy of
the file is taken first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Boolean, Connection, DateTime, String, bindparam, select, text, update
from sqlalchemy.sql.type_api import TypeEngine

from salespool.core.normalize import email_key, phone_key, text_key
from salespool.core.timeline import fill_followup_stages
from salespool.models import Customer, CustomerAlias, FollowUp, RepEvent

BACKFILL_BATCH = 5000


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _add_column(
    conn: Connection, table: str, name: str, type_: TypeEngine, extra: str = ""
) -> None:
    compiled = type_.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {compiled} {extra}".rstrip()))


def _v2(conn: Connection) -> None:
    """Match keys on customers, locks, and an active flag on reps."""
    for name in ("name_key", "phone_key", "email_key", "lock_reason"):
        _add_column(conn, "customer", name, String())
    for name in ("locked_at", "locked_until"):
        _add_column(conn, "customer", name, DateTime(timezone=True))
    default = "1" if conn.dialect.name == "sqlite" else "true"
    _add_column(conn, "rep", "active", Boolean(), f"NOT NULL DEFAULT {default}")
    backfill_match_keys(conn)
    for name in ("name_key", "phone_key", "email_key"):
        conn.execute(text(f"CREATE INDEX ix_customer_{name} ON customer ({name})"))


def backfill_match_keys(conn: Connection, region: str = "CN") -> int:
    """Compute name/phone/email keys for every customer, in batches; returns rows seen."""
    table = Customer.__table__
    stmt = (
        update(table)
        .where(table.c.id == bindparam("cid"))
        .values(name_key=bindparam("nk"), phone_key=bindparam("pk"), email_key=bindparam("ek"))
    )
    last, seen = 0, 0
    while True:
        rows = conn.execute(
            select(table.c.id, table.c.name, table.c.phone, table.c.email)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BACKFILL_BATCH)
        ).all()
        if not rows:
            return seen
        conn.execute(
            stmt,
            [
                {
                    "cid": cid,
                    "nk": text_key(name),
                    "pk": phone_key(phone, region),
                    "ek": email_key(email),
                }
                for cid, name, phone, email in rows
            ],
        )
        last, seen = rows[-1][0], seen + len(rows)


# Times that `import-followups` before schema 3 let sqlite3 write in its own form
# (2026-11-01 02:00:00+00:00) instead of the one every other writer uses
# (2026-11-01 02:00:00.000000): they compared wrong as text within their second,
# and a re-imported follow-up did not match itself.
_SQLITE_TIMES = (("follow_up", "at"), ("follow_up", "next_at"), ("customer", "last_contact_at"))


def canonical_sqlite_times(conn: Connection) -> None:
    """Rewrite UTC times stored as `...+00:00` on SQLite in the stored form (microseconds)."""
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL stores timestamptz, not text
    for table, column in _SQLITE_TIMES:
        conn.execute(
            text(
                f"UPDATE {table} SET {column} = substr({column}, 1, 19) || "
                f"CASE WHEN substr({column}, 20, 1) = '.' THEN substr({column}, 20, 7) "
                f"ELSE '.000000' END WHERE {column} LIKE '%+00:00'"
            )
        )


def _v3(conn: Connection) -> None:
    """Each follow-up's stage at its time, and the covering indexes a team report reads."""
    canonical_sqlite_times(conn)
    _add_column(conn, "follow_up", "stage", String())
    fill_followup_stages(conn, FollowUp.__table__.c.stage.is_(None))
    conn.execute(text("DROP INDEX ix_follow_up_rep_at"))
    conn.execute(
        text("CREATE INDEX ix_follow_up_rep_stage_kind_at ON follow_up (rep_id, stage, kind, at)")
    )
    conn.execute(text("DROP INDEX ix_event_kind_at"))
    conn.execute(
        text(
            "CREATE INDEX ix_event_kind_at_reps "
            "ON event (kind, at, to_rep_id, from_rep_id, customer_id)"
        )
    )


def _v4(conn: Connection) -> None:
    """Imported and voided deals, correction details, merged ids, rep trail, strict phone keys."""
    _add_column(conn, "deal", "external_id", String())
    _add_column(conn, "deal", "voided_at", DateTime(timezone=True))
    _add_column(conn, "deal", "void_reason", String())
    conn.execute(text("CREATE UNIQUE INDEX ix_deal_external_id ON deal (external_id)"))
    _add_column(conn, "event", "detail", String())
    CustomerAlias.__table__.create(conn)
    RepEvent.__table__.create(conn)
    # Only a valid number is a phone match key from schema 4 on: placeholders such as
    # "0" no longer merge different companies.
    backfill_match_keys(conn)


MIGRATIONS: list[Migration] = [
    Migration(2, "match keys, customer locks, active reps", _v2),
    Migration(3, "follow-up stages for the hunting report", _v3),
    Migration(4, "imported and voided deals, corrections, merged ids, rep trail", _v4),
]


def pending(version: int) -> list[Migration]:
    """The migrations a store at `version` still needs, in order."""
    return [m for m in MIGRATIONS if m.version > version]

"""Named schema migrations, each recorded in the store's `migration` table when applied.

Opening a store whose schema is older applies the steps it has not had, in
order, inside one write transaction (so two processes opening an old store at
once migrate it once: the second waits for the lock, then finds it current).
On SQLite a copy of the file is taken first.

Each step is frozen: plain SQL, or code over tables it declares itself. None
uses the models or the rules in `core`, so a later change there cannot change
what an old step does to an old store. The one exception is on purpose: the
match keys are recomputed with `salespool.keys`, the keys every import of this
version matches on.

A store made new by `init` gets the current schema from the models at once and
records every step as applied. Stores from before schema 5 have no `migration`
table: their stamped `meta.schema_version` says which steps they had.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    column,
    inspect,
    select,
    table,
    text,
    update,
)
from sqlalchemy.sql.type_api import TypeEngine

from salespool.keys import email_key, phone_key, text_key

BACKFILL_BATCH = 5000
TABLE = "migration"


@dataclass(frozen=True)
class Migration:
    """One schema step: its name (recorded when applied) and the version it brings."""

    name: str
    version: int
    apply: Callable[[Connection], None]


def _add_column(
    conn: Connection, table_name: str, name: str, type_: TypeEngine, extra: str = ""
) -> None:
    compiled = type_.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {compiled} {extra}".rstrip()))


def _initial(conn: Connection) -> None:
    """Schema 1 came with the first release; every store has it, none is built by this step."""


def _match_keys_and_locks(conn: Connection) -> None:
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


_customer_keys = table(
    "customer",
    column("id"),
    column("name"),
    column("phone"),
    column("email"),
    column("name_key"),
    column("phone_key"),
    column("email_key"),
)


def backfill_match_keys(conn: Connection, region: str = "CN") -> int:
    """Compute name/phone/email keys for every customer, in batches; returns rows seen."""
    c = _customer_keys.c
    stmt = (
        update(_customer_keys)
        .where(c.id == bindparam("cid"))
        .values(name_key=bindparam("nk"), phone_key=bindparam("pk"), email_key=bindparam("ek"))
    )
    last, seen = 0, 0
    while True:
        rows = conn.execute(
            select(c.id, c.name, c.phone, c.email)
            .where(c.id > last)
            .order_by(c.id)
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
    for table_name, name in _SQLITE_TIMES:
        conn.execute(
            text(
                f"UPDATE {table_name} SET {name} = substr({name}, 1, 19) || "
                f"CASE WHEN substr({name}, 20, 1) = '.' THEN substr({name}, 20, 7) "
                f"ELSE '.000000' END WHERE {name} LIKE '%+00:00'"
            )
        )


# A follow-up's stage at its time, read from the trail as schema 3 defined it: the
# latest stage change at or before it, else the stage the first later change started
# from, else the customer's stage now.
_CHANGES = "e.from_stage IS NOT NULL AND e.to_stage IS NOT NULL AND e.from_stage <> e.to_stage"
_FILL_FOLLOWUP_STAGES = f"""
UPDATE follow_up SET stage = COALESCE(
    (SELECT e.to_stage FROM event e
     WHERE e.customer_id = follow_up.customer_id AND e.at <= follow_up.at AND {_CHANGES}
     ORDER BY e.at DESC, e.id DESC LIMIT 1),
    (SELECT e.from_stage FROM event e
     WHERE e.customer_id = follow_up.customer_id AND e.at > follow_up.at AND {_CHANGES}
     ORDER BY e.at ASC, e.id ASC LIMIT 1),
    (SELECT c.stage FROM customer c WHERE c.id = follow_up.customer_id))
WHERE stage IS NULL
"""


def _followup_stages(conn: Connection) -> None:
    """Each follow-up's stage at its time, and the covering indexes a team report reads."""
    canonical_sqlite_times(conn)
    _add_column(conn, "follow_up", "stage", String())
    conn.execute(text(_FILL_FOLLOWUP_STAGES))
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


def _v4_tables() -> MetaData:
    """The two tables schema 4 adds, as it declared them (rep and customer: their keys only)."""
    md = MetaData()
    Table("rep", md, Column("id", Integer, primary_key=True))
    Table("customer", md, Column("id", Integer, primary_key=True))
    Table(
        "customer_alias",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("customer_id", Integer, ForeignKey("customer.id"), nullable=False),
        Column("merged_at", DateTime, nullable=False),
        Index("ix_customer_alias_customer_id", "customer_id"),
    )
    Table(
        "rep_event",
        md,
        Column("id", Integer, primary_key=True),
        Column("rep_id", Integer, ForeignKey("rep.id"), nullable=False),
        Column("at", DateTime, nullable=False),
        Column("kind", String, nullable=False),
        Column("detail", String),
        Column("actor", String),
        Index("ix_rep_event_rep_id", "rep_id"),
    )
    return md


def _deals_and_corrections(conn: Connection) -> None:
    """Imported and voided deals, correction details, merged ids, rep trail, strict phone keys."""
    _add_column(conn, "deal", "external_id", String())
    _add_column(conn, "deal", "voided_at", DateTime(timezone=True))
    _add_column(conn, "deal", "void_reason", String())
    conn.execute(text("CREATE UNIQUE INDEX ix_deal_external_id ON deal (external_id)"))
    _add_column(conn, "event", "detail", String())
    md = _v4_tables()
    for name in ("customer_alias", "rep_event"):
        md.tables[name].create(conn)
    # Only a valid number is a phone match key from schema 4 on: placeholders such as
    # "0" no longer merge different companies.
    backfill_match_keys(conn)


def _migration_table() -> Table:
    return Table(
        TABLE,
        MetaData(),
        Column("name", String, primary_key=True),
        Column("applied_at", DateTime, nullable=False),
    )


def _record_migrations(conn: Connection) -> None:
    """Where migrations are recorded by name (schema 5): the ones before it are recorded too."""
    _migration_table().create(conn)


def _v6_tables() -> MetaData:
    """The pool table schema 6 adds, as it declared it."""
    md = MetaData()
    Table(
        "pool",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String, nullable=False, unique=True),
        Column("position", Integer, nullable=False),
        Column("rule", String),
        Column("members", String),
        Column("admins", String),
        Column("days", Integer),
        Column("stage_days", String),
        Column("daily_limit", Integer),
        Column("cooldown_days", Integer),
        Column("created_at", DateTime, nullable=False),
    )
    return md


def _pools(conn: Connection) -> None:
    """Several pools: the pool table, the pool a customer waits in, the pool an event names."""
    # Each part only if missing: a store stamped older than it is (a schema 5 store
    # whose migration table was lost) may have them already.
    _v6_tables().tables["pool"].create(conn, checkfirst=True)
    # Every existing customer stays in the default pool (null); no foreign key is added
    # to the old table (SQLite cannot ALTER one in), the models declare it for new stores.
    for table_name, name, type_ in (
        ("customer", "pool_id", Integer()),
        ("event", "pool", String()),
    ):
        if name not in {c["name"] for c in inspect(conn).get_columns(table_name)}:
            _add_column(conn, table_name, name, type_)
    # The customers waiting in a named pool (few of the book), for the pools' sizes.
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_customer_pool_id ON customer (pool_id) "
            "WHERE pool_id IS NOT NULL"
        )
    )


def _notification_table(md: MetaData) -> Table:
    """The table schema 7 adds, as it declared it (rep and customer: their keys only)."""
    Table("rep", md, Column("id", Integer, primary_key=True))
    Table("customer", md, Column("id", Integer, primary_key=True))
    return Table(
        "notification",
        md,
        Column("id", Integer, primary_key=True),
        Column("customer_id", Integer, ForeignKey("customer.id"), nullable=False),
        Column("step", Integer, nullable=False),
        Column("due_date", String, nullable=False),
        Column("recipient_id", Integer, ForeignKey("rep.id"), nullable=False),
        Column("sent_at", DateTime, nullable=False),
        Index(
            "ix_notification_once", "customer_id", "step", "due_date", "recipient_id", unique=True
        ),
        Index("ix_notification_due_date", "due_date"),
    )


def _notifications(conn: Connection) -> None:
    """The recycling warnings `notify` sent, so each goes out once (schema 7)."""
    # checkfirst: a store stamped older than it is (made by a later version's `init`) has it.
    _notification_table(MetaData()).create(conn, checkfirst=True)


def _contact_clock_index(conn: Connection) -> None:
    """The (customer, at) index of follow-ups also holds the kind (schema 8): the clock of
    `recycle.clock_kinds` finds a customer's latest counting follow-up in the index alone."""
    conn.execute(text("DROP INDEX ix_follow_up_customer_at"))
    conn.execute(text("CREATE INDEX ix_follow_up_customer_at ON follow_up (customer_id, at, kind)"))


def _referrals(conn: Connection) -> None:
    """Who referred a customer (another customer), indexed for the report's referral counts."""
    if "referred_by_id" in {c["name"] for c in inspect(conn).get_columns("customer")}:
        return  # a store stamped older than it is (its stamp lost) has it already
    _add_column(conn, "customer", "referred_by_id", Integer(), "REFERENCES customer (id)")
    conn.execute(text("CREATE INDEX ix_customer_referred_by_id ON customer (referred_by_id)"))


def _rep_login(conn: Connection) -> None:
    """The database login of each rep (schema 10): by default the name lower-cased, unless
    two reps' names lower-case alike (then neither gets one: `rep set NAME --login`)."""
    if "login" not in {c["name"] for c in inspect(conn).get_columns("rep")}:
        _add_column(conn, "rep", "login", String())
    conn.execute(
        text(
            "UPDATE rep SET login = lower(name) WHERE login IS NULL AND lower(name) IN "
            "(SELECT lower(name) FROM rep GROUP BY lower(name) HAVING count(*) = 1) "
            "AND lower(name) NOT IN (SELECT login FROM rep WHERE login IS NOT NULL)"
        )
    )
    conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS ix_rep_login ON rep (login)"))


def _settings_tables() -> MetaData:
    """The tables schema 11 adds, as it declared them: the team's rules kept in the store
    and the trail of their changes."""
    md = MetaData()
    Table(
        "setting",
        md,
        Column("key", String, primary_key=True),
        Column("value", String, nullable=False),
        Column("changed_at", DateTime, nullable=False),
        Column("changed_by", String),
    )
    Table(
        "setting_event",
        md,
        Column("id", Integer, primary_key=True),
        Column("key", String, nullable=False),
        Column("old_value", String),
        Column("new_value", String),
        Column("at", DateTime, nullable=False),
        Column("actor", String),
        Column("command", String),
    )
    return md


def _settings(conn: Connection) -> None:
    """The team's rules in the store (`config set`, `config load`) and who changed them."""
    # checkfirst: a store stamped older than it is (made by a later version's `init`) has them.
    _settings_tables().create_all(conn, checkfirst=True)


MIGRATIONS: list[Migration] = [
    Migration("m001_initial", 1, _initial),
    Migration("m002_match_keys_and_locks", 2, _match_keys_and_locks),
    Migration("m003_followup_stages", 3, _followup_stages),
    Migration("m004_deals_and_corrections", 4, _deals_and_corrections),
    Migration("m005_record_migrations", 5, _record_migrations),
    Migration("m006_pools", 6, _pools),
    Migration("m007_notifications", 7, _notifications),
    Migration("m008_contact", 8, _contact_clock_index),
    Migration("m009_referrals", 9, _referrals),
    Migration("m010_rep_login", 10, _rep_login),
    Migration("m011_settings", 11, _settings),
]


def applied(conn: Connection) -> set[str]:
    """The names of the migrations recorded in this store (none before schema 5)."""
    if not inspect(conn).has_table(TABLE):
        return set()
    migration = _migration_table()
    return set(conn.execute(select(migration.c.name)).scalars())


def pending(conn: Connection, version: int) -> list[Migration]:
    """The migrations a store stamped `version` still needs, in order."""
    done = applied(conn)
    if done:
        return [m for m in MIGRATIONS if m.name not in done]
    return [m for m in MIGRATIONS if m.version > version]


def upgrade(conn: Connection, version: int) -> list[str]:
    """Apply what a store stamped `version` still needs, recording each; returns their names."""
    steps = pending(conn, version)
    for step in steps:
        step.apply(conn)
    record(conn)
    return [step.name for step in steps]


def record(conn: Connection) -> None:
    """Record every migration as applied that the store does not list yet (a new store: all)."""
    done = applied(conn)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{"name": m.name, "applied_at": now} for m in MIGRATIONS if m.name not in done]
    if rows:
        conn.execute(_migration_table().insert(), rows)

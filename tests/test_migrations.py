"""Opening a store made by the first schema version upgrades it, keeping every row.

The v1 store is built from tests/data/schema_v1_sqlite.sql, the exact DDL the
first release created on SQLite; on PostgreSQL the same DDL with the types that
release got there (SERIAL ids, TIMESTAMP WITH TIME ZONE).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import Cli
from sqlalchemy import MetaData, create_engine, insert, inspect, text

from salespool.keys import email_key, phone_key, text_key
from salespool.models import SCHEMA_VERSION
from salespool.storage.migrations import MIGRATIONS
from salespool.storage.store import to_url

# Each test builds an old store itself, in an empty file or database.
pytestmark = pytest.mark.no_store

V1_DDL = Path(__file__).parent / "data" / "schema_v1_sqlite.sql"
TABLES = ("meta", "rep", "customer", "follow_up", "deal", "event")
KEYS = {"meta": "key"}  # every other table is ordered by id


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CUSTOMERS = [
    # external_id, name, phone, email, owner (rep id), stage
    ("C1", "Acme Logistics", "138 0013 8000", " Sales@Acme.COM ", 1, "negotiating"),
    ("C2", "上海华瑞科技有限公司", "+86 21 5555 1234", None, 2, "won"),
    (None, "Blue River Foods", None, "buyer@blueriver.example", None, "prospecting"),
    ("C4", "Ｆｕｌｌｗｉｄｔｈ  Trading ", "021-5555-9876", None, 1, "prospecting"),
]


def _v1_statements(dialect: str) -> list[str]:
    ddl = V1_DDL.read_text()
    if dialect == "postgresql":
        ddl = re.sub(r"(?m)^(\s*)id INTEGER NOT NULL", r"\1id SERIAL NOT NULL", ddl)
        ddl = ddl.replace("DATETIME", "TIMESTAMP WITH TIME ZONE")
    return [stmt.strip() for stmt in ddl.split(";") if stmt.strip()]


def build_v1_store(cli: Cli) -> None:
    """A schema v1 store with rows in every table (ids assigned 1, 2, ... in order)."""
    engine = create_engine(to_url(cli.url))
    try:
        with engine.begin() as conn:
            for stmt in _v1_statements(conn.dialect.name):
                conn.exec_driver_sql(stmt)
            tables = MetaData()
            tables.reflect(conn)
            t = tables.tables
            conn.execute(insert(t["meta"]), [{"key": "schema_version", "value": "1"}])
            conn.execute(
                insert(t["rep"]),
                _uniform(
                    [
                        {"name": "alice", "role": "coach", "hired_at": at("2025-03-01")},
                        {
                            "name": "bob",
                            "role": "rookie",
                            "coach_id": 1,
                            "capacity": 50,
                            "hired_at": at("2026-05-01"),
                        },
                        {
                            "name": "carol",
                            "role": "rep",
                            "hired_at": at("2025-01-01"),
                            "left_at": at("2026-06-30T10:00:00"),
                        },
                    ]
                ),
            )
            conn.execute(
                insert(t["customer"]),
                [
                    {
                        "external_id": ext,
                        "name": name,
                        "phone": phone,
                        "email": email,
                        "city": "上海",
                        "level": "A" if owner else None,
                        "stage": stage,
                        "owner_id": owner,
                        "owned_since": at("2026-02-01") if owner else None,
                        "last_contact_at": at("2026-10-01T02:30:00") if owner else None,
                        "pooled_at": None if owner else at("2026-07-01"),
                        "created_at": at("2026-01-15T08:00:00.123456"),
                    }
                    for ext, name, phone, email, owner, stage in CUSTOMERS
                ],
            )
            conn.execute(
                insert(t["follow_up"]),
                _uniform(
                    [
                        {
                            "customer_id": 1,
                            "rep_id": 1,
                            "kind": "call",
                            "note": "asked for a quote",
                            "at": at("2026-10-01T02:30:00"),
                            "next_at": at("2026-10-08"),
                        },
                        {"customer_id": 2, "rep_id": 2, "kind": "wechat", "at": at("2026-09-12")},
                    ]
                ),
            )
            conn.execute(
                insert(t["deal"]),
                [
                    {
                        "customer_id": 2,
                        "rep_id": 2,
                        "amount_minor": 1_200_050,
                        "channel": "online",
                        "at": at("2026-09-20"),
                    }
                ],
            )
            events = [
                {"customer_id": cid, "kind": "imported", "to_rep_id": owner, "to_stage": stage}
                for cid, (_e, _n, _p, _m, owner, stage) in enumerate(CUSTOMERS, start=1)
            ]
            events.append({"customer_id": 3, "kind": "claimed", "to_rep_id": 3})
            events.append({"customer_id": 3, "kind": "rep_left", "from_rep_id": 3})
            conn.execute(
                insert(t["event"]),
                _uniform([{"at": at("2026-01-15"), "actor": "v1", **e} for e in events]),
            )
    finally:
        engine.dispose()


def _uniform(rows: list[dict]) -> list[dict]:
    """The same keys in every row (None where missing), as one executemany needs."""
    keys = {k: None for row in rows for k in row}
    return [{**keys, **row} for row in rows]


def _rows(cli: Cli, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """The given columns of every table, in key order, as the backend hands them back."""
    return {
        table: cli.sql(f"select {', '.join(cols)} from {table} order by {KEYS.get(table, 'id')}")
        for table, cols in columns.items()
    }


def _v1_columns(cli: Cli) -> dict[str, list[str]]:
    engine = create_engine(to_url(cli.url))
    try:
        found = inspect(engine)
        return {t: [c["name"] for c in found.get_columns(t)] for t in TABLES}
    finally:
        engine.dispose()


def _backups(cli: Cli) -> list[Path]:
    return sorted(cli.db.parent.glob(f"{cli.db.name}.v1-*.bak"))


def test_opening_a_v1_store_upgrades_it_and_keeps_every_row(cli):
    build_v1_store(cli)
    columns = _v1_columns(cli)
    assert "name_key" not in columns["customer"]
    before = _rows(cli, columns)
    assert all(before[t] for t in TABLES)

    result = cli("customers", "--json")  # any command opens (and upgrades) the store
    assert len(json.loads(result.stdout)) == len(CUSTOMERS)  # stdout: the data only
    assert result.stderr.startswith(f"note: upgraded the store from schema 1 to {SCHEMA_VERSION}")
    assert result.stderr.count("\n") == 1

    after = _rows(cli, columns)
    assert after.pop("meta") == [("schema_version", str(SCHEMA_VERSION))]
    assert after == {t: rows for t, rows in before.items() if t != "meta"}
    assert cli.sql("select value from meta where key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
    keys = cli.sql("select name_key, phone_key, email_key from customer order by id")
    assert keys == [
        (text_key(name), phone_key(phone), email_key(email))
        for _e, name, phone, email, _o, _s in CUSTOMERS
    ]
    assert keys[0] == ("acme logistics", "+8613800138000", "sales@acme.com")
    assert cli.sql("select count(*) from customer where locked_at is not null") == [(0,)]
    assert [bool(a) for (a,) in cli.sql("select active from rep order by id")] == [True] * 3
    # v3: each follow-up's stage at its time, read from the trail (the imported stage).
    stages = cli.sql(
        "select f.stage, c.stage from follow_up f join customer c on c.id = f.customer_id"
    )
    assert stages and all(mine == theirs for mine, theirs in stages)
    # A second open finds it current: no second upgrade, no note.
    again = cli("customers", "--json")
    assert again.stderr == ""
    # And the upgraded store works: the new columns are used by the commands.
    assert cli.json("claim", "Blue River Foods", "--rep", "alice")["owner"] == "alice"
    assert cli.json("customers", "--rep", "alice")[0]["external_id"] == "C1"

    if cli.is_sqlite:
        (backup,) = _backups(cli)
        old = Cli(db=backup, runner=cli.runner)
        assert old.sql("select value from meta where key = 'schema_version'") == [("1",)]
        assert _rows(old, columns) == before
        assert "name_key" not in _v1_columns(old)["customer"]


@pytest.mark.slow
def test_two_processes_opening_an_old_store_migrate_it_once(cli):
    build_v1_store(cli)
    start = time.time() + 2.0
    procs = [cli.spawn("customers", "--json", start=start) for _ in range(2)]
    notes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert len(json.loads(out)) == len(CUSTOMERS)
        notes += [line for line in err.splitlines() if line.startswith("note: upgraded")]
        assert "error" not in err, err
    assert len(notes) == 1
    assert cli.sql("select value from meta where key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
    assert cli.sql("select count(*) from customer where name_key is null") == [(0,)]
    if cli.is_sqlite:
        assert len(_backups(cli)) == 1


def test_follow_up_times_an_old_import_stored_as_plus_zero_are_rewritten(cli):
    build_v1_store(cli)
    if not cli.is_sqlite:
        pytest.skip("PostgreSQL stores timestamptz: there is no text form to repair")
    engine = create_engine(to_url(cli.url))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "update follow_up set at = '2026-10-01 02:30:00+00:00', "
                    "next_at = '2026-10-08 00:00:00.500000+00:00' where id = 1"
                )
            )
            conn.execute(
                text(
                    "update customer set last_contact_at = '2026-10-01 02:30:00+00:00' where id = 1"
                )
            )
    finally:
        engine.dispose()
    cli("customers", "--json")  # opens and upgrades the store
    assert cli.sql("select at, next_at from follow_up where id = 1") == [
        ("2026-10-01 02:30:00.000000", "2026-10-08 00:00:00.500000")
    ]
    assert cli.sql("select last_contact_at from customer where id = 1") == [
        ("2026-10-01 02:30:00.000000",)
    ]
    assert cli.sql("select count(*) from follow_up where at like '%+00:00'") == [(0,)]


def test_an_upgraded_store_has_the_schema_of_a_new_one(cli, tmp_path, pg_database):
    """Every column and index a new store gets, an upgraded v1 store gets too."""
    build_v1_store(cli)
    cli("customers", "--json")  # upgrades
    fresh = Cli(db=tmp_path / "fresh.db", runner=cli.runner)
    fresh("init")

    def shape(url: str) -> dict[str, tuple]:
        engine = create_engine(to_url(url))
        try:
            found = inspect(engine)
            return {
                t: (
                    sorted(c["name"] for c in found.get_columns(t)),
                    sorted(
                        (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                        for ix in found.get_indexes(t)
                    ),
                )
                for t in found.get_table_names()
            }
        finally:
            engine.dispose()

    upgraded, new = shape(cli.url), shape(fresh.url)
    if not cli.is_sqlite:  # compare tables and columns across backends, not index reflection
        upgraded = {t: cols for t, (cols, _ix) in upgraded.items()}
        new = {t: cols for t, (cols, _ix) in new.items()}
    assert upgraded == new


def test_every_migration_is_recorded_by_name_in_a_new_and_an_upgraded_store(cli, tmp_path):
    names = [m.name for m in MIGRATIONS]
    fresh = Cli(db=tmp_path / "fresh.db", runner=cli.runner)
    fresh("init")
    assert [n for (n,) in fresh.sql("select name from migration order by name")] == names
    build_v1_store(cli)
    cli("customers", "--json")  # upgrades
    assert [n for (n,) in cli.sql("select name from migration order by name")] == names
    assert [m.version for m in MIGRATIONS][-1] == SCHEMA_VERSION


def test_a_schema_4_store_records_the_migrations_it_had_when_upgraded(cli):
    cli("init")
    cli("rep", "add", "alice")
    cli.execute("drop table migration")
    cli.execute("update meta set value = '4' where key = 'schema_version'")
    assert cli.json("rep", "list", "--json")[0]["name"] == "alice"
    assert cli.sql("select value from meta where key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
    assert len(cli.sql("select name from migration")) == len(MIGRATIONS)

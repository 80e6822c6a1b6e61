"""Backup and restore of a SQLite store: safe under writers, private, and refusing to clobber."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Cli
from typer.testing import CliRunner

from salespool.cli import app
from salespool.models import SCHEMA_VERSION

DATA = Path(__file__).parent / "data"

# Claims, logs and releases in a loop, each in its own transaction, until told to stop.
WRITER = r"""
import os, sys
from datetime import UTC, datetime
from salespool.core.activity import log_followup
from salespool.core.handover import claim, release
from salespool.models import FollowUpKind
from salespool.storage.store import open_store

db, stop = sys.argv[1], sys.argv[2]
store = open_store(db)
rounds = 0
while not os.path.exists(stop):
    for n in range(1, 21):
        key = f"P{n:03d}"
        with store.write() as s:
            claim(s, now=datetime.now(UTC), actor="writer", customer=key, rep="writer")
        with store.write() as s:
            log_followup(
                s,
                now=datetime.now(UTC),
                actor="writer",
                customer=key,
                rep="writer",
                kind=FollowUpKind.call,
                note="hi",
            )
        with store.write() as s:
            release(s, now=datetime.now(UTC), actor="writer", customer=key, reason="loop")
    rounds += 1
    print(rounds, flush=True)
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def other_store(tmp_path: Path, name: str, cli: Cli) -> Cli:
    return Cli(db=tmp_path / name, runner=cli.runner)


@pytest.mark.sqlite_only
def test_backup_is_a_private_openable_copy(book, tmp_path):
    dest = tmp_path / "backups" / "copy.db"
    dest.parent.mkdir()
    result = book.json("backup", str(dest))
    assert result == {
        "file": str(dest),
        "db": str(book.db),
        "bytes": dest.stat().st_size,
        "schema_version": SCHEMA_VERSION,
        "customers": 5,
    }
    assert mode(dest) == 0o600
    # one self-contained file: no WAL mode, nothing left beside it
    assert sorted(p.name for p in dest.parent.iterdir()) == ["copy.db"]
    copy = other_store(tmp_path, "backups/copy.db", book)
    assert copy.snapshot() == book.snapshot()
    assert copy.json("customers") == book.json("customers")


@pytest.mark.sqlite_only
def test_backup_creates_missing_folders_private(book, tmp_path):
    dest = tmp_path / "backups" / "2026" / "x.db"
    assert book.json("backup", str(dest))["customers"] == 5
    assert mode(tmp_path / "backups") == mode(dest.parent) == 0o700
    assert mode(dest) == 0o600
    assert other_store(tmp_path, "backups/2026/x.db", book).snapshot() == book.snapshot()
    # A file where a folder should be: one line, and no folder left behind.
    (tmp_path / "plain").write_text("")
    result = book.fails("backup", str(tmp_path / "plain" / "sub" / "x.db"))
    assert "plain" in result.stderr
    assert (tmp_path / "plain").is_file()


@pytest.mark.sqlite_only
def test_backup_does_not_overwrite_without_yes(book, tmp_path):
    dest = tmp_path / "copy.db"
    dest.write_text("precious")
    result = book.fails("backup", str(dest))
    assert "--yes" in result.stderr
    assert dest.read_text() == "precious"
    book("backup", str(dest), "--yes")
    assert mode(dest) == 0o600
    assert other_store(tmp_path, "copy.db", book).snapshot() == book.snapshot()


@pytest.mark.sqlite_only
def test_backup_refuses_the_store_itself_and_a_missing_store(book, tmp_path):
    assert "store itself" in book.fails("backup", str(book.db), "--yes").stderr
    missing = other_store(tmp_path, "missing.db", book)
    result = CliRunner().invoke(app, ["--db", str(missing.db), "backup", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "no store" in result.stderr
    assert not missing.db.exists()  # backup never creates the store it copies


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_backup_while_another_process_writes_is_consistent(cli, write_csv, tmp_path):
    rows = "\n".join(f"P{i:03d},Pool Co {i},,2026-01-01" for i in range(1, 21))
    cli("import", str(write_csv(f"external_id,name,owner,created_at\n{rows}\n")))
    cli("rep", "add", "writer")
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(cli.db), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "1"  # the writer is under way
        copies = []
        for n in range(6):
            dest = tmp_path / f"copy{n}.db"
            cli("backup", str(dest))
            copies.append(dest)
            time.sleep(0.05)
    finally:
        stop.touch()
        _out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    claims = []
    for dest in copies:
        assert mode(dest) == 0o600
        conn = sqlite3.connect(dest)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            # Every claim, log and release is its own transaction, so in any
            # consistent moment each customer is between two of those steps.
            for cid, owner, claimed, logged, released in conn.execute(
                """
                select c.id, c.owner_id,
                  (select count(*) from event e where e.customer_id = c.id and e.kind = 'claimed'),
                  (select count(*) from follow_up f where f.customer_id = c.id),
                  (select count(*) from event e where e.customer_id = c.id and e.kind = 'released')
                from customer c
                """
            ):
                assert released <= logged <= claimed <= released + 1, (cid, dest)
                assert (owner is not None) == (claimed == released + 1), (cid, dest)
            claims.append(
                conn.execute("select count(*) from event where kind = 'claimed'").fetchone()
            )
        finally:
            conn.close()
        copy = Cli(db=dest, runner=cli.runner)
        assert len(copy.json("customers")) == 20
    # the copies were taken while the writer was busy: they saw different moments
    assert len(set(claims)) > 1


@pytest.mark.sqlite_only
def test_restore_refuses_without_yes_and_leaves_the_store_unchanged(book, tmp_path):
    dest = tmp_path / "copy.db"
    book("backup", str(dest))
    saved = book.snapshot()
    book("claim", "C4", "--rep", "bob")
    after_claim = book.snapshot()
    result = book.fails("restore", str(dest))
    assert "--yes" in result.stderr
    assert book.snapshot() == after_claim
    restored = book.json("restore", str(dest), "--yes")
    assert restored == {
        "file": str(dest),
        "db": str(book.db),
        "from_version": SCHEMA_VERSION,
        "schema_version": SCHEMA_VERSION,
        "customers": 5,
    }
    assert book.snapshot() == saved
    assert book.sql("pragma journal_mode") == [("wal",)]
    assert [c["owner"] for c in book.json("pool")] == [None, None]


@pytest.mark.sqlite_only
def test_restore_into_a_new_store_creates_it_private(book, tmp_path):
    dest = tmp_path / "copy.db"
    book("backup", str(dest))
    fresh = other_store(tmp_path, "new/fresh.db", book)
    fresh("restore", str(dest))  # nothing to overwrite: no --yes needed
    assert mode(fresh.db) == 0o600
    assert fresh.snapshot() == book.snapshot()
    assert fresh.sql("pragma journal_mode") == [("wal",)]


@pytest.mark.sqlite_only
def test_restore_refuses_what_is_not_a_salespool_store(book, tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello, not a database\n" * 100)
    other_db = tmp_path / "other.db"
    conn = sqlite3.connect(other_db)
    conn.execute("create table things (x)")
    conn.commit()
    conn.close()
    no_version = tmp_path / "no_version.db"
    conn = sqlite3.connect(no_version)
    conn.execute("create table meta (key text primary key, value text)")
    conn.execute("create table customer (id integer primary key)")
    conn.commit()
    conn.close()
    empty = tmp_path / "empty.db"
    empty.touch()
    for path, why in [
        (text_file, "not a SQLite database"),
        (other_db, "not a salespool store"),
        (no_version, "no readable schema version"),
        (empty, "not a salespool store"),
        (tmp_path / "missing.db", "no such file"),
    ]:
        result = book.fails("restore", str(path), "--yes")
        assert why in result.stderr, result.stderr
    assert not (tmp_path / "missing.db").exists()  # not created by trying to read it
    assert "store itself" in book.fails("restore", str(book.db), "--yes").stderr


@pytest.mark.sqlite_only
def test_restore_refuses_a_backup_from_a_newer_salespool(book, tmp_path):
    dest = tmp_path / "copy.db"
    book("backup", str(dest))
    conn = sqlite3.connect(dest)
    conn.execute("update meta set value = '99' where key = 'schema_version'")
    conn.commit()
    conn.close()
    assert "newer" in book.fails("restore", str(dest), "--yes").stderr


@pytest.mark.sqlite_only
def test_restore_of_a_damaged_backup_is_refused(book, tmp_path):
    dest = tmp_path / "copy.db"
    book("backup", str(dest))
    data = bytearray(dest.read_bytes())
    page = 4096
    data[2 * page : 3 * page] = b"\xff" * page  # trash a page past the schema
    dest.write_bytes(bytes(data))
    result = book.fails("restore", str(dest), "--yes")
    assert "damaged" in result.stderr


@pytest.mark.sqlite_only
def test_restore_of_an_older_schema_upgrades_it(book, tmp_path):
    old = tmp_path / "v1.db"
    conn = sqlite3.connect(old)
    conn.executescript((DATA / "schema_v1_sqlite.sql").read_text())
    conn.execute("insert into meta values ('schema_version', '1')")
    conn.execute(
        "insert into customer (id, name, stage, created_at) "
        "values (1, 'Old Co', 'prospecting', '2025-01-01 00:00:00.000000')"
    )
    conn.commit()
    conn.close()
    result = book.json("restore", str(old), "--yes")
    assert (result["from_version"], result["schema_version"]) == (1, SCHEMA_VERSION)
    assert [c["name"] for c in book.json("customers")] == ["Old Co"]
    assert book.sql("select name_key from customer") == [("old co",)]


@pytest.mark.sqlite_only
def test_restore_a_backup_with_another_page_size(book, tmp_path):
    dest = tmp_path / "copy.db"
    book("backup", str(dest))
    conn = sqlite3.connect(dest)
    conn.execute("PRAGMA page_size = 8192")
    conn.execute("VACUUM")  # the copy is not in WAL mode, so VACUUM changes the page size
    assert conn.execute("PRAGMA page_size").fetchone() == (8192,)
    conn.close()
    saved = book.snapshot()
    book("claim", "C4", "--rep", "bob")
    book("restore", str(dest), "--yes")
    assert book.snapshot() == saved
    assert book.sql("pragma journal_mode") == [("wal",)]


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_postgresql_is_refused_with_a_pointer_to_pg_tools(tmp_path, command):
    url = "postgresql+psycopg://sales:s3cret@db.example/salespool"
    target = tmp_path / "x.db"
    if command == "restore":
        target.touch()
    result = CliRunner().invoke(app, ["--db", url, command, str(target), "--yes"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert ("pg_dump" if command == "backup" else "pg_restore") in result.stderr
    assert "s3cret" not in result.stderr
    assert target.stat().st_size == 0 if command == "restore" else not target.exists()

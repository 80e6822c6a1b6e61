"""Which stores salespool opens: its own, existing ones; everything else is one line, exit 1.

A mistyped --db must not become a new empty store (a cron `recycle` would report 0
every night), another application's database must never be written to, and a
damaged or unreadable file is named, not a traceback.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from salespool.cli import app

ENV = {"SALESPOOL_NOW": "2026-11-29T09:00:00", "SALESPOOL_TZ": "UTC", "SALESPOOL_ACTOR": "t"}


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env={**ENV, **(env or {})})


def refused(db: str, *command: str, says: str) -> str:
    result = run("--db", db, *command)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert says in result.stderr, result.stderr
    return result.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_missing_store_is_not_created_by_any_command_but_init(tmp_path):
    typo = tmp_path / "tema.db"
    for command in (["recycle", "--days", "30"], ["customers"], ["report"], ["rep", "add", "a"]):
        message = refused(str(typo), *command, says=f"no store at {typo}")
        assert f"(create it with: salespool --db {typo} init)" in message
        assert not typo.exists()
    # The environment variable is the same mistake, made in a crontab.
    result = run("recycle", "--days", "30", env={"SALESPOOL_DB": str(typo)})
    assert result.exit_code == 1 and "no store at" in result.stderr
    assert not typo.exists()
    assert run("--db", str(typo), "init").exit_code == 0
    assert run("--db", str(typo), "customers", "--json").stdout.strip() == "[]"


@pytest.mark.no_store
def test_an_empty_server_database_is_no_store_until_init(cli):
    result = cli("customers", ok=False)
    assert result.exit_code == 1 and "no store at" in result.stderr
    assert cli.snapshot() == {}  # no tables were made
    cli("init")
    assert cli.json("customers") == []


def test_files_that_are_not_stores_are_refused_and_left_alone(tmp_path):
    random_bytes = tmp_path / "random.db"
    random_bytes.write_bytes(bytes(range(256)) * 40)
    csv = tmp_path / "customers.csv"
    csv.write_text("name,phone\nAcme,13800138000\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    for path, says in (
        (random_bytes, "not a SQLite database file"),
        (csv, "not a SQLite database file"),
        (folder, "is a directory"),
    ):
        before = digest(path) if path.is_file() else None
        refused(str(path), "customers", says=says)
        if before is not None:
            assert digest(path) == before
    assert list(folder.iterdir()) == []


def test_another_applications_database_is_never_written(tmp_path):
    other = tmp_path / "crm.db"
    conn = sqlite3.connect(other)
    for table in ("invoices", "clients", "orders", "products", "staff", "users"):
        conn.execute(f"create table {table} (id integer primary key)")
    conn.commit()
    conn.close()
    before = digest(other)
    for command in (["customers"], ["report"], ["init"], ["rep", "add", "a"]):
        message = refused(str(other), *command, says="is not a salespool store")
        assert "clients, invoices, orders, products, staff, ..." in message
    assert digest(other) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"]  # no -wal, no -shm


def test_a_damaged_store_is_named_not_a_traceback(tmp_path):
    good = tmp_path / "good.db"
    assert run("--db", str(good), "init").exit_code == 0
    names = "\n".join(f"Co {i},{'x' * 200}" for i in range(400))
    book = tmp_path / "book.csv"
    book.write_text("name,note\n" + names + "\n")
    assert run("--db", str(good), "import", str(book)).exit_code == 0
    conn = sqlite3.connect(good)
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    cut = tmp_path / "cut.db"
    cut.write_bytes(good.read_bytes()[: 3 * 4096])
    refused(str(cut), "customers", says="the store is damaged (the file is cut short")
    header_only = tmp_path / "header.db"
    header_only.write_bytes(good.read_bytes()[:50])
    refused(str(header_only), "customers", says="the store is damaged")
    # Pages overwritten in the middle: SQLite's own word for it, on one line.
    garbled = bytearray(good.read_bytes())
    garbled[4096 : 4 * 4096] = b"\xff" * (3 * 4096)
    broken = tmp_path / "broken.db"
    broken.write_bytes(bytes(garbled))
    result = run("--db", str(broken), "customers")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_urls_salespool_cannot_use_are_one_line(tmp_path):
    refused("mysql://u:pw@db.internal/sales", "customers", says="mysql is not supported")
    refused("oracle+cx_oracle://u@h/x", "customers", says="is not supported")
    message = refused(
        "postgresql+psycopg://sales:s3cret@127.0.0.1:1/sales", "customers", says="--db "
    )
    assert "s3cret" not in message
    refused("postgresql+psycopg://[bad", "customers", says="--db ")


@contextmanager
def _as_another_user() -> Iterator[None]:
    """Act as a user who does not own the files (root ignores file modes)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can look into (pytest's tmp_path is its owner's only)."""
    path = Path(tempfile.mkdtemp(prefix="salespool-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        path.chmod(0o755)
        for child in path.iterdir():
            child.unlink()
        path.rmdir()


@pytest.mark.sqlite_only
def test_a_read_only_store_serves_reads_and_refuses_writes(shared_dir, monkeypatch):
    # The other user works from a folder they can enter (a checkout may sit in one only
    # its owner can: ./salespool.toml would be unreadable there).
    monkeypatch.chdir(shared_dir)
    db = shared_dir / "team.db"
    env = {"XDG_CONFIG_HOME": str(shared_dir / "config")}
    assert run("--db", str(db), "init", env=env).exit_code == 0
    book = shared_dir / "book.csv"
    book.write_text("name,owner\nAcme,alice\nBeta,\n")
    assert run("--db", str(db), "import", str(book), env=env).exit_code == 0
    reading = (["customers"], ["report"], ["pool"])
    # Once as the owner first: what rendering imports lazily is then loaded in this
    # process, and the other user need not read the virtualenv (CI's is its owner's only).
    for command in reading:
        assert run("--db", str(db), *command, env=env).exit_code == 0
    book.unlink()
    db.chmod(0o644)
    shared_dir.chmod(0o555)
    before = digest(db)
    with _as_another_user():
        reads = [run("--db", str(db), *c, env=env) for c in reading]
        writes = [
            run("--db", str(db), *c, env=env)
            for c in (
                ["rep", "add", "bob"],
                ["recycle", "--days", "1"],
                ["claim", "Beta", "--rep", "alice"],
            )
        ]
    for result in reads:
        assert result.exit_code == 0, result.stderr
    assert "Acme" in reads[0].stdout
    for result in writes:
        assert result.exit_code == 1, result.stdout
        assert result.stderr.startswith(f"error: the store {db} is read-only"), result.stderr
        assert result.stderr.count("\n") == 1
    assert digest(db) == before
    assert sorted(p.name for p in shared_dir.iterdir()) == ["team.db"]

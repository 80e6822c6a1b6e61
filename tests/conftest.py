"""Fixtures: a CLI runner bound to a fresh temporary store, ways to inspect it, the
same store opened for tests that call core functions, and helpers the tests share."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner, Result

from salespool.cli import app
from salespool.storage.store import Store, open_store, to_url

NOW = "2026-11-29T09:00:00"
TZ = "Asia/Shanghai"
# Set to a server URL (postgresql+psycopg://postgres@127.0.0.1:5432/postgres) to run the
# whole suite on PostgreSQL: each test then gets a database of its own on that server.
PG_URL = os.environ.get("SALESPOOL_TEST_PG_URL") or None


# The real CLI, started once the interpreter and salespool are loaded and `start` has come.
_RUN_AT = """
import sys, time
from salespool.cli import main
start = float(sys.argv[1])
sys.argv = ["salespool", *sys.argv[2:]]
time.sleep(max(0.0, start - time.time()))
main()
"""


@dataclass
class Cli:
    """Runs salespool against one temporary database."""

    db: Path
    runner: CliRunner
    now: str = NOW
    tz: str = TZ
    config: Path | None = None  # a rules file passed as the global --config
    server_url: str | None = None  # a PostgreSQL database of this test's own, if any

    @property
    def url(self) -> str:
        """What --db gets: the temp file here (a server URL when run against PostgreSQL)."""
        return self.server_url or str(self.db)

    @property
    def is_sqlite(self) -> bool:
        return self.server_url is None

    def __call__(self, *args: str, now: str | None = None, ok: bool = True) -> Result:
        env = {"SALESPOOL_NOW": now or self.now, "SALESPOOL_TZ": self.tz, "SALESPOOL_ACTOR": "test"}
        rules = ["--config", str(self.config)] if self.config else []
        result = self.runner.invoke(app, ["--db", self.url, *rules, *args], env=env)
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"salespool {' '.join(args)} exited {result.exit_code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
            )
        return result

    def spawn(self, *args: str, start: float | None = None) -> subprocess.Popen:
        """Run salespool in a process of its own (text pipes), from `start` (time.time()) on.

        Processes given the same `start` begin their command together, after
        their interpreters have loaded.
        """
        env = {**os.environ, "SALESPOOL_NOW": self.now, "SALESPOOL_TZ": self.tz}
        env["SALESPOOL_ACTOR"] = "test"
        rules = ["--config", str(self.config)] if self.config else []
        return subprocess.Popen(
            [sys.executable, "-c", _RUN_AT, str(start or 0), "--db", self.url, *rules, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def json(self, *args: str, now: str | None = None):
        return json.loads(self(*args, "--json", now=now).stdout)

    def fails(self, *args: str, code: int = 1, now: str | None = None) -> Result:
        """Run a command that must be refused; check it left one line on stderr."""
        before = self.snapshot()
        result = self(*args, now=now, ok=False)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        if code == 1:
            assert result.stderr.startswith("error: "), result.stderr
            assert result.stderr.count("\n") == 1, result.stderr
            assert "Traceback" not in result.stderr
        assert self.snapshot() == before, "a refused command changed the database"
        return result

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table, to prove a refusal changed nothing."""
        engine = create_engine(to_url(self.url))
        try:
            existing = set(inspect(engine).get_table_names())
            with engine.connect() as conn:
                return {
                    table.name: [
                        tuple(row)
                        for row in conn.execute(select(table).order_by(*table.primary_key))
                    ]
                    for table in SQLModel.metadata.sorted_tables
                    if table.name in existing
                }
        finally:
            engine.dispose()

    def sql(self, query: str, **params) -> list[tuple]:
        """Rows of a raw query (named :params), times as aware UTC datetimes."""
        engine = create_engine(to_url(self.url))
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(query), params)]
        finally:
            engine.dispose()

    def execute(self, statement: str, **params) -> None:
        """Run one raw statement in its own transaction (to build an old or odd store)."""
        engine = create_engine(to_url(self.url))
        try:
            with engine.begin() as conn:
                conn.execute(text(statement), params)
        finally:
            engine.dispose()


def utc(value: str | datetime | None) -> datetime | None:
    """A stored time as aware UTC, whether the backend gave text (SQLite) or a datetime."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def pytest_configure(config: pytest.Config) -> None:
    # The user's own default store and salespool.toml are never read or written by a test:
    # a command without --db (or a rules file in the user config dir) sees empty dirs.
    home = Path(tempfile.mkdtemp(prefix="salespool-tests-home-"))
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    config.addinivalue_line(
        "markers", "no_store: the `cli` fixture does not run `init` (an empty path or database)"
    )
    config.addinivalue_line(
        "markers", "sqlite_only: checks a SQLite file itself (mode, WAL, copies); skipped on PG"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        skip = pytest.mark.skip(reason="SQLite only (SALESPOOL_TEST_PG_URL is set)")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


def maintenance_engine() -> Engine:
    """An AUTOCOMMIT connection pool to the server's maintenance database."""
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Engine]:
    """The server's maintenance database, for CREATE and DROP DATABASE."""
    engine = maintenance_engine()
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def server_database(server: Engine, template: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database on `server` (a copy of `template`, if named), its URL
    for the block; dropped after it."""
    name = f"salespool_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            # FORCE: a process a test started (and killed) may still hold a connection.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A fresh PostgreSQL database for one test, dropped after it (None without a server)."""
    if not PG_URL:
        yield None
        return
    with server_database(request.getfixturevalue("pg_server")) as url:
        yield url


@contextmanager
def own_database(like: Cli | None = None) -> Iterator[tuple[Path, str | None]]:
    """A SQLite path in a new temp directory and, with a server, a new PostgreSQL database;
    both gone after the block. Empty, or a copy of `like`'s store.

    For what a function-scoped fixture cannot give: a store per hypothesis example.
    """
    with tempfile.TemporaryDirectory(prefix="salespool-test-") as tmp:
        db = Path(tmp) / "test.db"
        if not PG_URL:
            if like is not None:
                source, target = sqlite3.connect(like.db), sqlite3.connect(db)
                try:
                    source.backup(target)
                finally:
                    source.close()
                    target.close()
            yield db, None
            return
        server = maintenance_engine()
        try:
            template = make_url(like.url).database if like is not None else None
            with server_database(server, template) as url:
                yield db, url
        finally:
            server.dispose()


@contextmanager
def opened(url: str) -> Iterator[Store]:
    """The store at `url` (created if missing) for the block, its connections closed after."""
    store = open_store(url, create=True)
    try:
        yield store
    finally:
        store.dispose()


@contextmanager
def fresh_store() -> Iterator[Store]:
    """An opened store nobody else uses (a new SQLite file or PostgreSQL database)."""
    with own_database() as (db, url), opened(url or str(db)) as store:
        yield store


@contextmanager
def fresh_cli(like: Cli | None = None) -> Iterator[Cli]:
    """A CLI on a store of its own, gone after the block: the `cli` fixture for one
    hypothesis example (`init` run), or a copy of `like`'s store."""
    with own_database(like) as (db, url):
        runner = Cli(db=db, runner=CliRunner(), server_url=url)
        if like is None:
            runner("init")
        yield runner


@pytest.fixture(scope="session")
def fresh_book() -> Iterator[Callable[[], AbstractContextManager[Cli]]]:
    """`with fresh_book() as book:` the `book` fixture for one hypothesis example.

    Each is a copy of one store built once: importing the book anew for every
    example would make the fuzz tests several times slower.
    """
    with fresh_cli() as template:
        import_book(template)
        yield lambda: fresh_cli(like=template)


@pytest.fixture
def cli(request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None) -> Cli:
    """A CLI on a store `init` has created (only `init` creates a store).

    Tests marked `no_store` get the path (or empty server database) with nothing in it.
    """
    runner = Cli(db=tmp_path / "test.db", runner=CliRunner(), server_url=pg_database)
    if request.node.get_closest_marker("no_store") is None:
        runner("init")
    return runner


@pytest.fixture
def store(cli: Cli) -> Iterator[Store]:
    """The `cli` fixture's database opened as a Store, for tests that call core directly."""
    with opened(cli.url) as store:
        yield store


@pytest.fixture
def session(store: Store) -> Iterator[Session]:
    """A write session on `store`, committed when the test ends.

    It holds the write lock from its first statement on (SQLite), so a test using it
    runs the CLI before that, not after.
    """
    with store.write() as session:
        yield session


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write text (or bytes) to a file in the temp dir and return its path."""

    def write(text: str | bytes, name: str = "customers.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding=encoding)
        return path

    return write


BOOK = """external_id,name,owner,stage,created_at,owned_since,last_contact_at
C1,Acme Logistics,alice,negotiating,2026-01-10,2026-01-10,2026-10-01T10:00:00+08:00
C2,上海华瑞科技有限公司,alice,won,2026-02-01,,2026-11-20
C3,Blue River Foods,bob,prospecting,2026-03-01,2026-03-01,
C4,杭州云帆贸易有限公司,,prospecting,2026-03-05,,
C5,Acme Trading,,商务谈判,2026-03-06,,
"""


def import_book(cli: Cli) -> Cli:
    """Import BOOK (written beside the store): reps alice and bob, five customers."""
    path = cli.db.parent / "customers.csv"
    path.write_text(BOOK, encoding="utf-8")
    cli("import", str(path))
    return cli


@pytest.fixture
def book(cli: Cli) -> Cli:
    """A store with reps alice and bob, three owned customers and two in the pool."""
    return import_book(cli)


def use_rules(cli: Cli, **rules: int) -> None:
    """Run `cli` with a rules file holding these [recycle] keys (`__` stands for a dot)."""
    lines = ["[recycle]", *(f"{key.replace('__', '.')} = {v}" for key, v in rules.items())]
    path = cli.db.parent / "salespool.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli.config = path


def taken(result: dict) -> dict[str, str]:
    """What a `recycle --json` result took: {customer name: reason}."""
    return {r["name"]: r["reason"] for r in result["recycled"]}


def drop_roles(cli: Cli, names: list[str]) -> None:
    """Drop server-wide login and group roles a test made (what they own in cli's database
    first); roles outlive the test's database, so each test cleans up its own."""
    engine = create_engine(cli.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            for name in names:
                if conn.execute(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}
                ).first():
                    conn.execute(text(f'DROP OWNED BY "{name}"'))
                    conn.execute(text(f'DROP ROLE "{name}"'))
    finally:
        engine.dispose()

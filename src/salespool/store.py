"""Where the data lives: engine, connection pragmas, transactions, schema version.

Every storage concern is here so the rest of the code only sees Sessions.
SQLite is opened in WAL mode with a busy timeout, and write transactions
begin IMMEDIATE, so concurrent writers queue on the lock instead of failing
halfway through with "database is locked".
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
from sqlalchemy import event, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, SQLModel, create_engine

from salespool.errors import BadInput, SalespoolError
from salespool.migrations import pending
from salespool.models import SCHEMA_VERSION, Meta

BUSY_TIMEOUT_SECONDS = 60


def default_db_path() -> Path:
    """`salespool.db` in the user's data directory."""
    return Path(platformdirs.user_data_dir("salespool", appauthor=False)) / "salespool.db"


def to_url(db: str | None) -> str:
    """Turn `--db` (a path, a URL, or nothing) into a SQLAlchemy URL."""
    if not db:
        return f"sqlite:///{default_db_path()}"
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" hook, not pysqlite, decide how transactions start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")  # safe in WAL mode
    cursor.execute("PRAGMA temp_store = MEMORY")
    cursor.close()


def _sqlite_begin(conn) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


class Store:
    """An opened database: hands out read and write sessions."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise BadInput(f"--db: cannot read '{url}' as a path or database URL") from exc
        self.url = url
        self.last_backup: Path | None = None
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.path = Path(parsed.database) if parsed.database else None
            self.engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        else:
            self.path = None
            self.engine = create_engine(url, pool_pre_ping=True)
            self._write_engine = self.engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a write transaction: committed if the block ends normally."""
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def schema_version(self) -> int | None:
        """The schema version stamped in the store, or None if it has no schema yet."""
        with self.read() as session:
            return _stamped_version(session.connection())

    def ensure_schema(self) -> bool:
        """Create the tables if missing, or upgrade an older schema; True if created."""
        if self.is_sqlite and self.path is not None:
            _create_private_file(self.path)
            raw = self.engine.raw_connection()
            try:  # journal_mode cannot change inside a transaction; it persists in the file
                raw.cursor().execute("PRAGMA journal_mode = WAL")
            finally:
                raw.close()
        version = self.schema_version()
        if version == SCHEMA_VERSION:
            return False
        created = False
        with self.write() as session:
            conn = session.connection()
            # Checked again under the write lock: another process may have just
            # created or upgraded the store.
            version = _stamped_version(conn)
            if version is None:
                SQLModel.metadata.create_all(conn)
                session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
                created = True
            elif version > SCHEMA_VERSION:
                raise SalespoolError(
                    f"{self.url}: schema version {version} is newer than this salespool "
                    f"understands ({SCHEMA_VERSION}); upgrade salespool"
                )
            elif version < SCHEMA_VERSION:
                if self.is_sqlite and self.path is not None:
                    self.last_backup = self.copy_to(_backup_name(self.path, version))
                for step in pending(version):
                    step.apply(conn)
                conn.execute(
                    update(Meta)
                    .where(Meta.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )
        return created

    def copy_to(self, dest: Path) -> Path:
        """Copy a SQLite store with the online backup API (safe while others write)."""
        if not self.is_sqlite or self.path is None:
            raise SalespoolError("only a SQLite store can be copied to a file")
        fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        source = sqlite3.connect(self.path)
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return dest

    def dispose(self) -> None:
        self.engine.dispose()


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only, if it does not exist."""
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SalespoolError(f"cannot create the store at {path}: {exc.strerror}") from exc


def _stamped_version(conn) -> int | None:
    if not inspect(conn).has_table(Meta.__tablename__):
        return None
    value = conn.execute(select(Meta.value).where(Meta.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def _backup_name(path: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return path.with_name(f"{path.name}.v{version}-{stamp}.bak")


def open_store(db: str | None) -> Store:
    """Open (and on first use create) the store named by `--db`."""
    store = Store(to_url(db))
    store.ensure_schema()
    return store

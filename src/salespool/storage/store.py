"""Where the data lives: engine, connection pragmas, transactions, schema version.

Every storage concern is here so the rest of the code only sees Sessions.
SQLite is opened in WAL mode with a busy timeout, and write transactions
begin IMMEDIATE, so concurrent writers queue on the lock instead of failing
halfway through with "database is locked". PostgreSQL runs READ COMMITTED:
each conditional UPDATE re-checks its WHERE on the row it waited for, so the
loser of a race updates nothing instead of failing with a serialization error.

Run locks (`Store.exclusive`) keep two runs of a job such as `recycle` apart:
a flock on a file beside a SQLite database, an advisory lock on PostgreSQL.
Both are dropped by the operating system or the server if the process dies.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import (
    Connection,
    event,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlmodel import Session, SQLModel, create_engine

from salespool.errors import BadInput, Locked, NotFound, Refused, SalespoolError
from salespool.models import SCHEMA_VERSION, Meta, StoredSetting
from salespool.storage import migrations
from salespool.storage.location import default_db_path
from salespool.storage.lookup import TEAM_KEY, TIMEZONE_KEY, StoredRules, first_line
from salespool.storage.reads import SIDE_BY_SIDE

BUSY_TIMEOUT_SECONDS = 60
# The first 16 bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
BACKENDS = ("sqlite", "postgresql")
TABLES_NAMED = 5  # how many of a foreign database's tables a refusal names


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
    # Temporary tables, sorts and big UPDATEs' journals spill to files (cached by the
    # OS), not RAM: a million-row import stays in bounded memory. Set here because
    # SQLite refuses to change temp_store inside a transaction.
    cursor.execute("PRAGMA temp_store = FILE")
    cursor.close()


def _sqlite_begin(conn) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


class Store:
    """An opened database: hands out read and write sessions."""

    def __init__(self, url: str) -> None:
        parsed = parse_url(url)
        self.url = url
        # What messages show: never the password.
        self.display = parsed.render_as_string(hide_password=True)
        backend = parsed.get_backend_name()
        if backend not in BACKENDS:
            raise BadInput(
                f"--db: {backend} is not supported; give a file path (SQLite) "
                "or a postgresql+psycopg://USER@HOST/DB URL"
            )
        self.last_backup: Path | None = None
        self.upgraded_from: int | None = None  # the schema version this open upgraded
        self.is_sqlite = backend == "sqlite"
        # Why writes are refused (a store the user may read but not change), or None.
        self.read_only: str | None = None
        self.path: Path | None = None
        try:
            if self.is_sqlite:
                self.path = Path(parsed.database) if parsed.database else None
                if self.path is not None:
                    self.display = str(self.path)
                    self.read_only = _sqlite_read_only(self.path)
                if self.read_only and self.path is not None:
                    self.engine = _read_only_engine(self.path)
                else:
                    self.engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
                event.listen(self.engine, "connect", _sqlite_pragmas)
                event.listen(self.engine, "begin", _sqlite_begin)
                self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
            else:
                self.engine = create_engine(
                    url, pool_pre_ping=True, isolation_level="READ COMMITTED"
                )
                self._write_engine = self.engine
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
            raise BadInput(f"--db {self.display}: cannot use this database URL: {exc}") from exc

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a write transaction: committed if the block ends normally."""
        self.refuse_if_read_only()
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            # Nothing is written here, so big reads may go side by side (storage.reads).
            session.info[SIDE_BY_SIDE] = True
            yield session

    def refuse_if_read_only(self) -> None:
        """Refuse a write to a store this process may only read, before any work."""
        if self.read_only:
            raise Refused(f"the store {self.display} is read-only ({self.read_only}); {RO_ADVICE}")

    def stored_rules(self) -> StoredRules:
        """The team's rules kept in this (opened, current) store, and whether it is a team
        store: what `lookup.stored_rules` reads without opening it."""
        with self.read() as session:
            meta = session.execute(
                select(Meta.key, Meta.value).where(Meta.key.in_([TEAM_KEY, TIMEZONE_KEY]))
            ).all()
            settings = session.execute(
                select(StoredSetting.key, StoredSetting.value).order_by(StoredSetting.key)
            ).all()
        return StoredRules.from_rows(meta, settings)

    def schema_version(self) -> int | None:
        """The schema version stamped in the store, or None if it has no schema yet."""
        with self.read() as session:
            return _stamped_version(session.connection())

    def ensure_schema(self, create: bool = False) -> bool:
        """Check this is a salespool store, upgrading an older schema; True if created.

        Only `create` makes a new store (in a missing or empty file, or an empty
        server database); anything else that is not a salespool store is refused
        before a single byte is written to it.
        """
        try:
            return self._ensure_schema(create)
        except OperationalError as exc:
            raise SalespoolError(f"--db {self.display}: {first_line(exc.orig)}") from exc
        except DatabaseError as exc:  # sqlite3: "file is not a database", "malformed"
            raise SalespoolError(
                f"--db {self.display}: the store is damaged ({first_line(exc.orig)}); "
                "put a backup back with: salespool restore FILE"
            ) from exc

    def _ensure_schema(self, create: bool) -> bool:
        if self.is_sqlite and self.path is not None and not _sqlite_has_data(self.path):
            if not create:
                raise NotFound(self._no_store())
            create_private_file(self.path)
        version = self._survey()
        if version is None and not create:
            raise NotFound(self._no_store())
        if self.read_only:
            if version == SCHEMA_VERSION:
                return False
            raise Refused(
                f"the store {self.display} is read-only ({self.read_only}) and "
                + (f"needs an upgrade from schema {version}" if version else "cannot be created")
                + f"; {RO_ADVICE}"
            )
        if self.is_sqlite and self.path is not None:
            # Only now that it is known to be ours (or new): a restored copy comes back
            # in rollback-journal mode. A no-op when the file is in WAL mode already.
            raw = self.engine.raw_connection()
            try:  # journal_mode cannot change inside a transaction; it persists in the file
                raw.cursor().execute("PRAGMA journal_mode = WAL")
            finally:
                raw.close()
        if version == SCHEMA_VERSION:
            return False
        created = False
        with self.write() as session:
            conn = session.connection()
            serialize(session, "schema")
            # Checked again under the write lock: another process may have just
            # created or upgraded the store.
            version = _stamped_version(conn)
            if version is None:
                SQLModel.metadata.create_all(conn)
                session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
                migrations.record(conn)
                created = True
            elif version > SCHEMA_VERSION:
                raise SalespoolError(
                    f"{self.display}: schema version {version} is newer than this salespool "
                    f"understands ({SCHEMA_VERSION}); upgrade salespool"
                )
            elif version < SCHEMA_VERSION:
                if self.is_sqlite and self.path is not None:
                    self.last_backup = self.copy_to(_backup_name(self.path, version))
                migrations.upgrade(conn, version)
                self.upgraded_from = version
                conn.execute(
                    update(Meta)
                    .where(Meta.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )
        return created

    def _survey(self) -> int | None:
        """The stamped schema version (None: an empty store); another application's is refused."""
        with self.read() as session:
            conn = session.connection()
            tables = sorted(inspect(conn).get_table_names())
            version = _stamped_version(conn) if Meta.__tablename__ in tables else None
        if version is None and tables:
            shown = ", ".join(tables[:TABLES_NAMED]) + (
                ", ..." if len(tables) > TABLES_NAMED else ""
            )
            raise Refused(
                f"--db {self.display} is not a salespool store (it holds the tables {shown}); "
                "salespool never writes to another application's database"
            )
        return version

    def _no_store(self) -> str:
        where = str(self.path) if self.path is not None else self.display
        return f"no store at {where} (create it with: salespool --db {where} init)"

    @contextmanager
    def exclusive(self, name: str, wait: bool = False) -> Iterator[None]:
        """Hold the run lock `name` for the block, across processes.

        If another process holds it: wait for it with `wait`, else raise Locked.
        """
        self.refuse_if_read_only()
        if self.is_sqlite:
            if self.path is None:  # an in-memory store: no other process can reach it
                yield
                return
            lock_path = self.path.with_name(f"{self.path.name}.{name}.lock")
            with _file_lock(lock_path, name, wait):
                yield
            return
        key = _lock_key(name)
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if wait:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            elif not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                raise Locked(
                    f"another '{name}' run holds the lock on {self.display}; try again when it ends"
                )
            try:
                yield
            finally:
                _advisory_unlock(conn, key)

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


RO_ADVICE = "read commands work; writing needs write access to the file and its folder"


def _sqlite_has_data(path: Path) -> bool:
    """Whether `path` is a SQLite file with something in it; refuses what is no database.

    A missing or empty file has nothing yet (an interrupted `init` leaves an empty
    one). A directory, an unreadable file, another kind of file, or one cut short
    is refused here, before SQLite is asked to open (and perhaps write to) it.
    """
    if path.is_dir():
        raise BadInput(f"--db {path}: is a directory, not a store")
    try:
        with path.open("rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise BadInput(f"--db {path}: cannot read it: {exc.strerror or exc}") from exc
    if not header:
        return False
    if not header.startswith(SQLITE_MAGIC):
        raise BadInput(f"--db {path}: not a salespool store (not a SQLite database file)")
    if len(header) == 100:
        # The header says how many pages the file holds (when its count is current):
        # a shorter file was cut off, and SQLite would only say so at some later read.
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        current = header[24:28] == header[92:96]
        if current and pages and path.stat().st_size < pages * page_size:
            raise BadInput(
                f"--db {path}: the store is damaged (the file is cut short: "
                f"{path.stat().st_size} of {pages * page_size} bytes); "
                "put a backup back with: salespool restore FILE"
            )
    else:
        raise BadInput(f"--db {path}: the store is damaged (the file is cut short)")
    return True


def _sqlite_read_only(path: Path) -> str | None:
    """Why this process cannot write the SQLite store at `path`, or None if it can."""
    if not path.exists():
        return None
    folder = path.parent
    if not os.access(path, os.W_OK, effective_ids=True):
        return "the file is not writable"
    if not os.access(folder, os.W_OK | os.X_OK, effective_ids=True):
        return f"its folder {folder} is not writable"
    return None


def _read_only_engine(path: Path):
    """An engine that opens the store read-only, even in a folder it cannot write.

    A WAL store needs its -shm file: where it cannot be made (a read-only folder),
    the file is opened immutable, which is right for a store no one may write here.
    """
    plain = f"file:{quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(plain, uri=True, timeout=BUSY_TIMEOUT_SECONDS)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            return sqlite3.connect(
                f"file:{quote(str(path))}?immutable=1", uri=True, timeout=BUSY_TIMEOUT_SECONDS
            )

    return create_engine("sqlite://", creator=connect)


def parse_url(url: str) -> URL:
    """`url` as SQLAlchemy reads it; what it cannot read is refused as a `--db` mistake."""
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise BadInput(f"--db: cannot read '{url}' as a path or database URL") from exc


def create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only (and its folder), if missing."""
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


def serialize(session: Session, name: str) -> None:
    """Make write transactions that call this with the same `name` run one after another.

    SQLite write transactions begin IMMEDIATE and are serialized already;
    PostgreSQL takes a transaction-level advisory lock, released at commit or rollback.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL advisory locks."""
    digest = hashlib.sha256(f"salespool:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _advisory_unlock(conn: Connection, key: int) -> None:
    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextmanager
def _file_lock(path: Path, name: str, wait: bool) -> Iterator[None]:
    """An flock on `path` (created 0600, left in place: unlinking a lock file races)."""
    import fcntl  # POSIX only; imported here so the rest of the store works everywhere

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise SalespoolError(f"cannot open the lock file {path}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Locked(
                f"another '{name}' run holds the lock {path}; try again when it ends"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def set_meta(session: Session, key: str, value: str) -> None:
    """Write one fact about the store (a `meta` row), replacing what the key held."""
    session.merge(Meta(key=key, value=value))
    session.flush()


def _stamped_version(conn) -> int | None:
    if not inspect(conn).has_table(Meta.__tablename__):
        return None
    value = conn.execute(select(Meta.value).where(Meta.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def _backup_name(path: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return path.with_name(f"{path.name}.v{version}-{stamp}.bak")


def open_store(db: str | None, create: bool = False) -> Store:
    """Open the store named by `--db`; only `create` (or the default location) makes one.

    A mistyped `--db` must not become an empty store that a nightly cron run then
    reports zero customers from, so a missing store is an error except for `init`
    and for the default store in the user data directory, made on first use.
    """
    store = Store(to_url(db))
    try:
        store.ensure_schema(create=create or not db)
    except BaseException:
        store.dispose()
        raise
    return store

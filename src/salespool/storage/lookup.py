"""Read-only look-ups: a store's rep names (shell completion) or a `meta` fact (its
time zone, for commands that need no store), at once, or nothing.

A TAB press must answer within a moment and leave no trace, so nothing here opens
the store the way `Store` does: no SQLAlchemy, no schema check or upgrade, no file
or folder created (not even the -wal and -shm files beside a SQLite store), and a
short timeout where a command would wait a minute for a busy store. Whatever goes
wrong (no store there, a damaged or foreign one, a locked one, a server that does
not answer) gives no names rather than an error.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from salespool.storage.location import default_db_path

# The `meta` key of the store's own time zone (the demo writes Asia/Shanghai there).
TIMEZONE_KEY = "timezone"
SQLITE_TIMEOUT_SECONDS = 0.5
# libpq and psycopg take any connect_timeout under 2 seconds as 2.
PG_CONNECT_TIMEOUT_SECONDS = 2
PG_STATEMENT_TIMEOUT_MS = 1000
SQLITE_MAGIC = b"SQLite format 3\x00"
# Header bytes 18 and 19 (the file format versions) are 2 in WAL mode, 1 in rollback mode.
WAL_FORMAT = 2
# Only a salespool store's: another application's `rep` or `meta` table is not ours to read.
OURS = "EXISTS (SELECT 1 FROM meta WHERE key = 'schema_version')"
REP_NAMES = f"SELECT name FROM rep WHERE {OURS} ORDER BY name"
META_VALUE = f"SELECT value FROM meta WHERE key = %(key)s AND {OURS}"


def rep_names(db: str | None) -> list[str]:
    """The names of the reps in the store `db` names (a path or URL as `--db` takes, None
    for the default store), sorted; [] when there is no store there or it cannot be read
    at once."""
    return [str(row[0]) for row in _rows(db, REP_NAMES, {})]


def meta_value(db: str | None, key: str) -> str | None:
    """A `meta` fact of the store `db` names, such as its time zone; None when the key or
    the store is missing, or the store cannot be read at once. Never upgrades a store."""
    rows = _rows(db, META_VALUE, {"key": key})
    return str(rows[0][0]) if rows else None


def _rows(db: str | None, sql: str, params: dict[str, str]) -> list[tuple]:
    if db and "://" in db:
        scheme, rest = db.split("://", 1)
        backend = scheme.split("+", 1)[0].lower()
        if backend == "postgresql":
            # The URL as the driver reads it: SQLAlchemy's URLs are libpq's, less the driver.
            return _postgresql(f"postgresql://{rest}", sql, params)
        if backend == "sqlite" and rest.startswith("/"):
            path = rest[1:].split("?", 1)[0]  # sqlite:///relative.db, sqlite:////absolute.db
            return _sqlite(Path(path), sql, params) if path and path != ":memory:" else []
        return []
    return _sqlite(Path(db).expanduser() if db else default_db_path(), sql, params)


def _sqlite(path: Path, sql: str, params: dict[str, str]) -> list[tuple]:
    try:
        with path.open("rb") as file:  # never sqlite3.connect first: it creates a missing file
            header = file.read(100)
    except OSError:  # missing, a folder, unreadable
        return []
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return []
    # A WAL store that no one has open has all of its data in the main file and no -wal
    # file beside it. Read it immutable, which makes no -wal/-shm files (a read-only
    # connection would make both and leave them). Otherwise read as any reader does,
    # under the locks, waiting a moment at most for a writer of a rollback-journal store.
    immutable = header[18] == WAL_FORMAT and not path.with_name(f"{path.name}-wal").exists()
    uri = f"file:{quote(str(path))}?{'immutable=1' if immutable else 'mode=ro'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=SQLITE_TIMEOUT_SECONDS)
        try:
            # sqlite3 names its parameters :key where psycopg writes %(key)s.
            return list(conn.execute(sql.replace("%(key)s", ":key"), params))
        finally:
            conn.close()
    except sqlite3.Error:  # locked, damaged, not a salespool store
        return []


def _postgresql(conninfo: str, sql: str, params: dict[str, str]) -> list[tuple]:
    try:
        import psycopg  # loaded only when a PostgreSQL store is asked
    except ImportError:
        return []
    try:
        with psycopg.connect(
            conninfo,
            connect_timeout=PG_CONNECT_TIMEOUT_SECONDS,
            options=f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} "
            "-c default_transaction_read_only=on",
            autocommit=True,
        ) as conn:
            return list(conn.execute(sql, params))
    except (psycopg.Error, ValueError):  # no server, refused, no such table, a bad URL
        return []

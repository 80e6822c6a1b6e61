"""Read-only look-ups: a store's rep names (shell completion), at once or nothing; and
what a store says about the team's rules (team mode, its time zone, the rules kept in
it), for commands that need no store, read the same way but never guessed.

A TAB press must answer within a moment and leave no trace, so nothing here opens
the store the way `Store` does: no SQLAlchemy, no schema check or upgrade, no file
or folder created (not even the -wal and -shm files beside a SQLite store), and a
short timeout where a command would wait a minute for a busy store. Whatever goes
wrong (no store there, a damaged or foreign one, a locked one, a server that does
not answer) gives no names rather than an error. (`stored_rules` waits as a command
would, and says when a store that is there cannot be read.)
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
# The `meta` key `salespool team setup` writes ("on"): a team store takes its rules from
# the store alone.
TEAM_KEY = "team"
# schema_version too: no row at all means no salespool store, so no rules to read.
STORE_FACTS = (
    f"SELECT key, value FROM meta WHERE key IN ('{TEAM_KEY}', '{TIMEZONE_KEY}', 'schema_version')"
)
SETTINGS = f"SELECT key, value FROM setting WHERE {OURS} ORDER BY key"
# The rules are waited for as a command waits for its store (store.BUSY_TIMEOUT_SECONDS):
# running with the defaults because the store was busy for a moment would be wrong.
RULES_TIMEOUT_SECONDS = 60
RULES_CONNECT_TIMEOUT_SECONDS = 10
RULES_STATEMENT_TIMEOUT_MS = 30000
NO_DATABASE = re.compile(r'database ".*" does not exist')


def rep_names(db: str | None) -> list[str]:
    """The names of the reps in the store `db` names (a path or URL as `--db` takes, None
    for the default store), sorted; [] when there is no store there or it cannot be read
    at once."""
    [names] = _rows(db, [REP_NAMES], {})
    return [str(row[0]) for row in names]


@dataclass(frozen=True)
class StoredRules:
    """What a store says about the team's rules: whether it is a team store (meta
    `team` = on), the time zone it was made in, and the rules kept in it as
    (dotted key, TOML literal) pairs. Empty for a missing, foreign or older store."""

    team: bool = False
    zone: str | None = None
    settings: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_rows(
        cls, meta_rows: Iterable[Sequence[object]], setting_rows: Iterable[Sequence[object]]
    ) -> StoredRules:
        """The rules from a store's (key, value) rows of `meta` and of `setting`, as
        `lookup.stored_rules` and `Store.stored_rules` each read them."""
        meta = {str(k): str(v) for k, v in meta_rows}
        return cls(
            team=meta.get(TEAM_KEY) == "on",
            zone=meta.get(TIMEZONE_KEY) or None,
            settings=[(str(k), str(v)) for k, v in setting_rows],
        )


class RulesUnreadable(Exception):
    """The store exists but its rules cannot be read now (locked, server unreachable)."""


def stored_rules(db: str | None) -> StoredRules:
    """The rules kept in the store `db` names, read without opening it as `Store` does (no
    file created, no schema upgrade): for commands such as `config show` that need no store.

    No store there, another application's database, or a store older than schema 11 has
    none. A store that is there but cannot be read now raises RulesUnreadable: its rules
    are never replaced by the defaults without a word.
    """
    # One connection for both; the settings are read only from a store the facts found.
    facts, settings = _rows(db, [STORE_FACTS, SETTINGS], {}, strict=True)
    return StoredRules.from_rows(facts, settings)


def first_line(error: object) -> str:
    """The first line of a driver's message (psycopg's run over several lines)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else error.__class__.__name__


def _rows(
    db: str | None, statements: Sequence[str], params: dict[str, str], strict: bool = False
) -> list[list[tuple]]:
    """The rows of each statement, run in turn on one connection; each runs only if the
    one before gave rows, and one that fails (no such table) gives [] by itself."""
    none: list[list[tuple]] = [[] for _ in statements]
    if db and "://" in db:
        scheme, rest = db.split("://", 1)
        backend = scheme.split("+", 1)[0].lower()
        if backend == "postgresql":
            # The URL as the driver reads it: SQLAlchemy's URLs are libpq's, less the driver.
            return _postgresql(f"postgresql://{rest}", statements, params, strict)
        if backend == "sqlite" and rest.startswith("/"):
            path = rest[1:].split("?", 1)[0]  # sqlite:///relative.db, sqlite:////absolute.db
            if path and path != ":memory:":
                return _sqlite(Path(path), statements, params, strict)
            return none
        return none
    return _sqlite(Path(db).expanduser() if db else default_db_path(), statements, params, strict)


def _each(statements: Sequence[str], run: Callable[[str], list[tuple]]) -> list[list[tuple]]:
    """`run` each statement in turn until one gives no rows; the rest give none."""
    results: list[list[tuple]] = []
    for sql in statements:
        results.append(run(sql) if not results or results[-1] else [])
    return results


def _sqlite(
    path: Path, statements: Sequence[str], params: dict[str, str], strict: bool = False
) -> list[list[tuple]]:
    none: list[list[tuple]] = [[] for _ in statements]
    try:
        with path.open("rb") as file:  # never sqlite3.connect first: it creates a missing file
            header = file.read(100)
    except OSError:  # missing, a folder, unreadable
        return none
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return none
    # A WAL store that no one has open has all of its data in the main file and no -wal
    # file beside it. Read it immutable, which makes no -wal/-shm files (a read-only
    # connection would make both and leave them). Otherwise read as any reader does,
    # under the locks, waiting a moment at most for a writer of a rollback-journal store.
    immutable = header[18] == WAL_FORMAT and not path.with_name(f"{path.name}-wal").exists()
    uri = f"file:{quote(str(path))}?{'immutable=1' if immutable else 'mode=ro'}"
    timeout = RULES_TIMEOUT_SECONDS if strict else SQLITE_TIMEOUT_SECONDS

    def failed(exc: sqlite3.Error) -> list[tuple]:  # locked, damaged, not a salespool store
        if strict and exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise RulesUnreadable(str(exc)) from None
        return []  # damaged or foreign: the command that opens the store says so

    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        failed(exc)
        return none

    def run(sql: str) -> list[tuple]:
        try:
            # sqlite3 names its parameters :key where psycopg writes %(key)s.
            return list(conn.execute(sql.replace("%(key)s", ":key"), params))
        except sqlite3.Error as exc:
            return failed(exc)

    try:
        return _each(statements, run)
    finally:
        conn.close()


def _postgresql(
    conninfo: str, statements: Sequence[str], params: dict[str, str], strict: bool = False
) -> list[list[tuple]]:
    none: list[list[tuple]] = [[] for _ in statements]
    try:
        import psycopg  # loaded only when a PostgreSQL store is asked
    except ImportError:
        return none
    connect, statement = (
        (RULES_CONNECT_TIMEOUT_SECONDS, RULES_STATEMENT_TIMEOUT_MS)
        if strict
        else (PG_CONNECT_TIMEOUT_SECONDS, PG_STATEMENT_TIMEOUT_MS)
    )

    def failed(exc: psycopg.Error) -> list[tuple]:  # no server, refused, no such table
        # No such database or table: no store, or one from before the rules were kept.
        # (libpq reports a missing database at connect as text, with no SQLSTATE.)
        missing = exc.sqlstate in ("3D000", "42P01") or NO_DATABASE.search(str(exc))
        if strict and not missing:
            raise RulesUnreadable(first_line(exc)) from None
        return []

    try:
        with psycopg.connect(
            conninfo,
            connect_timeout=connect,
            options=f"-c statement_timeout={statement} -c default_transaction_read_only=on",
            autocommit=True,
        ) as conn:

            def run(sql: str) -> list[tuple]:
                # Autocommit: a statement that fails leaves the connection fit for the next.
                try:
                    return list(conn.execute(sql, params))
                except psycopg.Error as exc:
                    return failed(exc)

            return _each(statements, run)
    except ValueError:  # a URL the driver cannot read: the command's own --db check says so
        return none
    except psycopg.Error as exc:
        failed(exc)
        return none

"""Backing up and restoring a SQLite store with SQLite's online backup API.

Copying the file with `cp` while another process writes can catch a page
from before a commit next to one from after it, and misses what still sits in
the `-wal` file. The backup API copies a consistent snapshot through SQLite's
own locks instead; in WAL mode the writers are not even held up. Restoring
goes through the same API into the live store, so a process that has the
store open sees the old book or the restored one, never a mix.

Both work on files, so neither opens (nor creates) the store through the
engine: a PostgreSQL store is refused before any connection is made.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from salespool.errors import BadInput, NotFound, Refused, SalespoolError
from salespool.files import replaced
from salespool.models import SCHEMA_VERSION
from salespool.storage.store import BUSY_TIMEOUT_SECONDS, Store, create_private_file, parse_url

PG_ADVICE = {
    "backup": "use pg_dump, e.g. pg_dump -Fc -f salespool.dump DBNAME",
    "restore": "use pg_restore, e.g. pg_restore --clean -d DBNAME salespool.dump",
}


@dataclass
class BackupResult:
    """The copy written: where, from which store, its size and what it holds."""

    file: str
    db: str
    bytes: int
    schema_version: int
    customers: int


@dataclass
class RestoreResult:
    """The store after a restore; `from_version` is the backup's own schema version."""

    file: str
    db: str
    from_version: int
    schema_version: int
    customers: int


def sqlite_file(url: str, command: str) -> Path:
    """The store's file for `command` (backup or restore); other databases are refused."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Never echo the URL: it may hold a password.
        raise Refused(
            f"{command} works on a SQLite store; this one is "
            f"{parsed.get_backend_name()}: {PG_ADVICE[command]}"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise Refused(f"{command} needs a store in a file, not an in-memory database")
    return Path(parsed.database)


def backup(url: str, dest: Path, yes: bool = False) -> BackupResult:
    """Copy the SQLite store at `url` to `dest` (mode 0600), safely while others write.

    An existing `dest` is replaced only with `yes`. Missing folders above `dest`
    are created, mode 0700 (a folder of backups is the whole book). The copy is
    made in a temporary file beside `dest` and moved into place when complete, so
    a failed backup never leaves a truncated file where a good one was, nor the
    folders it made.
    """
    db = sqlite_file(url, "backup")
    if not db.is_file():
        raise NotFound(f"no store at {db}")
    _refuse_same_file(db, dest, "the backup")
    if dest.is_dir():
        raise BadInput(f"{dest}: is a directory (give a file name)")
    if dest.exists() and not yes:
        raise Refused(f"{dest} exists; add --yes to overwrite it")
    made = _private_folders(dest.parent)
    try:
        return _copy(db, dest)
    except BaseException:
        for folder in reversed(made):
            with contextlib.suppress(OSError):  # someone else's file in it now: keep it
                folder.rmdir()
        raise


def _copy(db: Path, dest: Path) -> BackupResult:
    """The online backup of `db` into a private temporary file, moved to `dest`."""
    try:
        with replaced(dest) as (fd, temp):
            os.close(fd)
            source = sqlite3.connect(db, timeout=BUSY_TIMEOUT_SECONDS)
            target = sqlite3.connect(temp)
            try:
                # pages=-1 (the default): the whole store in one step, one snapshot.
                source.backup(target)
                # The copy is a single self-contained file, not a WAL database
                # that needs -wal/-shm files (and a writable folder) beside it.
                target.execute("PRAGMA journal_mode = DELETE")
                version, customers = _describe(target)
            finally:
                target.close()
                source.close()
    except sqlite3.Error as exc:
        raise SalespoolError(f"backup of {db} failed: {exc}") from exc
    return BackupResult(
        file=str(dest),
        db=str(db),
        bytes=dest.stat().st_size,
        schema_version=version,
        customers=customers,
    )


def restore(url: str, src: Path, yes: bool = False) -> RestoreResult:
    """Replace the SQLite store at `url` with the backup `src`.

    `src` is checked first (a SQLite file, not damaged, with a salespool schema
    version this code can read); an existing store is replaced only with `yes`.
    A backup from an older schema is upgraded as the store is opened after it.
    """
    db = sqlite_file(url, "restore")
    if not src.is_file():
        raise NotFound(f"{src}: no such file")
    _refuse_same_file(db, src, "the backup to restore")
    from_version = check_backup(src)
    if db.exists() and db.stat().st_size > 0 and not yes:
        raise Refused(f"{db} already holds a store; add --yes to replace it with {src}")
    create_private_file(db)
    try:
        source = _open_read_only(src)
        target = sqlite3.connect(db, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            _match_page_size(source, target)
            source.backup(target)
        finally:
            target.close()
            source.close()
    except sqlite3.Error as exc:
        raise SalespoolError(f"restore of {src} into {db} failed: {exc}") from exc
    store = Store(url)
    try:
        store.ensure_schema()  # upgrades an older backup, and puts the store back in WAL mode
        version = store.schema_version() or SCHEMA_VERSION
    finally:
        store.dispose()
    check = sqlite3.connect(db, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        _version, customers = _describe(check)
    finally:
        check.close()
    return RestoreResult(
        file=str(src),
        db=str(db),
        from_version=from_version,
        schema_version=version,
        customers=customers,
    )


def check_backup(src: Path) -> int:
    """The schema version of the salespool store in `src`; refuses anything else."""
    try:
        conn = _open_read_only(src)
    except sqlite3.Error as exc:
        raise BadInput(f"{src}: cannot open: {exc}") from exc
    try:
        try:
            tables = {
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            raise BadInput(f"{src}: not a SQLite database ({exc})") from exc
        if "meta" not in tables or "customer" not in tables:
            raise BadInput(f"{src}: not a salespool store (no meta and customer tables)")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        try:
            version = int(row[0]) if row is not None else None
        except (TypeError, ValueError):
            version = None
        if version is None or version < 1:
            raise BadInput(f"{src}: not a salespool store (no readable schema version)")
        if version > SCHEMA_VERSION:
            raise Refused(
                f"{src}: schema version {version} is newer than this salespool understands "
                f"({SCHEMA_VERSION}); upgrade salespool"
            )
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BadInput(f"{src}: the backup is damaged ({verdict})")
        return version
    except sqlite3.DatabaseError as exc:
        raise BadInput(f"{src}: the backup is damaged ({exc})") from exc
    finally:
        conn.close()


def _describe(conn: sqlite3.Connection) -> tuple[int, int]:
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    customers = conn.execute("SELECT count(*) FROM customer").fetchone()[0]
    return int(version[0]), customers


def _open_read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: a mistyped path must not create an empty database.
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS
    )


def _match_page_size(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    """A WAL store cannot take pages of another size: drop WAL for the copy then."""
    source_size = source.execute("PRAGMA page_size").fetchone()[0]
    target_size = target.execute("PRAGMA page_size").fetchone()[0]
    if source_size != target_size:
        mode = target.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if mode != "delete":
            raise Refused(
                "the backup has another page size than the store, and the store is in use; "
                "stop the other salespool processes and try again"
            )


def _refuse_same_file(db: Path, other: Path, what: str) -> None:
    store_files = {db.resolve(), *(Path(f"{db.resolve()}{s}") for s in ("-wal", "-shm"))}
    if other.resolve() in store_files:
        raise Refused(f"{what} cannot be the store itself ({db})")


def _private_folders(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents, each mode 0700; the ones made, outermost first.

    (Path.mkdir(parents=True) would give the parents the default mode, not 0700.)
    """
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    made: list[Path] = []
    try:
        for path in reversed(missing):
            path.mkdir(mode=0o700)
            made.append(path)
            path.chmod(0o700)  # mkdir's mode is cut by the umask
    except OSError as exc:
        for path in reversed(made):
            path.rmdir()
        raise SalespoolError(f"{path}: cannot create the folder: {exc.strerror or exc}") from exc
    return made

"""Bulk work over many rows: batched inserts (COPY on PostgreSQL), index rebuilds, cache sizes.

The importers stage millions of rows through these; nothing here knows what the
rows mean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, DateTime, Table, func, insert, select
from sqlalchemy.sql import Select

from salespool.storage.plans import owns_table

BULK_CACHE_MIB = 64
TEMP_CACHE_MIB = 16
REBUILD_MIN_ROWS = 100_000


def tune_for_bulk(conn: Connection) -> None:
    """Ready this connection for an import: millions of staged rows and index inserts.

    The main page cache grows to BULK_CACHE_MIB (index inserts in random order
    otherwise thrash SQLite's default 2 MiB cache) and the temporary one to
    TEMP_CACHE_MIB, both bounded. PostgreSQL needs neither. (Sorting index builds on
    a second thread, PRAGMA threads, was a few seconds faster on 10M follow-ups but
    took peak RSS from ~230 MB to 352 MB: not done.)
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA main.cache_size = -{BULK_CACHE_MIB * 1024}")
        conn.exec_driver_sql(f"PRAGMA temp.cache_size = -{TEMP_CACHE_MIB * 1024}")


def stamper(conn: Connection) -> Callable[[datetime], object]:
    """How an aware UTC datetime is bound for this database, as fast as it can be done.

    SQLite stores SQLAlchemy's text form, which `isoformat` writes (in C) when it
    gives the same text; staged rows then bind plain strings. (The dialect's own
    type: the generic DateTime has no bind processor, and sqlite3's default adapter
    would write another text, `...+00:00`, that does not compare with the rest.)
    """
    process = DateTime(timezone=True).dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if process is None:
        return lambda moment: moment

    def fast(moment: datetime) -> str:
        # A UTC time's ISO text without its "+00:00" is SQLAlchemy's: one C call.
        return moment.isoformat(" ", "microseconds")[:26]

    probe = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    return fast if fast(probe) == process(probe) else process


def stage_rows(
    conn: Connection, table: Table, names: list[str], rows: Iterator[tuple], batch_rows: int
) -> int:
    """Insert tuples (in `names` order) in batches: COPY on psycopg, else executemany.

    No per-row SQLAlchemy work: values must already be as the driver binds them
    (see `stamper`). A batch is drawn in full before it is sent, so whatever the
    rows' generator writes meanwhile (the rejects) never runs inside a COPY.
    Returns the number of rows.
    """
    columns = ", ".join(names)
    style = conn.dialect.paramstyle
    total = 0
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        # psycopg's COPY sends rows without a round trip or a statement each.
        raw = conn.connection.dbapi_connection
        copy_sql = f"COPY {table.name} ({columns}) FROM STDIN"
        for batch in _batches(rows, batch_rows):
            total += len(batch)
            with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
                for row in batch:
                    copy.write_row(row)
        return total
    if style == "qmark":
        marks = ", ".join("?" for _ in names)
    elif style in ("format", "pyformat"):
        marks = ", ".join("%s" for _ in names)
    else:  # a driver with another style: SQLAlchemy's own executemany
        marks = ""
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"
    for batch in _batches(rows, batch_rows):
        total += len(batch)
        if marks:
            conn.exec_driver_sql(sql, batch)
        else:
            conn.execute(insert(table), [dict(zip(names, r, strict=True)) for r in batch])
    return total


def driver_rows(conn: Connection, query: Select, batch_rows: int) -> Iterator[tuple]:
    """The rows of `query` (no bound parameters) as the driver returns them, streamed.

    For listings of 100,000s of rows: no SQLAlchemy result processing (its Row
    objects cost as much again as reading the rows), so values are the driver's own
    (SQLite: times as stored, text). On PostgreSQL a server-side cursor hands them
    over `batch_rows` at a time: psycopg otherwise holds the whole result client-side.
    """
    compiled = query.compile(dialect=conn.dialect)
    if compiled.params:
        raise ValueError("driver_rows: the query must not need parameters")
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        cursor = raw.cursor(name="salespool_rows")  # type: ignore[call-arg]
        cursor.itersize = batch_rows  # type: ignore[attr-defined]
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(str(compiled))
        while rows := cursor.fetchmany(batch_rows):
            yield from rows
    finally:
        cursor.close()


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@contextmanager
def indexes_rebuilt(conn: Connection, table, rows: int) -> Iterator[None]:
    """Around a bulk insert of `rows` rows: build `table`'s indexes once after.

    Sorting once beats inserting millions of entries one by one, when the insert is
    at least as big as the table (a first load, mostly). Inside the caller's
    transaction: on SQLite readers (WAL) keep seeing the indexed table; on PostgreSQL
    the dropped indexes lock the table's readers out until the import commits, which
    is the price of the first big load going in about half the time (the 1M-customer
    bench: the INSERT with its eight indexes kept took 39 s of the 81). Constraints
    (primary key, unique, foreign keys) stay and are checked row by row either way.
    """
    rebuild = rows >= REBUILD_MIN_ROWS
    if rebuild:
        existing = conn.execute(select(func.count()).select_from(table)).scalar_one()
        # Only the tables' owner may drop their indexes (a team's manager imports into the
        # owner's tables, with the indexes kept).
        rebuild = rows >= existing and owns_table(conn, table.name, "USAGE")
    indexes = sorted(table.indexes, key=lambda ix: ix.name) if rebuild else []
    for index in indexes:
        index.drop(conn)
    yield
    for index in indexes:
        index.create(conn)

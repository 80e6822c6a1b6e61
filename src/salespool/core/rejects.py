"""Bad rows of an import: refused at once (all or nothing), or kept for a rejects file.

Shared by the imports: each validates rows as they stream in and hands the bad
ones to `Problems`, which raises the first (without `--rejects`) or keeps them,
in batches, in a temporary table; `write_rejects` then writes that table as a
CSV people open in Excel.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, func, insert, select

from salespool.core.sources import RowError, describe
from salespool.core.sources import write_rejects as write_rows

BATCH_ROWS = 5000

_metadata = MetaData()
REJECTS = Table(
    "import_rejects",
    _metadata,
    Column("line", Integer, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    prefixes=["TEMPORARY"],
)


def raw_cells(cells: list[str | None]) -> str:
    """A row's cells as kept for the rejects file (JSON text)."""
    return json.dumps(cells, ensure_ascii=False)


class Problems:
    """Bad rows: refused at once (all or nothing), or kept for the rejects file."""

    def __init__(self, conn: Connection, file: str, keep: bool) -> None:
        self.conn, self.file, self.keep = conn, file, keep
        self.batch: list[dict] = []
        self.count = 0

    def add(
        self,
        line: int,
        column: str | None,
        value: str | None,
        why: str,
        cells: list[str | None] | str | None,
    ) -> None:
        if not self.keep:
            raise RowError(self.file, line, column, value, why)
        raw = cells if isinstance(cells, str) or cells is None else raw_cells(cells)
        self.add_reason(line, describe(column, value, why), raw)

    def add_reason(self, line: int, reason: str, raw: str | None) -> None:
        """Keep a bad row whose reason is already worded (e.g. built in SQL)."""
        self.batch.append({"line": line, "reason": reason, "raw": raw})
        self.count += 1
        if len(self.batch) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.conn.execute(insert(REJECTS), self.batch)
            self.batch = []


def listed_rejects(conn: Connection, limit: int) -> tuple[list[dict], int]:
    """The first `limit` kept rows as {"line", "reason"}, and how many there are."""
    rows = conn.execute(
        select(REJECTS.c.line, REJECTS.c.reason).order_by(REJECTS.c.line).limit(limit)
    )
    listed = [{"line": line, "reason": reason} for line, reason in rows]
    total = conn.execute(select(func.count()).select_from(REJECTS)).scalar_one()
    return listed, total


def write_rejects(conn: Connection, path: Path, header: list[str]) -> None:
    """The kept rows as the rejects file: line, reason, then the row's cells as read."""
    rows = conn.execute(
        select(REJECTS.c.line, REJECTS.c.reason, REJECTS.c.raw).order_by(REJECTS.c.line)
    )
    write_rows(
        path, header, ((line, why, json.loads(raw) if raw else None) for line, why, raw in rows)
    )

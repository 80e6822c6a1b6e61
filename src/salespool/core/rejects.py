"""Bad rows of an import: refused at once (all or nothing), or kept for a rejects file.

Shared by the imports: each validates rows as they stream in and hands the bad
ones to `Problems`, which raises the first (without `--rejects`) or keeps them,
in batches, in a temporary table; `write_rejects` then writes that table as a
CSV people open in Excel.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, func, insert, select

from salespool.core.sources import FileError, RowError, describe

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
        self.batch.append({"line": line, "reason": describe(column, value, why), "raw": raw})
        self.count += 1
        if len(self.batch) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.conn.execute(insert(REJECTS), self.batch)
            self.batch = []


def same_file(a: Path, b: Path) -> bool:
    """Whether `a` exists and is the file `b` (a rejects file must not replace the input)."""
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def listed_rejects(conn: Connection, limit: int) -> tuple[list[dict], int]:
    """The first `limit` kept rows as {"line", "reason"}, and how many there are."""
    rows = conn.execute(
        select(REJECTS.c.line, REJECTS.c.reason).order_by(REJECTS.c.line).limit(limit)
    )
    listed = [{"line": line, "reason": reason} for line, reason in rows]
    total = conn.execute(select(func.count()).select_from(REJECTS)).scalar_one()
    return listed, total


def write_rejects(conn: Connection, path: Path, header: list[str]) -> None:
    """line, reason, then the row's cells as read: UTF-8 with a BOM, for Excel."""
    target = path.resolve()
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with open(handle, "w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "reason", *header])
            rows = conn.execute(
                select(REJECTS.c.line, REJECTS.c.reason, REJECTS.c.raw).order_by(REJECTS.c.line)
            )
            for line, reason, raw in rows:
                cells = json.loads(raw) if raw else []
                writer.writerow([line, reason, *("" if c is None else c for c in cells)])
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise FileError(str(path), f"cannot write the rejects: {exc.strerror}") from exc
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise

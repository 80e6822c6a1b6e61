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
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, func, insert, select

from salespool.core.readers import FileError, RowError, describe
from salespool.errors import BadInput

BATCH_ROWS = 5000
# How many would-be rejects a dry run lists (by line); the result's count has them all.
REPORTED_REJECTS = 1000

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
    _write_csv(
        path, header, ((line, why, json.loads(raw) if raw else None) for line, why, raw in rows)
    )


def check_rejects_path(rejects: Path, source: Path) -> None:
    """Refuse, before any work, a rejects file that could not be written, in one line.

    A missing or unwritable directory, a directory given as the file, or the file
    being imported: found after an hour's import of a million rows this would be a
    traceback, or the input overwritten. Nothing is left behind by the check.
    """
    if _same_path(rejects, source):
        raise BadInput(f"{rejects} is the file being imported", option="rejects")
    if rejects.is_dir():
        raise BadInput(f"{rejects} is a directory (name a file in it)", option="rejects")
    parent = rejects.parent
    if not parent.is_dir():
        raise BadInput(f"{rejects}: no such directory '{parent}'", option="rejects")
    try:  # the real test, as the write will be done: permissions, read-only mounts
        handle, probe = tempfile.mkstemp(prefix=f".{rejects.name}.", dir=parent)
    except OSError as exc:
        raise BadInput(
            f"{rejects}: cannot write in '{parent}': {exc.strerror}", option="rejects"
        ) from None
    os.close(handle)
    Path(probe).unlink(missing_ok=True)


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _write_csv(
    path: Path, header: list[str], rows: Iterable[tuple[int, str, list[str | None] | None]]
) -> None:
    """Write `(line, reason, cells)` rows as CSV: line, reason, then the row's cells as read.

    UTF-8 with a BOM, for Excel; written to a temporary file beside `path` (mode 0600:
    customer data) and moved into place, so a failed write leaves no half file.
    """
    target = path.resolve()
    temp: str | None = None
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with open(handle, "w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "reason", *header])
            for line, reason, cells in rows:
                writer.writerow([line, reason, *("" if c is None else c for c in cells or [])])
        os.replace(temp, target)
    except OSError as exc:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise FileError(str(path), f"cannot write the rejects: {exc.strerror}") from exc
    except BaseException:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise

"""Fuzzing the importers: random bytes and random CSV shapes end in a clean result.

Every run either imports (exit 0) or is refused with one `error:` line, exit 1,
no traceback, and the store exactly as it was. Each example starts from a store of its
own holding the book, so what one example imported never shapes the next.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADERS = ["name", "external_id", "phone", "email", "owner", "stage", "created_at", "客户名称",
           "手机", "city", "", "Name"]  # fmt: skip
CELLS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["Acme", "ＡＣＭＥ", "13800138000", "＋８６ １３８ ００１３ ８０００", "a@b.cn", "won",
         "商务谈判", "closing", "2026-01-01", "someday", "alice", "", " ", "'=1+1", "\x00", "\r\n"]
    ),
)  # fmt: skip


def check(cli, path: Path, *args: str) -> None:
    before = cli.snapshot()
    result = cli("import", str(path), *args, ok=False)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr, result.exception)
    if result.exit_code == 1:
        assert result.stderr.startswith("error: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert cli.snapshot() == before, "a refused import changed the database"
    else:
        assert result.exception is None, result.exception


@FUZZ
@given(data=st.binary(max_size=2000), ext=st.sampled_from([".csv", ".xlsx", ".jsonl", ".dat"]))
def test_random_bytes(fresh_book, data, ext):
    with fresh_book() as book:
        path = book.db.parent / f"fuzz{ext}"
        path.write_bytes(data)
        check(book, path)


@FUZZ
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6),
    rows=st.lists(st.lists(CELLS, max_size=8), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
    options=st.sampled_from([[], ["--on-duplicate", "skip"], ["--on-duplicate", "error"],
                             ["--take-owner"], ["--dry-run"]]),
)  # fmt: skip
def test_random_csv_shapes(fresh_book, header, rows, delimiter, encoding, options):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    with fresh_book() as book:
        path = book.db.parent / "shape.csv"
        path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
        check(book, path, *options)


@FUZZ
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6),
    rows=st.lists(st.lists(CELLS, max_size=8), max_size=8),
)
def test_random_csv_shapes_with_rejects(fresh_book, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    with fresh_book() as book:
        path = book.db.parent / "shape.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        check(book, path, "--rejects", str(book.db.parent / "rejects.csv"))


@FUZZ
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2", "Acme Logistics", "C9", "", "ＣＩ"]),
            st.sampled_from(["alice", "bob", "zoe", ""]),
            st.sampled_from(["call", "电话", "", "x"]),
            CELLS,
            st.sampled_from(["2026-11-01", "2026-11-01T10:00:00+08:00", "2027-01-01", "x", ""]),
        ),
        max_size=8,
    ),
    data=st.binary(max_size=200),
)
def test_random_followups(fresh_book, rows, data):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["customer", "rep", "kind", "note", "at"])
    writer.writerows(rows)
    with fresh_book() as book:
        path = book.db.parent / "followups.csv"
        path.write_bytes(buffer.getvalue().encode() + data)
        before = book.snapshot()
        result = book("import-followups", str(path), ok=False)
        assert result.exit_code in (0, 1), (result.exit_code, result.stderr, result.exception)
        assert "Traceback" not in result.stderr
        if result.exit_code == 1:
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
            assert book.snapshot() == before

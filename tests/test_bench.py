"""benchmarks/bench.py still runs: every step of a tiny benchmark, in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
STEPS = ["startup", "import", "import-followups", "import-deals", "recycle", "assign"]
STEPS += ["report", "report-rep"]
TINY = ["--customers", "200", "--followups-per-customer", "1", "--reps", "10", "--repeat", "1"]


PG_URL = os.environ.get("SALESPOOL_TEST_PG_URL") or None


def table_of(done: subprocess.CompletedProcess) -> dict[str, str]:
    """The bench's table on stdout: each step's row, by step."""
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    top = next(n for n, line in enumerate(lines) if line.startswith("step "))
    assert "salespool s" in lines[top] and "peak RSS MB" in lines[top], done.stdout
    table = lines[top + 2 : lines.index("", top)]  # under the header's dashes
    rows = {line.split()[0]: line for line in table}
    assert list(rows) == STEPS, done.stdout
    for step, row in rows.items():
        assert "FAILED" not in row and "failed" not in row, (step, done.stdout)
        assert "!)" not in row, (step, row)  # the reference did other work: "(reference: N!)"
    assert any(line.startswith("missed: ") for line in lines)
    return rows


@pytest.mark.slow
@pytest.mark.sqlite_only  # the bench's own stores: once per CI run is enough
def test_a_tiny_benchmark_runs_every_step_and_prints_its_table(tmp_path):
    results = BENCH.with_name("RESULTS.md")
    before = results.read_bytes() if results.exists() else None
    done = subprocess.run(
        [sys.executable, str(BENCH), *TINY, "--no-results", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    rows = table_of(done)
    assert "inserted 200" in rows["import"]
    assert (results.read_bytes() if results.exists() else None) == before  # --no-results


@pytest.mark.slow
@pytest.mark.skipif(PG_URL is None, reason="needs a PostgreSQL server: SALESPOOL_TEST_PG_URL")
def test_a_tiny_benchmark_runs_on_postgresql_and_drops_its_databases(tmp_path):
    assert PG_URL is not None
    # A name of its own, so it never meets the test suite's databases or another run.
    name = f"bench_test_{uuid.uuid4().hex[:12]}"
    server = PG_URL.rsplit("/", 1)[0] + "/postgres"
    pg = ["--db", server, "--pg-name", name, "--drop"]
    done = subprocess.run(
        [sys.executable, str(BENCH), *TINY, "--no-results", "--workdir", str(tmp_path), *pg],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    rows = table_of(done)
    assert "inserted 200" in rows["import"]
    for database in (name, f"{name}_imported", f"{name}_ref"):  # --drop: nothing is left
        probe = ["--pg-admin", "exists", "--pg-server", server, "--pg-name", database]
        left = subprocess.run(
            [sys.executable, str(BENCH), *probe],
            capture_output=True,
            text=True,
        )
        assert left.stdout.strip() == '{"exists": false}', (database, left)


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_the_start_up_benchmark_prints_each_row_against_its_reference(tmp_path):
    # Its exit status says whether the targets were met, which a busy machine decides:
    # only that it measures both sides and prints the rows is checked here.
    startup = BENCH.with_name("startup.py")
    done = subprocess.run(
        [sys.executable, str(startup), "--runs", "1", "--store", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == ["--version", "--help"], done.stdout
    assert "hello-world Typer app" in rows[0] and "its --help" in rows[1], rows
    assert "no store at" in done.stdout  # the report row needs a bench store

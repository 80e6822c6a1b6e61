"""benchmarks/bench.py still runs: every step of a tiny benchmark, in a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
STEPS = ["startup", "import", "import-followups", "import-deals", "recycle", "assign"]
STEPS += ["report", "report-rep"]
TINY = ["--customers", "200", "--followups-per-customer", "1", "--reps", "10", "--repeat", "1"]


@pytest.mark.slow
@pytest.mark.sqlite_only  # the bench measures SQLite stores only: once per CI run is enough
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
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    top = next(n for n, line in enumerate(lines) if line.startswith("step "))
    assert "salespool s" in lines[top] and "peak RSS MB" in lines[top], done.stdout
    table = lines[top + 2 : lines.index("", top)]  # under the header's dashes
    rows = {line.split()[0]: line for line in table}
    assert list(rows) == STEPS, done.stdout
    for step, row in rows.items():
        assert "FAILED" not in row and "failed" not in row, (step, done.stdout)
    assert "inserted 200" in rows["import"]
    assert any(line.startswith("missed: ") for line in lines)
    assert (results.read_bytes() if results.exists() else None) == before  # --no-results

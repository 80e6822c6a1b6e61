"""examples/make_data.py: the example data it writes is what salespool imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"
FILES = ("customers.csv", "followups.csv", "deals.csv", "reps.csv", "story.csv")


def test_generated_data_is_the_examples_and_imports(cli, tmp_path):
    out = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "make_data.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("wrote 200 customers, 600 follow-ups, 150 deals and 7 reps")
    assert "and 363 actions of the month after the move to story.csv" in done.stdout
    # Seeded: the files checked in are the ones it writes, byte for byte.
    for name in FILES:
        assert (out / name).read_bytes() == (EXAMPLES / name).read_bytes(), name

    customers = cli.json("import", str(out / "customers.csv"))
    assert (customers["inserted"], customers["rejected"]) == (200, 0)
    assert customers["ignored_columns"] == []
    assert customers["reps_created"] == ["alice", "bob", "carol", "dave"]
    followups = cli.json("import-followups", str(out / "followups.csv"))
    assert (followups["inserted"], followups["skipped"]) == (600, 0)
    # The stage column is read now: the trail, never the current stages (the last stage
    # a customer's follow-ups set is its stage in customers.csv).
    assert (followups["ignored_columns"], followups["stage_moved"]) == ([], 0)
    assert followups["stage_changes"] > 0
    deals = cli.json("import-deals", str(out / "deals.csv"))
    assert (deals["inserted"], deals["rejected"], deals["ignored_columns"]) == (150, 0, [])

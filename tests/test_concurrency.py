"""Real processes racing on one store: hand-overs must stay atomic."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

CLAIMER = r"""
import json, random, sys, time
from datetime import UTC, datetime
from salespool.core.handover import claim
from salespool.errors import Refused
from salespool.store import open_store

db, rep, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = open_store(db)
ids = list(range(1, 101))
random.Random(rep).shuffle(ids)
while time.time() < start:
    time.sleep(0.001)
won = []
for cid in ids:
    try:
        with store.write() as session:
            claim(session, datetime.now(UTC), rep, str(cid), rep)
        won.append(cid)
    except Refused:
        pass
print(json.dumps(won))
"""


def _pool_of(cli, write_csv, n: int, owner: str = "") -> None:
    rows = "\n".join(f"P{i:03d},Pool Co {i},{owner},2026-01-01" for i in range(1, n + 1))
    cli("import", str(write_csv(f"external_id,name,owner,created_at\n{rows}\n", name="pool.csv")))


def test_eight_processes_claiming_the_same_100_customers(cli, write_csv):
    _pool_of(cli, write_csv, 100)
    reps = [f"rep{i}" for i in range(8)]
    for rep in reps:
        cli("rep", "add", rep)
    start = time.time() + 2.0  # let every interpreter start before the race
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(cli.db), rep, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rep in reps
    ]
    wins: dict[str, list[int]] = {}
    for rep, proc in zip(reps, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        wins[rep] = json.loads(out)
    all_wins = [cid for won in wins.values() for cid in won]
    assert len(all_wins) == 100
    assert sorted(all_wins) == list(range(1, 101))
    assert cli.sql("select count(*) from customer where owner_id is null") == [(0,)]
    assert (
        cli.sql(
            "select customer_id from event where kind = 'claimed' "
            "group by customer_id having count(*) > 1"
        )
        == []
    )
    owners = dict(cli.sql("select c.id, r.name from customer c join rep r on r.id = c.owner_id"))
    for rep, won in wins.items():
        assert all(owners[cid] == rep for cid in won)


def test_two_overlapping_recycle_runs_recycle_each_customer_once(cli, write_csv, tmp_path: Path):
    _pool_of(cli, write_csv, 300, owner="alice")
    env_now = ["--db", str(cli.db), "--now", "2026-11-29T09:00:00", "--tz", "Asia/Shanghai"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "salespool", *env_now, "recycle", "--days", "30", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    counts = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        counts.append(json.loads(out)["count"])
    assert sorted(counts) == [0, 300]
    assert cli.sql("select count(*) from event where kind = 'recycled'") == [(300,)]
    assert cli.sql("select count(*) from customer where owner_id is null") == [(300,)]

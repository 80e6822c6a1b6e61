"""Real processes racing to claim for the same reps: the limits hold, not just the hand-over."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow  # every test here runs processes of its own

WORKER = r"""
import json, random, sys, time
from datetime import UTC, datetime
from salespool.core.handover import claim
from salespool.rules import ClaimRules
from salespool.errors import Refused
from salespool.storage.store import open_store

db, rep, seed, start, rules = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
rules = ClaimRules(**json.loads(rules))
store = open_store(db)
ids = list(range(1, 101))
random.Random(seed).shuffle(ids)
while time.time() < start:
    time.sleep(0.001)
won, refusals = [], set()
for cid in ids:
    try:
        with store.write() as session:
            claim(
                session,
                now=datetime.now(UTC),
                actor=seed,
                customer=str(cid),
                rep=rep,
                rules=rules,
            )
        won.append(cid)
    except Refused as exc:
        refusals.add(str(exc).split(":")[0])
print(json.dumps({"won": won, "refusals": sorted(refusals)}))
"""


def _race(cli, write_csv, rules: dict) -> dict[str, list[int]]:
    """100 pool customers; 8 processes, two per rep, claim all of them in random orders."""
    rows = "\n".join(f"P{i:03d},Pool Co {i},2026-01-01" for i in range(1, 101))
    cli("import", str(write_csv(f"external_id,name,created_at\n{rows}\n", name="pool.csv")))
    reps = [f"rep{i}" for i in range(4)]
    for rep in reps:
        cli("rep", "add", rep, "--role", "rookie")
    start = time.time() + 2.0  # let every interpreter start before the race
    workers = [(rep, f"{rep}-{n}") for rep in reps for n in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, cli.url, rep, seed, str(start), json.dumps(rules)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rep, seed in workers
    ]
    wins: dict[str, list[int]] = {rep: [] for rep in reps}
    for (rep, _seed), proc in zip(workers, procs, strict=True):
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        wins[rep].extend(json.loads(out)["won"])
    return wins


def _owned(cli) -> dict[str, int]:
    return dict(
        cli.sql(
            "select r.name, count(c.id) from rep r left join customer c on c.owner_id = r.id "
            "group by r.name"
        )
    )


def test_eight_processes_never_push_a_rep_over_capacity(cli, write_csv):
    wins = _race(cli, write_csv, {"role_capacity": {"rookie": 7}})
    owned = _owned(cli)
    for rep, won in wins.items():
        # 100 customers are plenty, so each rep fills up exactly: never over, never short.
        assert len(won) == 7, (rep, won)
        assert owned[rep] == 7
    assert cli.sql("select count(*) from event where kind = 'claimed'") == [(28,)]


def test_eight_processes_never_pass_the_daily_limit(cli, write_csv):
    wins = _race(cli, write_csv, {"daily_limit": 5, "tz": "Asia/Shanghai"})
    for rep, won in wins.items():
        assert len(won) == 5, (rep, won)
    assert (
        cli.sql(
            "select count(*) from event where kind = 'claimed' group by to_rep_id "
            "having count(*) <> 5"
        )
        == []
    )
    assert sum(_owned(cli).values()) == 20

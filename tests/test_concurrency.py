"""Real processes racing on one store: hand-overs must stay atomic."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow  # every test here runs processes of its own

CLAIMER = r"""
import json, random, sys, time
from datetime import UTC, datetime
from salespool.core.handover import claim
from salespool.errors import Refused
from salespool.storage.store import open_store

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
            claim(session, now=datetime.now(UTC), actor=rep, customer=str(cid), rep=rep)
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
            [sys.executable, "-c", CLAIMER, cli.url, rep, str(start)],
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


@pytest.mark.parametrize("wait", [True, False], ids=["wait", "no-wait"])
def test_two_overlapping_recycle_runs_recycle_each_customer_once(cli, write_csv, wait: bool):
    """Cron overlap: the second run waits (--wait) or exits 3; never recycles twice."""
    _pool_of(cli, write_csv, 300, owner="alice")
    args = ["recycle", "--days", "30", "--json", *(["--wait"] if wait else [])]
    start = time.time() + 2.0
    procs = [cli.spawn(*args, start=start) for _ in range(2)]
    counts, locked = [], []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert "database is locked" not in err
        if proc.returncode == 3:  # EXIT_LOCKED: the other run had the lock
            assert not wait
            assert out == ""
            assert err.startswith("error: another 'recycle' run holds the lock"), err
            assert err.count("\n") == 1, err
            locked.append(err)
            continue
        assert proc.returncode == 0, err
        counts.append(json.loads(out)["count"])
    if wait:
        assert sorted(counts) == [0, 300]
    else:  # the second either found the lock taken or ran after the first finished
        assert sorted(counts) in ([300], [0, 300])
        assert len(counts) + len(locked) == 2
    assert cli.sql("select count(*) from event where kind = 'recycled'") == [(300,)]
    assert (
        cli.sql(
            "select customer_id from event where kind = 'recycled' "
            "group by customer_id having count(*) > 1"
        )
        == []
    )
    assert cli.sql("select count(*) from customer where owner_id is null") == [(300,)]


RELEASER = r"""
import json, random, sys, time
from salespool.clock import Clock
from salespool.core.handover import release
from salespool.errors import SalespoolError
from salespool.storage.store import open_store

db, now, tz, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ids = json.loads(sys.argv[5])
store = open_store(db)
moment = Clock.at(now, tz).now
while time.time() < start:
    time.sleep(0.001)
released = []
for cid in ids:
    try:
        with store.write() as session:
            release(session, now=moment, actor="test", customer=str(cid))
        released.append(cid)
    except SalespoolError:  # the rep left first: not theirs to give back any more
        pass
print(json.dumps(released))
"""


def test_a_rep_leaving_while_their_customers_are_released_moves_each_one_once(cli, write_csv):
    """rep leave races releases of the same book: each customer leaves alice exactly once.

    On PostgreSQL a release may commit while the leave runs; the leave's batch is
    chosen once with its rows locked, so the rep_left events are exactly the
    customers it moved. (SQLite serializes the writers; the invariant holds there too.)
    """
    book = 3000  # big enough that the leave's statements take a while
    _pool_of(cli, write_csv, book, owner="alice")
    [(alice,)] = cli.sql("select id from rep where name = 'alice'")
    chunks = [list(range(1 + 200 * i, 201 + 200 * i)) for i in range(3)]
    start = time.time() + 3.0  # every interpreter loaded before the race
    releasers = [
        subprocess.Popen(
            [sys.executable, "-c", RELEASER, cli.url, cli.now, cli.tz, str(start), json.dumps(c)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in chunks
    ]
    # The leave lands while the releases stream in.
    leave = cli.spawn("rep", "leave", "alice", "--json", start=start + 0.3)
    out, err = leave.communicate(timeout=180)
    assert leave.returncode == 0, err
    moved = json.loads(out)["released"]
    released: list[int] = []
    for proc in releasers:
        r_out, r_err = proc.communicate(timeout=180)
        assert proc.returncode == 0, r_err
        released += json.loads(r_out)
    attempted = sum(len(c) for c in chunks)
    # The race happened: releases before the leave won, those after it found alice gone.
    assert 0 < len(released) < attempted, len(released)
    assert moved + len(released) == book

    per_customer = dict(
        cli.sql(
            "select customer_id, count(*) from event where kind in ('released', 'rep_left') "
            "group by customer_id"
        )
    )
    assert len(per_customer) == book and set(per_customer.values()) == {1}
    assert cli.sql("select count(*) from event where kind = 'rep_left'") == [(moved,)]
    assert cli.sql("select count(*) from event where kind = 'released'") == [(len(released),)]
    assert sorted(
        cid for (cid,) in cli.sql("select customer_id from event where kind = 'released'")
    ) == sorted(released)
    # Every rep_left event took a customer that alice still had: the event before it
    # left the customer in her hands.
    events = cli.sql("select customer_id, kind, to_rep_id from event order by customer_id, at, id")
    previous: dict[int, int | None] = {}
    for cid, kind, to_rep in events:
        if kind == "rep_left":
            assert previous[cid] == alice, (cid, previous[cid])
        previous[cid] = to_rep
    assert cli.sql("select count(*) from customer where owner_id is not null") == [(0,)]

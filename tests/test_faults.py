"""Faults and load with real processes, on SQLite and on PostgreSQL.

The run lock that keeps two `recycle` runs apart, recycling while reps claim
and log, and an import killed with SIGKILL halfway. The eight-claimer race and
the overlapping cron runs are in test_concurrency.py.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict

import pytest
from conftest import Cli
from sqlalchemy import create_engine, text

from salespool.storage.store import Store

# A rep working the book through the core operations, in a process of its own:
# `claim` mode claims each customer it can and logs a call on it; `log` mode only
# logs calls on the customers it owns. Prints what it got done, as JSON.
REP_WORKER = r"""
import json, random, sys, time
from datetime import datetime
from salespool.core.activity import log_followup
from salespool.core.handover import claim
from salespool.errors import Refused
from salespool.models import FollowUpKind
from salespool.storage.store import open_store

db, rep, mode = sys.argv[1:4]
n, start = int(sys.argv[4]), float(sys.argv[5])
now = datetime.fromisoformat("2026-11-29T01:00:00+00:00")  # the tests' --now, in UTC
store = open_store(db)
ids = list(range(1, n + 1))
random.Random(rep).shuffle(ids)
while time.time() < start:
    time.sleep(0.001)
claimed, logged = [], []
for cid in ids:
    if mode == "claim":
        try:
            with store.write() as session:
                claim(session, now=now, actor=rep, customer=str(cid), rep=rep)
            claimed.append(cid)
        except Refused:
            continue
    try:
        with store.write() as session:
            log_followup(
                session,
                now=now,
                actor=rep,
                customer=str(cid),
                rep=rep,
                kind=FollowUpKind.call,
                note=f"{rep} {cid}",
            )
        logged.append(cid)
    except Refused:
        pass
print(json.dumps({"claimed": claimed, "logged": logged}))
"""

# Holds the recycle run lock until killed.
LOCK_HOLDER = r"""
import sys, time
from salespool.storage.store import Store, to_url
store = Store(to_url(sys.argv[1]))
with store.exclusive("recycle"):
    print("held", flush=True)
    time.sleep(600)
"""

LOCKED_PREFIX = "error: another 'recycle' run holds the lock"


def _recyclable(cli: Cli) -> int:
    return cli.json("recycle", "--days", "30", "--dry-run")["count"]


def test_recycle_exits_3_while_another_run_holds_the_lock(book, store):
    due = _recyclable(book)
    assert due == 2  # C1 and C3 have been idle for months
    with store.exclusive("recycle"):
        before = book.snapshot()
        result = book("recycle", "--days", "30", "--json", ok=False)
        assert result.exit_code == 3
        assert result.stdout == ""
        assert result.stderr.startswith(LOCKED_PREFIX), result.stderr
        assert result.stderr.count("\n") == 1
        assert book.snapshot() == before
        # A dry run changes nothing, so it needs no lock and still answers.
        assert _recyclable(book) == due
    assert book.json("recycle", "--days", "30")["count"] == due


@pytest.mark.slow
def test_recycle_wait_waits_for_the_run_holding_the_lock(book, store):
    with store.exclusive("recycle"):
        proc = book.spawn("recycle", "--days", "30", "--wait", "--json")
        time.sleep(3.0)  # time to start and reach the lock
        assert proc.poll() is None, proc.communicate()
        assert book.sql("select count(*) from event where kind = 'recycled'") == [(0,)]
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["count"] == 2
    assert book.sql("select count(*) from event where kind = 'recycled'") == [(2,)]


@pytest.mark.slow
def test_a_killed_run_leaves_no_stale_lock(book):
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, book.url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        assert book("recycle", "--days", "30", ok=False).exit_code == 3
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    # The OS (flock) or the server (advisory lock) dropped the lock with the process.
    deadline = time.time() + 10
    while (result := book("recycle", "--days", "30", "--json", ok=False)).exit_code == 3:
        assert time.time() < deadline, "the lock outlived the process that held it"
        time.sleep(0.2)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["count"] == 2


def _replay_owner(events: list[tuple]) -> int | None:
    """Walk one customer's trail in order; every step must start from the owner so far."""
    owner = None
    for _id, kind, from_rep, to_rep in events:
        if kind == "imported":
            assert owner is None
            owner = to_rep
        elif kind in ("claimed", "assigned"):
            assert owner is None and from_rep is None, (kind, owner, events)
            owner = to_rep
        elif kind in ("recycled", "released", "rep_left"):
            assert owner is not None and from_rep == owner, (kind, owner, events)
            owner = None
        elif kind == "stage_changed":
            assert from_rep == owner, events
    return owner


@pytest.mark.slow
def test_recycle_while_reps_claim_and_log_loses_nothing(cli, write_csv):
    """alice works her idle book while recycle runs; bob and carol claim what comes free."""
    owned = [f"A{i:03d},Idle Co {i},alice,2026-01-01,2026-09-01" for i in range(1, 121)]
    pool = [f"P{i:03d},Pool Co {i},,2026-01-01," for i in range(1, 81)]
    header = "external_id,name,owner,created_at,last_contact_at"
    cli("import", str(write_csv("\n".join([header, *owned, *pool]) + "\n", name="book.csv")))
    for rep in ("bob", "carol"):
        cli("rep", "add", rep)
    n = 200
    start = time.time() + 2.0
    workers = {
        rep: subprocess.Popen(
            [sys.executable, "-c", REP_WORKER, cli.url, rep, mode, str(n), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rep, mode in (("alice", "log"), ("bob", "claim"), ("carol", "claim"))
    }
    recyclers = [
        cli.spawn("recycle", "--days", "30", "--wait", "--json", start=start + delay)
        # Staggered, so that alice gets some calls in before the first run and
        # the runs overlap one another and the claims.
        for delay in (0.2, 0.25, 0.6, 1.2)
    ]
    done: dict[str, dict] = {}
    for rep, proc in workers.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        done[rep] = json.loads(out)
    recycled_by_runs = 0
    for proc in recyclers:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "database is locked" not in err
        recycled_by_runs += json.loads(out)["count"]

    rep_ids = dict(cli.sql("select name, id from rep"))
    # No follow-up lost: every one a worker saw committed is stored, and nothing else.
    stored = cli.sql("select customer_id, rep_id from follow_up")
    expected = [(cid, rep_ids[rep]) for rep, got in done.items() for cid in got["logged"]]
    assert sorted(stored) == sorted(expected)
    # Each customer's trail replays to its current owner.
    trails: dict[int, list[tuple]] = defaultdict(list)
    for cid, *event in cli.sql(
        "select customer_id, id, kind, from_rep_id, to_rep_id from event order by id"
    ):
        trails[cid].append(tuple(event))
    owners = dict(cli.sql("select id, owner_id from customer"))
    assert len(owners) == n
    for cid, owner in owners.items():
        assert _replay_owner(trails[cid]) == owner, (cid, trails[cid])
    # A customer alice called in time was not idle, so no run recycled it.
    recycled = {cid for (cid,) in cli.sql("select customer_id from event where kind = 'recycled'")}
    assert not recycled & set(done["alice"]["logged"])
    assert len(recycled) == recycled_by_runs  # and none was recycled twice
    assert len(recycled) + len(done["alice"]["logged"]) == 120
    # Every claim a worker saw is in the trail, once.
    claims = cli.sql("select customer_id, to_rep_id from event where kind = 'claimed'")
    wins = [(cid, rep_ids[rep]) for rep in ("bob", "carol") for cid in done[rep]["claimed"]]
    assert sorted(claims) == sorted(wins)


def _write_lock_held(cli: Cli) -> bool:
    """True while another process has a write transaction open on the store."""
    if cli.is_sqlite:
        probe = sqlite3.connect(cli.db, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    engine = create_engine(cli.url)
    try:
        with engine.connect() as conn:
            busy = conn.execute(
                text(
                    "select count(*) from pg_stat_activity where datname = current_database() "
                    "and pid <> pg_backend_pid() and xact_start is not null"
                )
            ).scalar_one()
            return busy > 0
    finally:
        engine.dispose()


@pytest.mark.slow
def test_import_killed_halfway_leaves_the_store_as_it_was(book, write_csv):
    n = 40_000  # seconds of work on either backend, so the kill lands mid-import
    rows = "\n".join(
        f"K{i:06d},客户 Kill Test {i},139{i:08d},k{i}@example.com,rep{i % 7},2026-02-01"
        for i in range(n)
    )
    big = write_csv(f"external_id,name,phone,email,owner,created_at\n{rows}\n", name="big.csv")
    before = book.snapshot()
    proc = book.spawn("import", str(big), "--json")
    deadline = time.time() + 60
    while not _write_lock_held(book):
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the import never began writing"
        time.sleep(0.02)
    time.sleep(0.3)  # well into staging the rows
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert book.snapshot() == before
    result = book.json("import", str(big))
    assert result["inserted"] == n
    assert book.sql("select count(*) from customer") == [(n + 5,)]
    assert book.sql("select count(*) from event where kind = 'imported'") == [(n + 5,)]


def test_messages_never_show_the_database_password():
    store = Store("postgresql+psycopg://sales:s3cret@db.example:5432/team")
    try:
        assert "s3cret" not in store.display
        assert store.display == "postgresql+psycopg://sales:***@db.example:5432/team"
    finally:
        store.dispose()

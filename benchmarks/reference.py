"""The reference: what plain SQLite does with the same data, to compare salespool with.

The imports are compared with the sqlite3 shell's `.import` of the same CSV; recycle
and report with hand-written SQL run through Python's sqlite3, in a child process of
its own (`bench.py --ref-sql ...`).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from dataset import NOW_UTC, RECYCLE_DAYS

REPORT_WINDOW_DAYS = 30  # `report` without --since: the last 30 days
ACTOR = "bench"

SQLITE_IMPORT_SCRIPT = """\
CREATE TABLE {table} ({columns});
.import --csv --skip 1 '{csv}' {table}
SELECT count(*) FROM {table};
"""


def db_time(moment: datetime) -> str:
    """A moment as salespool stores it on SQLite: naive UTC text with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _connect(path: str) -> sqlite3.Connection:
    """A connection with salespool's pragmas (store.py), in autocommit mode.

    Temporary storage stays SQLite's default (files), as store.py sets it; the page
    cache stays the default too (salespool grows it for bulk work, core/recycle.py).
    """
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 60000")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA synchronous = NORMAL")
    return con


# The recycle rule of `recycle --days 30` under the bench's config, as salespool
# evaluates it (core/recycle.py): owned; the idleness clock (the later of
# last_contact_at and owned_since) at or before now - 30 days; not protected by a
# lock set under the current owner, nor by a deal in the last deal_exempt_days.
RECYCLE_WHERE = """
    owner_id IS NOT NULL
    AND max(coalesce(last_contact_at, owned_since), owned_since) <= :cutoff
    AND NOT (locked_at IS NOT NULL AND locked_at >= owned_since
             AND (locked_until IS NULL OR locked_until > :now))
    AND NOT EXISTS (SELECT 1 FROM deal WHERE deal.customer_id = customer.id
                    AND deal.at > :deal_cutoff)
"""
RECYCLE_EVENTS = f"""
    INSERT INTO event (customer_id, at, kind, from_rep_id, from_stage, to_stage, reason, actor)
    SELECT id, :now, 'recycled', owner_id, stage, stage, :reason, :actor
    FROM customer WHERE {RECYCLE_WHERE}
"""
RECYCLE_UPDATE = f"""
    UPDATE customer SET owner_id = NULL, owned_since = NULL, pooled_at = :now
    WHERE {RECYCLE_WHERE}
"""
DEAL_EXEMPT_DAYS = 30  # salespool's default recycle.deal_exempt_days, kept by --days


def reference_recycle(path: str) -> dict:
    """recycle --days 30 by hand: the event INSERT ... SELECT, then the UPDATE."""
    params = {
        "now": db_time(NOW_UTC),
        "cutoff": db_time(NOW_UTC - timedelta(days=RECYCLE_DAYS)),
        "deal_cutoff": db_time(NOW_UTC - timedelta(days=DEAL_EXEMPT_DAYS)),
        "reason": f"idle {RECYCLE_DAYS}+ days",
        "actor": ACTOR,
    }
    con = _connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        events = con.execute(RECYCLE_EVENTS, params).rowcount
        count = con.execute(RECYCLE_UPDATE, params).rowcount
        con.execute("COMMIT")
    finally:
        con.close()
    return {"count": count, "events": events}


def reference_report(path: str, rep: str | None) -> dict:
    """report [--rep R] by hand: the same GROUP BY queries as core/report.py."""
    start = db_time(NOW_UTC - timedelta(days=REPORT_WINDOW_DAYS))
    end = db_time(NOW_UTC)
    con = _connect(path)
    try:
        if rep is None:
            reps = con.execute(
                "SELECT id, name FROM rep WHERE left_at IS NULL OR left_at >= ? ORDER BY name",
                (start,),
            ).fetchall()
        else:
            reps = con.execute("SELECT id, name FROM rep WHERE name = ?", (rep,)).fetchall()
        ids = ",".join(str(rid) for rid, _name in reps) or "NULL"
        window = (start, end)
        out: dict = {
            "reps": len(reps),
            "stages": con.execute(
                f"SELECT owner_id, stage, count(*) FROM customer WHERE owner_id IN ({ids}) "
                "GROUP BY owner_id, stage"
            ).fetchall(),
            "follow_ups": con.execute(
                f"SELECT rep_id, kind, count(*) FROM follow_up WHERE rep_id IN ({ids}) "
                "AND at >= ? AND at <= ? GROUP BY rep_id, kind",
                window,
            ).fetchall(),
            "deals": con.execute(
                f"SELECT rep_id, count(*), sum(amount_minor) FROM deal WHERE rep_id IN ({ids}) "
                "AND at >= ? AND at <= ? GROUP BY rep_id",
                window,
            ).fetchall(),
            "taken": con.execute(
                f"SELECT to_rep_id, kind, count(*) FROM event WHERE to_rep_id IN ({ids}) "
                "AND kind IN ('claimed', 'assigned') AND at >= ? AND at <= ? "
                "GROUP BY to_rep_id, kind",
                window,
            ).fetchall(),
            "lost": con.execute(
                f"SELECT from_rep_id, kind, count(*) FROM event WHERE from_rep_id IN ({ids}) "
                "AND kind IN ('recycled', 'released') AND at >= ? AND at <= ? "
                "GROUP BY from_rep_id, kind",
                window,
            ).fetchall(),
            "pool": con.execute("SELECT count(*) FROM customer WHERE owner_id IS NULL").fetchone()[
                0
            ],
        }
    finally:
        con.close()
    return {
        "reps": out["reps"],
        "customers": sum(n for *_k, n in out["stages"]),
        "follow_ups": sum(n for *_k, n in out["follow_ups"]),
        "deals": sum(n for _r, n, _a in out["deals"]),
        "recycled_away": sum(n for r, kind, n in out["lost"] if kind == "recycled"),
        "assigned": sum(n for r, kind, n in out["taken"] if kind == "assigned"),
        "pool": out["pool"],
    }


def run_reference_child(kind: str, db: str, rep: str | None) -> int:
    """The child side of a reference run: do the SQL, print its counts as JSON."""
    result = reference_recycle(db) if kind == "recycle" else reference_report(db, rep)
    print(json.dumps(result))
    return 0

"""Locks: a locked customer is never recycled, until unlocked or its --until passes."""

from __future__ import annotations

from conftest import taken, use_rules, utc

# C1 Acme Logistics (alice, negotiating) is idle 58 days at 2026-11-29 09:00 Shanghai.


def test_a_locked_customer_is_not_recycled_by_rules_or_days(book):
    use_rules(book)
    view = book.json("lock", "C1", "--reason", "tender decided in December")
    assert view["locked"] is True and view["locked_until"] is None
    assert view["lock_reason"] == "tender decided in December"
    assert "Acme Logistics" not in taken(book.json("recycle", "--dry-run"))
    assert "Acme Logistics" not in taken(book.json("recycle", "--days", "30"))
    assert book.sql("select owner_id from customer where id = 1") == [(1,)]
    # ... until it is unlocked.
    book("unlock", "C1")
    assert taken(book.json("recycle", "--days", "30")) == {"Acme Logistics": "idle 30+ days"}


def test_lock_and_unlock_are_in_the_history(book):
    book("lock", "C1", "--until", "2026-12-31", "--reason", "tender")
    book("unlock", "C1", "--reason", "tender lost")
    book("lock", "C1", "--reason", "second try")
    book("unlock", "C1")
    events = [(e["kind"], e["reason"]) for e in book.json("history", "C1")][-4:]
    assert events == [
        ("locked", "tender (until 2026-12-31)"),
        ("unlocked", "tender lost"),
        ("locked", "second try"),
        ("unlocked", "lock lifted (was: second try)"),
    ]
    assert book.sql("select locked_at, locked_until, lock_reason from customer where id = 1") == [
        (None, None, None)
    ]
    assert book.sql("select actor, from_rep_id, to_rep_id from event where kind = 'locked'") == [
        ("test", 1, 1),
        ("test", 1, 1),
    ]


def test_a_lock_stops_protecting_at_its_until(book):
    # --until 2026-12-05 is midnight that day in Shanghai.
    book("lock", "C1", "--until", "2026-12-05", "--reason", "tender")
    assert utc(book.sql("select locked_until from customer where id = 1")[0][0]).isoformat() == (
        "2026-12-04T16:00:00+00:00"
    )
    before = book.json("recycle", "--days", "30", "--dry-run", now="2026-12-04T23:59:59")
    assert before["count"] == 1  # only C3
    at = book.json("recycle", "--days", "30", now="2026-12-05T00:00:00")
    assert "Acme Logistics" in taken(at)
    assert book.json("customers", "--pool")[0]["name"] == "Acme Logistics"


def test_customers_shows_the_lock(book):
    book("lock", "C1", "--until", "2026-12-05", "--reason", "tender")
    rows = {c["external_id"]: c for c in book.json("customers")}
    assert rows["C1"]["locked"] is True and rows["C1"]["lock_reason"] == "tender"
    assert rows["C1"]["locked_until"] == "2026-12-04T16:00:00Z"
    assert rows["C2"]["locked"] is False and rows["C2"]["locked_until"] is None
    assert "(locked)" in book("customers").stdout  # under "negotiating" at 80 columns
    expired = {c["external_id"]: c for c in book.json("customers", now="2026-12-06")}
    assert expired["C1"]["locked"] is False
    assert "(locked)" not in book("customers", now="2026-12-06").stdout
    assert "locked" in book("customers", "--csv").stdout.splitlines()[0]


def test_a_lock_does_not_pass_to_the_next_owner(book):
    book("lock", "C1", "--reason", "alice's tender")
    book("release", "C1", now="2026-11-29T10:00:00")
    book("claim", "C1", "--rep", "bob", now="2026-11-29T10:00:00")
    assert book.json("customers", "--rep", "bob")[0]["locked"] is False
    later = book.json("recycle", "--days", "30", "--dry-run", now="2026-12-29T10:00:00")
    assert "Acme Logistics" in taken(later)


def test_relocking_replaces_the_lock(book):
    book("lock", "C1", "--reason", "forever")
    view = book.json("lock", "C1", "--until", "2026-12-05", "--reason", "until the fifth")
    assert view["lock_reason"] == "until the fifth"
    assert view["locked_until"] == "2026-12-04T16:00:00Z"
    assert book.json("recycle", "--days", "30", "--dry-run", now="2026-12-05")["count"] == 2


def test_lock_refusals(book):
    book.fails("lock", "C4", "--reason", "pool customer")  # in the pool
    book.fails("lock", "C1", "--until", "2026-11-01", "--reason", "past")
    book.fails("lock", "C1", "--until", "now", "--reason", "not in the future")
    book.fails("lock", "C1", "--reason", "   ")
    book.fails("lock", "C1", code=2)  # --reason is required
    book.fails("lock", "C99", "--reason", "nobody")
    book.fails("unlock", "C1")  # not locked
    out = book.fails("lock", "C4", "--reason", "x").stderr
    assert "in the pool" in out


def test_lock_human_output(book):
    out = book("lock", "C1", "--until", "2026-12-05", "--reason", "tender").stdout
    assert "locked 'Acme Logistics' (#1) until 2026-12-05" in out
    assert "unlocked 'Acme Logistics' (#1)" in book("unlock", "C1").stdout

"""Claim limits: capacity, the daily claim limit, cooldown, and inactive reps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def rules(tmp_path: Path, monkeypatch) -> Callable[[str], Path]:
    """Write the team's rules file and point SALESPOOL_CONFIG at it."""

    def write(text: str) -> Path:
        path = tmp_path / "salespool.toml"
        path.write_text(text)
        monkeypatch.setenv("SALESPOOL_CONFIG", str(path))
        return path

    return write


def owner_of(cli, external_id: str) -> str | None:
    rows = cli.sql(
        "select r.name from customer c left join rep r on r.id = c.owner_id "
        "where c.external_id = :ext",
        ext=external_id,
    )
    return rows[0][0]


def pool_of(cli, write_csv, n: int) -> list[str]:
    """Add n pool customers P01..Pn and return their external ids."""
    ids = [f"P{i:02d}" for i in range(1, n + 1)]
    rows = "\n".join(f"{ext},Pool Co {ext},2026-01-01" for ext in ids)
    cli("import", str(write_csv(f"external_id,name,created_at\n{rows}\n", name="pool.csv")))
    return ids


# --- capacity ------------------------------------------------------------------------


def test_role_default_capacity_refuses_the_claim_over_it(book, rules, write_csv):
    rules("[claims.capacity]\nrookie = 2\n")
    book("rep", "add", "erin", "--role", "rookie")
    book("claim", "C4", "--rep", "erin")
    book("claim", "C5", "--rep", "erin")
    pool_of(book, write_csv, 1)
    result = book.fails("claim", "P01", "--rep", "erin")
    assert "capacity: erin owns 2 of 2 (rookie default) and cannot take 1 more" in result.stderr
    assert owner_of(book, "P01") is None


def test_own_capacity_overrides_the_role_default(book, rules, write_csv):
    rules("[claims.capacity]\nrookie = 1\n")
    book("rep", "add", "erin", "--role", "rookie", "--capacity", "2")
    book("claim", "C4", "--rep", "erin")
    book("claim", "C5", "--rep", "erin")
    pool_of(book, write_csv, 1)
    assert "erin owns 2 of 2 customers" in book.fails("claim", "P01", "--rep", "erin").stderr
    book("rep", "set", "erin", "--capacity", "3")
    book("claim", "P01", "--rep", "erin")
    assert owner_of(book, "P01") == "erin"


def test_a_role_with_capacity_zero_owns_nothing(book):
    book("rep", "add", "mia", "--role", "manager")  # managers: capacity 0 by default
    result = book.fails("claim", "C4", "--rep", "mia")
    assert "capacity: mia owns 0 of 0 (manager default)" in result.stderr
    assert "capacity: mia owns 0 of 0" in book.fails("assign", "C4", "--to", "mia").stderr


def test_capacity_limits_named_assignment_all_or_nothing(book, rules):
    rules("[claims.capacity]\nrookie = 1\n")
    book("rep", "add", "erin", "--role", "rookie")
    result = book.fails("assign", "C4", "C5", "--to", "erin")
    assert "capacity: erin owns 0 of 1 (rookie default) and cannot take 1 more" in result.stderr
    assert owner_of(book, "C4") is None and owner_of(book, "C5") is None


def test_capacity_stops_pool_assignment_at_the_cap(book, rules, write_csv):
    rules("[claims.capacity]\nrookie = 3\n")
    book("rep", "add", "erin", "--role", "rookie")
    pool_of(book, write_csv, 5)
    result = book.json("assign", "--to", "erin")
    assert result["count"] == 3
    assert book.sql(
        "select count(*) from customer c join rep r on r.id = c.owner_id where r.name = 'erin'"
    ) == [(3,)]
    result = book.fails("assign", "--to", "erin")
    assert "capacity: erin owns 3 of 3 (rookie default)" in result.stderr


# --- daily claim limit ---------------------------------------------------------------


def test_daily_limit_refuses_the_claim_past_it_until_tomorrow(book, rules, write_csv):
    rules("[claims]\ndaily_limit = 2\n")
    pool_of(book, write_csv, 3)
    # 07:00 in Shanghai is still the previous day in UTC: the team's day counts.
    book("claim", "C4", "--rep", "bob", now="2026-11-30T07:00:00")
    book("claim", "C5", "--rep", "bob", now="2026-11-30T08:00:00")
    result = book.fails("claim", "P01", "--rep", "bob", now="2026-11-30T23:59:00")
    assert "daily limit: bob claimed 2 of 2 today" in result.stderr
    book("claim", "P01", "--rep", "alice", now="2026-11-30T23:59:00")  # others are not limited
    book("claim", "P02", "--rep", "bob", now="2026-12-01T00:01:00")
    assert owner_of(book, "P02") == "bob"


def test_daily_limit_counts_claims_not_assignments(book, rules, write_csv):
    rules("[claims]\ndaily_limit = 1\n")
    pool_of(book, write_csv, 3)
    # A manager's assignment is neither limited by nor counted against the daily limit.
    assert book.json("assign", "C4", "C5", "P01", "--to", "bob")["count"] == 3
    book("claim", "P02", "--rep", "bob")
    assert "daily limit: bob claimed 1 of 1" in book.fails("claim", "P03", "--rep", "bob").stderr


def test_daily_limit_zero_means_no_limit(book, rules, write_csv):
    rules("[claims]\ndaily_limit = 0\n")
    for ext in pool_of(book, write_csv, 25):
        book("claim", ext, "--rep", "bob")
    assert book.sql("select count(*) from event where kind = 'claimed'") == [(25,)]


def test_default_daily_limit_is_twenty(book, write_csv, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    ids = pool_of(book, write_csv, 21)
    for ext in ids[:20]:
        book("claim", ext, "--rep", "bob")
    assert "claimed 20 of 20 today" in book.fails("claim", ids[20], "--rep", "bob").stderr


# --- cooldown ------------------------------------------------------------------------


def test_cooldown_after_release_names_the_date(book):
    book("release", "C3")  # bob's; cooldown 30 days by default
    result = book.fails("claim", "C3", "--rep", "bob", now="2026-12-02T09:00:00")
    assert (
        "cooldown: 'Blue River Foods' was released from bob 3 days ago; "
        "bob may take it back after 2026-12-29"
    ) in result.stderr
    assert "cooldown" in book.fails("assign", "C3", "--to", "bob", now="2026-12-02T09:00:00").stderr
    book("claim", "C3", "--rep", "bob", now="2026-12-29T09:01:00")
    assert owner_of(book, "C3") == "bob"


def test_cooldown_after_recycle(book):
    book("recycle", "--days", "100")  # C3 (bob, untouched since March) goes to the pool
    assert owner_of(book, "C3") is None
    result = book.fails("claim", "C3", "--rep", "bob", now="2026-12-01T09:00:00")
    assert "'Blue River Foods' was recycled from bob 2 days ago" in result.stderr
    book("claim", "C3", "--rep", "alice", now="2026-12-01T09:00:00")  # anyone else may
    assert owner_of(book, "C3") == "alice"


def test_cooldown_passes_the_customer_to_another_rep_in_pool_assignment(book):
    book("release", "C3")
    plan = book.json("assign", "--to", "bob", "--to", "alice", "--dry-run")
    owners = {a["name"]: a["owner"] for a in plan["assigned"]}
    assert owners["Blue River Foods"] == "alice"
    result = book.json("assign", "--to", "bob")
    assert "Blue River Foods" not in {a["name"] for a in result["assigned"]}
    assert result["skipped"][0]["name"] == "Blue River Foods"
    assert "cooldown" in result["skipped"][0]["reason"]
    assert owner_of(book, "C3") is None


def test_cooldown_zero_turns_it_off(book, rules):
    rules("[claims]\ncooldown_days = 0\n")
    book("release", "C3")
    book("claim", "C3", "--rep", "bob")
    assert owner_of(book, "C3") == "bob"


# --- reps who may not receive --------------------------------------------------------


def test_inactive_rep_receives_nothing_but_keeps_the_book(book):
    book("rep", "set", "bob", "--inactive")
    result = book.fails("claim", "C4", "--rep", "bob")
    assert "inactive: bob is marked inactive and receives no customers" in result.stderr
    assert "inactive: bob" in book.fails("assign", "C4", "--to", "bob").stderr
    plan = book.json("assign", "--strategy", "least-loaded", "--dry-run")
    assert {a["owner"] for a in plan["assigned"]} == {"alice"}
    assert owner_of(book, "C3") == "bob"  # the book stays
    book("log", "C3", "--rep", "bob", "--kind", "call")
    book("rep", "set", "bob", "--active")
    book("claim", "C4", "--rep", "bob")
    assert owner_of(book, "C4") == "bob"


def test_a_rep_who_left_receives_nothing(book):
    book("rep", "leave", "alice")
    assert "left on" in book.fails("assign", "C4", "--to", "alice").stderr
    plan = book.json("assign", "--strategy", "round-robin", "--dry-run")
    assert {a["owner"] for a in plan["assigned"]} == {"bob"}

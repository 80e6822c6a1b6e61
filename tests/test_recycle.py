"""Recycling: the idleness clock, its boundary, and the trail it leaves."""

from __future__ import annotations


def pool_ids(cli):
    return {c["external_id"] for c in cli.json("pool")}


def test_recycle_moves_idle_customers_to_the_pool(book):
    result = book.json("recycle", "--days", "30")
    assert result["dry_run"] is False and result["count"] == 2
    keys = ("id", "name", "previous_owner", "idle_days", "rule", "reason")
    assert [{k: r[k] for k in keys} for r in result["recycled"]] == [
        {"id": 1, "name": "Acme Logistics", "previous_owner": "alice", "idle_days": 58}
        | {"rule": "idle", "reason": "idle 30+ days"},
        {"id": 3, "name": "Blue River Foods", "previous_owner": "bob", "idle_days": 273}
        | {"rule": "idle", "reason": "idle 30+ days"},
    ]
    assert pool_ids(book) == {"C1", "C3", "C4", "C5"}
    assert book.sql(
        "select customer_id, from_rep_id, reason from event where kind = 'recycled' order by 1"
    ) == [(1, 1, "idle 30+ days"), (3, 2, "idle 30+ days")]


def test_dry_run_changes_nothing(book):
    before = book.snapshot()
    result = book.json("recycle", "--days", "30", "--dry-run")
    assert result["dry_run"] is True and result["count"] == 2
    assert book.snapshot() == before


def test_idle_exactly_n_days_is_recycled_and_a_second_less_is_not(cli, write_csv):
    # Owned since 2026-10-30 09:00 Shanghai; now is 2026-11-29 09:00 Shanghai: 30 days.
    cli(
        "import",
        str(
            write_csv("external_id,name,owner,owned_since\nE1,Edge Co,alice,2026-10-30T09:00:00\n")
        ),
    )
    assert cli.json("recycle", "--days", "30", "--dry-run", now="2026-11-29T08:59:59")["count"] == 0
    assert cli.json("recycle", "--days", "31", "--dry-run")["count"] == 0
    result = cli.json("recycle", "--days", "30")
    assert result["recycled"][0]["idle_days"] == 30


def test_a_customer_handed_over_today_is_never_recycled_today(book):
    # C1's last call was 58 days ago, but bob got it today.
    book("release", "C1")
    book("claim", "C1", "--rep", "bob")
    result = book.json("recycle", "--days", "1")
    assert [r["name"] for r in result["recycled"]] == ["上海华瑞科技有限公司", "Blue River Foods"]
    assert book.json("customers", "--rep", "bob")[0]["idle_days"] == 0
    # ... and it goes the day after if still untouched.
    later = book.json("recycle", "--days", "1", now="2026-11-30T09:00:00")
    assert [r["name"] for r in later["recycled"]] == ["Acme Logistics"]


def test_days_are_counted_in_the_team_time_zone(cli, write_csv):
    """Shanghai: a call logged '2026-10-30' was at 16:00 UTC the day before."""
    cli(
        "import",
        str(write_csv("external_id,name,owner,created_at\nS1,Shanghai Co,alice,2026-01-01\n")),
        now="2026-10-01T09:00:00",
    )
    cli("log", "S1", "--rep", "alice", "--kind", "call", "--at", "2026-10-30")
    # 2026-11-29 00:00 Shanghai is exactly 30 days after the call.
    assert cli.json("recycle", "--days", "30", "--dry-run", now="2026-11-28T23:59")["count"] == 0
    assert cli.json("recycle", "--days", "30", "--dry-run", now="2026-11-29T00:00")["count"] == 1
    # The same wall-clock times read as UTC are 8 hours later.
    assert (
        cli.json("recycle", "--days", "30", "--dry-run", now="2026-11-28T16:00:00Z")["count"] == 1
    )


def test_recycling_twice_recycles_once(book):
    assert book.json("recycle", "--days", "30")["count"] == 2
    assert book.json("recycle", "--days", "30")["count"] == 0
    assert book.sql("select count(*) from event where kind = 'recycled'") == [(2,)]


def test_days_must_be_at_least_one(book):
    book.fails("recycle", "--days", "0", code=2)


def test_quiet_prints_nothing_for_cron(book):
    result = book("recycle", "--days", "30", "--quiet")
    assert result.stdout == "" and result.stderr == ""
    assert pool_ids(book) == {"C1", "C3", "C4", "C5"}


def test_human_output_lists_what_went(book):
    out = book("recycle", "--days", "30").stdout
    assert "Acme Logistics" in out and "recycled 2 customers idle 30+ days" in out


def test_people_see_the_first_hundred_recycled_and_scripts_every_one(cli, write_csv):
    rows = "".join(f"B{i},Bulk {i:03d},alice,2026-01-05T09:00:00\n" for i in range(1, 103))
    cli("import", str(write_csv("external_id,name,owner,owned_since\n" + rows)))
    before = cli.snapshot()
    everyone = cli.json("recycle", "--days", "30", "--dry-run")
    assert everyone["count"] == 102 and len(everyone["recycled"]) == 102
    out = cli("recycle", "--days", "30").stdout
    assert "Bulk 100" in out and "Bulk 101" not in out
    assert "... and 2 more (--json lists every one)" in out
    assert "recycled 102 customers" in out
    assert cli.snapshot() != before
    assert cli.sql("select count(*) from customer where owner_id is null") == [(102,)]

"""`due`: who the rules will recycle in the next N days, when, and by which rule."""

from __future__ import annotations

from conftest import taken, use_rules

# At 2026-11-29 09:00 Shanghai, with the default rules (prospecting 15, negotiating 30,
# won 60, unconverted 90, deal exemption 30):
DUE = """external_id,name,owner,stage,owned_since,last_contact_at
D1,Due Soon,alice,prospecting,2026-11-20T09:00:00,
D2,Due Later,bob,negotiating,2026-11-01T09:00:00,2026-11-10T09:00:00
D3,Overdue,alice,prospecting,2026-10-01,
D4,Never Bought,bob,negotiating,2026-09-05T09:00:00,2026-11-28T09:00:00
"""
# D1: idle 15 days at 2026-12-05 09:00 (in 6 days)
# D2: idle 30 days at 2026-12-10 09:00 (in 11 days)
# D3: recyclable already
# D4: owned 90 days without a deal at 2026-12-04 09:00 (in 5 days), though called yesterday


def setup(cli, write_csv, text: str = DUE, **rules: int):
    cli("import", str(write_csv(text)))
    use_rules(cli, **rules)


def rows(cli, *args: str, now: str | None = None) -> list[tuple]:
    return [
        (d["name"], d["due_date"], d["days_left"], d["rule"])
        for d in cli.json("due", *args, now=now)
    ]


def test_due_lists_date_days_and_rule_soonest_first(cli, write_csv):
    setup(cli, write_csv)
    due = cli.json("due")
    assert [(d["name"], d["due_date"], d["days_left"], d["rule"], d["reason"]) for d in due] == [
        ("Overdue", "2026-11-29", 0, "idle", "idle 15+ days (stage prospecting)"),
        ("Never Bought", "2026-12-04", 5, "unconverted", "unconverted: owned 90+ days, no deal"),
        ("Due Soon", "2026-12-05", 6, "idle", "idle 15+ days (stage prospecting)"),
    ]
    assert due[0]["due_at"] == "2026-11-29T01:00:00Z"  # now: the next run takes it
    assert due[2]["due_at"] == "2026-12-05T01:00:00Z"
    assert due[2]["owner"] == "alice" and due[2]["idle_days"] == 9
    assert [d[0] for d in rows(cli, "--within", "11")][-1] == "Due Later"


def test_due_exactly_at_the_boundary_and_recycle_agrees(cli, write_csv):
    setup(cli, write_csv)
    assert "Due Soon" in [r[0] for r in rows(cli, "--within", "6")]
    assert "Due Soon" not in [r[0] for r in rows(cli, "--within", "6", now="2026-11-29T08:59:59")]
    assert "Due Soon" not in [r[0] for r in rows(cli, "--within", "5")]
    # The date is when recycle takes it, to the second.
    before = cli.json("recycle", "--dry-run", now="2026-12-05T08:59:59")
    assert "Due Soon" not in taken(before)
    assert "Due Soon" in taken(cli.json("recycle", now="2026-12-05T09:00:00"))


def test_due_date_is_in_the_team_time_zone(cli, write_csv):
    # Owned since 01:00 Shanghai on 20 November: due 01:00 on 5 December there,
    # which is still 4 December in UTC.
    setup(
        cli,
        write_csv,
        "external_id,name,owner,stage,owned_since\nZ1,Early Co,alice,prospecting,"
        "2026-11-20T01:00:00\n",
    )
    (item,) = cli.json("due")
    assert item["due_at"] == "2026-12-04T17:00:00Z" and item["due_date"] == "2026-12-05"
    assert item["days_left"] == 5


def test_a_recent_deal_postpones_the_date_to_the_end_of_the_exemption(cli, write_csv):
    setup(
        cli,
        write_csv,
        "external_id,name,owner,stage,created_at\nE1,Recent Buyer,alice,won,2026-01-01\n",
        stage_days__won=5,
        deal_exempt_days=30,
    )
    cli("deal", "E1", "--amount", "100", "--at", "2026-11-19T09:00:00")
    # Idle 5 days on 24 November, but the deal protects it until 19 December 09:00.
    assert rows(cli, "--within", "20") == [("Recent Buyer", "2026-12-19", 20, "idle")]
    assert rows(cli, "--within", "19") == []
    assert cli.json("recycle", "--dry-run", now="2026-12-19T08:59:59")["count"] == 0
    assert cli.json("recycle", "--dry-run", now="2026-12-19T09:00:00")["count"] == 1


def test_a_lock_postpones_or_removes_the_date(cli, write_csv):
    setup(cli, write_csv)
    cli("lock", "D1", "--until", "2026-12-10", "--reason", "tender")
    assert ("Due Soon", "2026-12-10", 10, "idle") in rows(cli, "--within", "11")
    assert "Due Soon" not in [r[0] for r in rows(cli, "--within", "10", now="2026-11-29T09:01")]
    cli("lock", "D1", "--reason", "no end")
    assert "Due Soon" not in [r[0] for r in rows(cli, "--within", "3650")]


def test_due_for_one_rep(cli, write_csv):
    setup(cli, write_csv)
    assert [r[0] for r in rows(cli, "--rep", "bob", "--within", "30")] == [
        "Never Bought",
        "Due Later",
    ]
    cli.fails("due", "--rep", "nobody")
    cli.fails("due", "--within", "-1", code=2)


def test_due_csv_and_table(cli, write_csv):
    setup(cli, write_csv)
    lines = cli("due", "--csv").stdout.splitlines()
    assert lines[0].startswith("id,name,owner,stage,level,idle_days,due_at,due_date,days_left")
    assert len(lines) == 4
    table = cli("due").stdout
    assert "Due within 7 days" in table and "2026-12-05" in table
    assert "nothing due within 0 days" in cli("due", "--within", "0", "--rep", "bob").stdout


def test_recycle_warn_days_adds_what_goes_next(cli, write_csv):
    setup(cli, write_csv)
    dry = cli.json("recycle", "--dry-run", "--warn-days", "7")
    assert [r["name"] for r in dry["recycled"]] == ["Overdue"]
    assert [d["name"] for d in dry["due"]] == ["Never Bought", "Due Soon"]
    done = cli.json("recycle", "--warn-days", "7")
    assert done["count"] == 1 and done["due"] == dry["due"]
    assert cli.json("recycle", "--dry-run")["due"] is None  # only with --warn-days
    out = cli("recycle", "--warn-days", "11").stdout
    assert "Due within 11 days" in out and "Due Later" in out
    assert cli("recycle", "--warn-days", "7", "--quiet").stdout == ""

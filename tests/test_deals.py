"""`deals` lists deals with their ids; `deal void` marks one void, and it counts nowhere."""

from __future__ import annotations

import json

import pytest

BOOK = """external_id,name,owner,stage,created_at,owned_since
C1,Acme Logistics,alice,negotiating,2026-01-10,2026-01-10
C2,void,bob,prospecting,2026-01-10,2026-01-10
C3,Pool Lead,,prospecting,2026-01-10,
"""


@pytest.fixture
def sold(cli, write_csv):
    """alice sold C1 twice in November (the second by mistake), bob sold 'void' once."""
    cli("import", str(write_csv(BOOK)), now="2026-10-01T09:00:00")
    cli("deal", "C1", "--amount", "1000.00", now="2026-11-05T10:00:00")
    cli("deal", "C1", "--amount", "500.00", "--channel", "online", now="2026-11-06T10:00:00")
    cli("deal", "#2", "--amount", "70.00", now="2026-11-07T10:00:00")
    return cli


def test_the_customer_form_of_deal_still_works(sold):
    assert sold.sql("select id, customer_id, amount_minor from deal order by id") == [
        (1, 1, 100000),
        (2, 1, 50000),
        (3, 2, 7000),
    ]
    view = sold.json("deal", "C1", "--amount", "1", now="2026-11-08T10:00:00")
    assert view["deal"]["amount"] == "1.00" and view["external_id"] == "C1"
    assert sold.json("deal", "record", "void", "--amount", "2")["deal"]["rep"] == "bob"


def test_deals_lists_with_ids_filters_and_json_keys(sold):
    rows = sold.json("deals")
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0] == {
        "id": 1,
        "customer_id": 1,
        "customer": "Acme Logistics",
        "rep": "alice",
        "amount": "1000.00",
        "channel": "direct",
        "at": "2026-11-05T02:00:00Z",
        "voided": False,
        "voided_at": None,
        "void_reason": None,
        "external_id": None,
    }
    assert [r["id"] for r in sold.json("deals", "C1")] == [1, 2]
    assert [r["id"] for r in sold.json("deals", "--rep", "bob")] == [3]
    assert sold.json("deals", "--period", "2026-10") == []
    assert len(sold("deals", "--csv").stdout.strip().splitlines()) == 4
    assert "Acme Logistics" in sold("deals").stdout
    assert "--period" in sold.fails("deals", "--period", "2026-13").stderr


def test_void_marks_the_deal_and_writes_the_trail(sold):
    view = sold.json("deal", "void", "2", "--reason", "entered twice", now="2026-11-09T10:00:00")
    assert (view["voided"], view["void_reason"]) == (True, "entered twice")
    assert view["voided_at"] == "2026-11-09T02:00:00Z"
    assert sold.sql("select count(*) from deal") == [(3,)]
    event = sold.json("history", "C1")[-1]
    assert event["kind"] == "deal_voided"
    assert event["detail"] == {
        "deal_id": 2,
        "amount": "500.00",
        "channel": "online",
        "at": "2026-11-06T02:00:00Z",
        "rep": "alice",
        "reason": "entered twice",
    }
    [(detail,)] = sold.sql("select detail from event where kind = 'deal_voided'")
    assert json.loads(detail)["deal_id"] == 2
    # Stage and last contact stay as the deal left them.
    assert sold.json("history", "C1")[-2]["to_stage"] == "won"
    [customer] = [c for c in sold.json("customers") if c["id"] == 1]
    assert customer["stage"] == "won"
    assert customer["last_contact_at"] == "2026-11-06T02:00:00Z"


def test_a_void_deal_counts_nowhere(sold):
    sold("deal", "void", "#2", "--reason", "entered twice", now="2026-11-09T10:00:00")
    now = "2026-11-10T10:00:00"
    paid = {r["rep"]: r for r in sold.json("commission", "--period", "2026-11", now=now)["reps"]}
    assert (paid["alice"]["deals"], paid["alice"]["amount"]) == (1, "1000.00")
    report = {r["rep"]: r for r in sold.json("report", now=now)["reps"]}
    assert (report["alice"]["deals"], report["alice"]["deal_amount"]) == (1, "1000.00")
    exported = sold("export", "deals", "--format", "json").stdout.splitlines()
    assert [json.loads(line)["void_reason"] for line in exported] == [None, "entered twice", None]


def test_a_void_deal_no_longer_exempts(cli, write_csv):
    # The stage a void deal moved stays (the trail shows the void), so what the void
    # takes away from the rules here is the recent-deal exemption.
    cli.config = write_csv(
        "[recycle]\nunconverted_days = 90\ndeal_exempt_days = 30\n[recycle.stage_days]\nwon = 5\n",
        name="salespool.toml",
    )
    cli("import", str(write_csv(BOOK)), now="2026-10-01T09:00:00")
    cli("deal", "C1", "--amount", "10", now="2026-11-25T09:00:00")
    before = cli.json("recycle", "--dry-run", now="2026-12-01T09:00:00")["recycled"]
    assert "Acme Logistics" not in {r["name"] for r in before}
    assert "Acme Logistics" not in {
        d["name"] for d in cli.json("due", "--within", "5", now="2026-11-26T09:00:00")
    }
    cli("deal", "void", "1", "--reason", "test entry", now="2026-11-26T09:00:00")
    due = {d["name"] for d in cli.json("due", "--within", "5", now="2026-11-26T09:00:00")}
    assert "Acme Logistics" in due
    result = cli.json("recycle", "--dry-run", now="2026-12-01T09:00:00")
    taken = {r["name"]: r["rule"] for r in result["recycled"]}
    assert "Acme Logistics" in taken  # no exemption left


def test_void_refusals(sold):
    sold("deal", "void", "1", "--reason", "wrong customer")
    result = sold.fails("deal", "void", "1", "--reason", "again")
    assert "deal #1 is already void since" in result.stderr
    assert sold.fails("deal", "void", "99", "--reason", "x").stderr == (
        "error: no deal #99 (see `salespool deals`)\n"
    )
    assert "not a deal id" in sold.fails("deal", "void", "abc", "--reason", "x").stderr
    assert "--reason" in sold.fails("deal", "void", "2", "--reason", "  ").stderr
    assert "--reason" in sold.fails("deal", "void", "2", code=2).stderr


def test_help_shows_both_forms(sold):
    shown = sold("deal", "--help").stdout
    assert "deal CUSTOMER --amount X" in shown and "deal void DEAL_ID --reason T" in shown
    assert "--amount" in sold("deal", "C1", "--help").stdout
    assert "--reason" in sold("deal", "void", "--help").stdout
    assert "--period" in sold("deals", "--help").stdout


def test_a_void_deal_is_no_milestone_nor_conversion_for_a_rookie(cli, write_csv):
    hired = "2026-09-01T09:00"
    cli("import", str(write_csv("external_id,name\nP1,Pool Lead\n")), now="2026-08-01T09:00")
    cli("rep", "add", "carol", "--role", "coach", now=hired)
    cli("rep", "add", "dave", "--role", "rookie", "--coach", "carol", "--hired", hired, now=hired)
    cli("claim", "P1", "--rep", "dave", now="2026-09-02T09:00")
    cli("deal", "P1", "--amount", "100", now="2026-09-05T09:00")
    cli("deal", "void", "1", "--reason", "test entry", now="2026-09-06T09:00")
    [dave] = cli.json("coach", now="2026-09-10T09:00")["rookies"]
    assert (dave["deals"], dave["deal_amount"], dave["converted"]) == (0, "0.00", 0)
    assert dave["first_won_days"] is None

"""`commission --period`: deals credited to the owner at the time, exact rates, payroll CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from conftest import Cli

BOOK = """external_id,name,owner,stage
C1,Acme Logistics,alice,negotiating
C2,Blue River Foods,bob,won
C3,Pool Lead,,prospecting
"""


def rules(cli: Cli, write_csv, direct: str = "0.05", online: str = "0.03") -> None:
    text = f'[commission]\ndirect = "{direct}"\nonline = "{online}"\n'
    cli.config = write_csv(text, name="salespool.toml")


@pytest.fixture
def team(cli: Cli, write_csv) -> Cli:
    """alice owns C1, bob owns C2, C3 is in the pool; imported on 1 October."""
    rules(cli, write_csv)
    cli("import", str(write_csv(BOOK)), now="2026-10-01T09:00:00")
    return cli


def by_rep(report: dict) -> dict[str, dict]:
    return {r["rep"]: r for r in report["reps"]}


def test_a_customer_that_changed_hands_credits_each_owner_including_online(team):
    team("deal", "C1", "--amount", "1000.00", now="2026-11-05T10:00:00")
    team("release", "C1", now="2026-11-10T10:00:00")
    team("claim", "C1", "--rep", "bob", now="2026-11-12T10:00:00")
    team("deal", "C1", "--amount", "2000.00", "--channel", "online", now="2026-11-20T10:00:00")
    report = team.json("commission", "--period", "2026-11")
    reps = by_rep(report)
    assert reps["alice"] == {
        **reps["alice"],
        "deals": 1,
        "amount": "1000.00",
        "commission": "50.00",
        "direct_deals": 1,
        "online_deals": 0,
    }
    # The online deal pays the rep who owned the customer: bob, at the online rate.
    assert reps["bob"] == {
        **reps["bob"],
        "deals": 1,
        "amount": "2000.00",
        "commission": "60.00",
        "online_amount": "2000.00",
        "online_commission": "60.00",
        "direct_commission": "0.00",
    }
    assert report["totals"]["commission"] == "110.00"
    assert report["rates"] == {"direct": "0.05", "online": "0.03"}
    assert report["period"] == "2026-11"


def test_a_deal_dated_before_the_owner_got_the_customer_is_refused(team):
    team("recycle", "--days", "1", now="2026-11-10T10:00:00")  # C1 and C2 go to the pool
    team("claim", "C1", "--rep", "bob", now="2026-11-12T10:00:00")
    # A deal closed on 3 November, when alice owned C1, is not bob's to record.
    result = team.fails(
        "deal", "C1", "--amount", "400.00", "--at", "2026-11-03T15:00", now="2026-11-13T10:00"
    )
    assert "before bob got 'Acme Logistics' (owner since 2026-11-12 10:00)" in result.stderr
    team("deal", "C1", "--amount", "100.00", now="2026-11-14T10:00:00")
    reps = by_rep(team.json("commission", "--period", "2026-11"))
    assert (reps["bob"]["deals"], reps["bob"]["commission"]) == (1, "5.00")
    assert reps.get("alice", {}).get("deals", 0) == 0


def test_each_deal_is_rounded_half_up_to_the_cent_then_summed(cli, write_csv):
    rules(cli, write_csv, direct="0.05", online="0.0375")
    cli("import", str(write_csv(BOOK)), now="2026-10-01T09:00:00")
    # 0.10 × 0.05 = 0.005: half up gives 0.01 per deal (half-even would give 0.00), so two
    # deals pay 0.02, where rounding the rep's total (0.010) would pay 0.01.
    cli("deal", "C1", "--amount", "0.10", now="2026-11-02T10:00:00")
    cli("deal", "C1", "--amount", "0.10", now="2026-11-03T10:00:00")
    # 0.20 × 0.0375 = 0.0075 -> 0.01; 99,999,999.99 × 0.0375 = 3,749,999.999625 -> 3,750,000.00
    cli("deal", "C2", "--amount", "0.20", "--channel", "online", now="2026-11-04T10:00:00")
    cli("deal", "C2", "--amount", "99999999.99", "--channel", "online", now="2026-11-05T10:00")
    reps = by_rep(cli.json("commission", "--period", "2026-11"))
    assert reps["alice"]["commission"] == "0.02"
    assert reps["bob"]["online_commission"] == "3750000.01"
    assert reps["bob"]["amount"] == "100000000.19"
    expected = sum(
        (
            (Decimal(a) * Decimal("0.0375")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
            for a in ("0.20", "99999999.99")
        ),
        Decimal(0),
    )
    assert Decimal(reps["bob"]["commission"]) == expected


def test_the_month_is_read_in_the_team_time_zone(team):
    team("deal", "C1", "--amount", "1.00", "--at", "2026-10-31T23:59:59", now="2026-12-02")
    team("deal", "C1", "--amount", "10.00", "--at", "2026-11-01T00:00:00", now="2026-12-02")
    team("deal", "C1", "--amount", "100.00", "--at", "2026-11-30T23:59:59", now="2026-12-02")
    team("deal", "C1", "--amount", "1000.00", "--at", "2026-12-01T00:00:00", now="2026-12-02")
    assert by_rep(team.json("commission", "--period", "2026-11"))["alice"]["amount"] == "110.00"
    assert by_rep(team.json("commission", "--period", "2026-10"))["alice"]["amount"] == "1.00"
    report = team.json("commission", "--period", "2026-11")
    assert (report["start"], report["end"]) == ("2026-10-31T16:00:00Z", "2026-11-30T16:00:00Z")


def test_csv_is_one_row_per_rep_for_payroll(team):
    team("deal", "C1", "--amount", "1000.00", now="2026-11-05T10:00:00")
    team("deal", "C2", "--amount", "300.00", "--channel", "online", now="2026-11-06T10:00:00")
    rows = list(
        csv.DictReader(io.StringIO(team("commission", "--period", "2026-11", "--csv").stdout))
    )
    assert [r["rep"] for r in rows] == ["alice", "bob"]
    assert list(rows[0])[:4] == ["rep", "deals", "amount", "commission"]
    assert {"direct_amount", "online_amount", "direct_commission", "online_commission"} <= set(
        rows[0]
    )
    assert (rows[1]["online_amount"], rows[1]["commission"]) == ("300.00", "9.00")


def test_for_people_and_an_empty_month(team):
    team("deal", "C1", "--amount", "1000.00", now="2026-11-05T10:00:00")
    team.runner.env = {"NO_COLOR": "1", "COLUMNS": "80"}
    out = team("commission", "--period", "2026-11").stdout
    assert "Commission 2026-11" in out and "50.00" in out and "half up" in out
    assert "\x1b[" not in out and max(len(line) for line in out.splitlines()) <= 80
    assert "No deals in 2026-12" in team("commission", "--period", "2026-12").stdout
    assert team.json("commission", "--period", "2026-12")["reps"] == []


def test_bad_periods_are_refused(team):
    for bad in ("2026-13", "2026-1", "november", "2026-11-01"):
        assert "is not a month" in team.fails("commission", "--period", bad).stderr
    team.fails("commission", code=2)  # --period is required

"""`commission.coach_override`: a coach earns a share of their rookies' deals, on its own line
in `commission` and in the coach scorecard; off (0) by default."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import Cli

BOOK = """external_id,name,owner,stage
C1,Acme Logistics,dave,negotiating
C2,Blue River Foods,erin,negotiating
C3,Veteran Account,carol,won
C4,Old Customer,dave,won
"""


def rules(cli: Cli, write_csv, override: str | None) -> None:
    text = '[commission]\ndirect = "0.05"\nonline = "0.03"\n'
    if override is not None:
        text += f'coach_override = "{override}"\n'
    cli.config = write_csv(text, name="salespool.toml")


@pytest.fixture
def team(cli: Cli, write_csv) -> Cli:
    """Coach carol with rookies dave (hired 1 October) and erin (hired 1 November)."""
    cli("rep", "add", "carol", "--role", "coach", now="2026-09-01T09:00:00")
    for name, hired in (("dave", "2026-10-01T09:00"), ("erin", "2026-11-01T09:00")):
        cli("rep", "add", name, "--role", "rookie", "--coach", "carol", "--hired", hired, now=hired)
    cli("import", str(write_csv(BOOK)), now="2026-11-01T10:00:00")
    cli("deal", "C1", "--amount", "1000.00", now="2026-11-05T10:00:00")
    cli("deal", "C4", "--amount", "333.33", "--channel", "online", now="2026-11-06T10:00:00")
    cli("deal", "C2", "--amount", "2000.00", now="2026-11-07T10:00:00")
    cli("deal", "C3", "--amount", "500.00", now="2026-11-08T10:00:00")
    return cli


def by_rep(report: dict) -> dict[str, dict]:
    return {r["rep"]: r for r in report["reps"]}


def test_off_by_default_nothing_changes(team, write_csv):
    rules(team, write_csv, None)
    report = team.json("commission", "--period", "2026-11")
    assert report["coach_override"] == "0"
    assert report["coach_overrides"] == []
    carol = by_rep(report)["carol"]
    assert (carol["commission"], carol["coach_override"], carol["payout"]) == (
        "25.00",
        "0.00",
        "25.00",
    )
    assert "override" not in team("commission", "--period", "2026-11").stdout
    shown = team.json("config", "show")["rules"]["commission.coach_override"]
    assert (shown["value"], shown["source"]) == ("0", "default")


def test_the_coach_earns_a_share_of_each_rookie_deal_on_its_own_line(team, write_csv):
    rules(team, write_csv, "0.015")
    report = team.json("commission", "--period", "2026-11")
    # Each deal's override rounded half up to the cent: 15.00 + 5.00 (333.33 x 0.015 = 4.99995).
    assert report["coach_overrides"] == [
        {
            "coach": "carol",
            "rookie": "dave",
            "deals": 2,
            "amount": "1333.33",
            "override": "20.00",
            "kind": "coach override",
        },
        {
            "coach": "carol",
            "rookie": "erin",
            "deals": 1,
            "amount": "2000.00",
            "override": "30.00",
            "kind": "coach override",
        },
    ]
    reps = by_rep(report)
    # carol's own deal pays her commission; the override comes on top, in her payout.
    assert (reps["carol"]["commission"], reps["carol"]["coach_override"]) == ("25.00", "50.00")
    assert reps["carol"]["payout"] == "75.00"
    # The rookies keep their whole commission: the override is not taken from them.
    assert (reps["dave"]["commission"], reps["dave"]["coach_override"]) == ("60.00", "0.00")
    assert report["totals"]["coach_override"] == "50.00"
    assert report["totals"]["payout"] == "235.00"  # 185.00 commission + 50.00
    team.runner.env = {"NO_COLOR": "1", "COLUMNS": "100"}
    out = team("commission", "--period", "2026-11").stdout
    assert "Coach override 0.015" in out
    line = next(x for x in out.splitlines() if "coach override" in x and "erin" in x)
    assert "carol" in line and "30.00" in line
    rows = list(
        csv.DictReader(io.StringIO(team("commission", "--period", "2026-11", "--csv").stdout))
    )
    carol = next(r for r in rows if r["rep"] == "carol")
    assert (carol["coach_override"], carol["payout"]) == ("50.00", "75.00")


def test_a_coach_without_deals_of_their_own_is_paid_and_only_rookie_time_counts(team, write_csv):
    rules(team, write_csv, "0.01")
    team("rep", "add", "vic", "--role", "coach", now="2026-11-09T09:00")
    team(
        "rep",
        "add",
        "finn",
        "--coach",
        "vic",
        "--hired",
        "2026-11-20T09:00",
        now="2026-11-20T09:00",
    )
    team("customer", "edit", "C3", "--level", "A", now="2026-11-20T10:00")
    team("release", "C3", now="2026-11-20T11:00")
    team("claim", "C3", "--rep", "finn", now="2026-11-21T09:00")
    team("deal", "C3", "--amount", "800.00", now="2026-11-22T09:00")
    # vic has no deals of his own: a line of his own all the same.
    report = team.json("commission", "--period", "2026-11")
    reps = by_rep(report)
    assert reps["vic"] == {
        **reps["vic"],
        "deals": 0,
        "commission": "0.00",
        "coach_override": "8.00",
    }
    assert reps["vic"]["payout"] == "8.00"
    lines = [(o["coach"], o["rookie"], o["override"]) for o in report["coach_overrides"]]
    assert ("vic", "finn", "8.00") in lines
    # Deals of a month are that month's: December has none.
    assert team.json("commission", "--period", "2026-12")["coach_overrides"] == []


def test_the_coach_scorecard_shows_the_month_override(team, write_csv):
    rules(team, write_csv, "0.015")
    report = team.json("coach", now="2026-11-29T09:00")
    assert report["override_period"] == "2026-11"
    assert report["coaches"][0]["coach"] == "carol"
    assert report["coaches"][0]["coach_override"] == "50.00"
    # Up to the report's moment: as of 6 November only dave's first deal was closed.
    early = team.json("coach", "--as-of", "2026-11-05T12:00", now="2026-11-29T09:00")
    assert early["coaches"][0]["coach_override"] == "15.00"
    october = team.json("coach", "--period", "2026-10", now="2026-11-29T09:00")
    assert (october["override_period"], october["coaches"][0]["coach_override"]) == (
        "2026-10",
        "0.00",
    )
    team.runner.env = {"NO_COLOR": "1", "COLUMNS": "100"}
    out = team("coach", now="2026-11-29T09:00").stdout
    assert "override 2026-11" in out and "50.00" in out


def test_bad_rule_and_bad_period_are_refused(team, write_csv):
    team.config = write_csv('[commission]\ncoach_override = "1.5"\n', name="salespool.toml")
    result = team.fails("commission", "--period", "2026-11")
    assert "commission.coach_override" in result.stderr and "salespool.toml:2" in result.stderr
    rules(team, write_csv, "0.01")
    result = team.fails("coach", "--period", "2026-13")
    assert result.stderr.startswith("error: --period: '2026-13' is not a month")

"""`coach`: rookies' milestones against the targets, their status, and the coach scorecard."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import Cli

BOOK = """external_id,name,owner,stage
V1,Veteran Account,vera,won
P1,Pool Lead One,,prospecting
P2,Pool Lead Two,,prospecting
P3,Pool Talks,,negotiating
P4,Pool Four,,prospecting
"""
HIRED = "2026-09-01T09:00"  # day 7 ends 2026-09-09T09:00, day 14 at 09-16, day 30 at 10-02


@pytest.fixture
def team(cli: Cli, write_csv) -> Cli:
    """Coach carol with rookie dave (hired 1 September); coach vera; a few pool leads."""
    text = (
        "[coaching]\nfirst_follow_up_days = 7\nfirst_negotiation_days = 14\nfirst_won_days = 30\n"
    )
    cli.config = write_csv(text, name="salespool.toml")
    cli("import", str(write_csv(BOOK)), now="2026-08-01T09:00:00")
    cli("rep", "add", "carol", "--role", "coach", now="2026-08-01T09:00:00")
    cli("rep", "add", "dave", "--role", "rookie", "--coach", "carol", "--hired", HIRED, now=HIRED)
    return cli


def rookie(cli: Cli, name: str, *args: str, now: str) -> dict:
    report = cli.json("coach", *args, now=now)
    return next(r for r in report["rookies"] if r["rep"] == name)


def act(cli: Cli, *args: str, at: str) -> None:
    cli(*args, now=at)


def test_no_follow_up_is_on_track_through_day_7_and_behind_from_day_8(team):
    dave = rookie(team, "dave", now="2026-09-09T08:59")
    assert (dave["days_since_hire"], dave["status"], dave["missed"]) == (7, "on track", [])
    dave = rookie(team, "dave", now="2026-09-09T09:00")
    assert (dave["days_since_hire"], dave["status"]) == (8, "behind")
    assert dave["missed"] == ["first follow-up"]


def test_a_first_follow_up_on_day_7_meets_the_target(team):
    act(team, "claim", "P1", "--rep", "dave", at="2026-09-02T09:00")
    act(team, "log", "P1", "--rep", "dave", "--kind", "call", at="2026-09-09T08:59")
    dave = rookie(team, "dave", now="2026-09-12T09:00")
    assert (dave["first_follow_up_days"], dave["status"]) == (7, "on track")
    assert dave["first_follow_up"] == "2026-09-09T00:59:00Z"


def test_a_late_first_follow_up_counts_as_missed(team):
    act(team, "claim", "P1", "--rep", "dave", at="2026-09-02T09:00")
    act(team, "log", "P1", "--rep", "dave", "--kind", "call", at="2026-09-09T09:00")
    dave = rookie(team, "dave", now="2026-09-12T09:00")
    assert (dave["first_follow_up_days"], dave["status"]) == (8, "behind")
    assert dave["missed"] == ["first follow-up"]


def test_first_negotiation_from_a_stage_change_or_a_call_on_a_negotiating_customer(team):
    act(team, "claim", "P1", "--rep", "dave", at="2026-09-02T09:00")
    act(team, "log", "P1", "--rep", "dave", "--kind", "call", at="2026-09-03T09:00")
    act(
        team,
        "log",
        "P1",
        "--rep",
        "dave",
        "--kind",
        "visit",
        "--stage",
        "商务谈判",
        at="2026-09-16T08:00",
    )
    dave = rookie(team, "dave", now="2026-09-20T09:00")
    assert (dave["first_negotiation_days"], dave["status"]) == (14, "on track")
    # A rookie who takes a customer already in talks and calls it negotiates that day.
    team("rep", "add", "erin", "--role", "rookie", "--coach", "carol", "--hired", HIRED, now=HIRED)
    act(team, "claim", "P3", "--rep", "erin", at="2026-09-02T09:00")
    act(team, "log", "P3", "--rep", "erin", "--kind", "call", at="2026-09-03T10:00")
    erin = rookie(team, "erin", now="2026-09-20T09:00")
    assert erin["first_negotiation_days"] == 2
    assert erin["first_negotiation"] == "2026-09-03T02:00:00Z"


def test_no_negotiation_by_day_14_is_behind(team):
    act(team, "claim", "P1", "--rep", "dave", at="2026-09-02T09:00")
    act(team, "log", "P1", "--rep", "dave", "--kind", "call", at="2026-09-03T09:00")
    assert rookie(team, "dave", now="2026-09-16T08:59")["status"] == "on track"
    dave = rookie(team, "dave", now="2026-09-16T09:00")
    assert (dave["status"], dave["missed"]) == ("behind", ["first negotiation"])


def test_a_won_deal_by_day_30_qualifies_and_on_day_31_does_not(team):
    team("rep", "add", "erin", "--role", "rookie", "--coach", "carol", "--hired", HIRED, now=HIRED)
    for rep, lead in (("dave", "P1"), ("erin", "P2")):
        act(team, "claim", lead, "--rep", rep, at="2026-09-02T09:00")
        act(
            team,
            "log",
            lead,
            "--rep",
            rep,
            "--kind",
            "call",
            "--stage",
            "negotiating",
            at="2026-09-03T09:00",
        )
    act(team, "deal", "P1", "--amount", "5000", at="2026-10-02T08:59")  # day 30
    act(team, "deal", "P2", "--amount", "7000.50", at="2026-10-02T09:00")  # day 31
    report = team.json("coach", now="2026-10-10T09:00")
    dave, erin = report["rookies"]
    assert (dave["rep"], dave["first_won_days"], dave["status"]) == ("dave", 30, "qualified")
    assert (erin["rep"], erin["first_won_days"], erin["status"]) == ("erin", 31, "behind")
    assert erin["missed"] == ["first won deal"]
    assert (erin["deals"], erin["deal_amount"]) == (1, "7000.50")
    assert report["coaches"] == [
        {
            "coach": "carol",
            "rookies": 2,
            "qualified": 1,
            "behind": 1,
            "on_track": 0,
            "avg_days_to_first_deal": 30.5,
            "coach_override": "0.00",  # commission.coach_override is off by default
        }
    ]
    out = team("coach", now="2026-10-10T09:00").stdout
    assert "dave is qualified: salespool rep set dave --role rep" in out
    assert "erin is behind: missed first won deal" in out
    team("rep", "set", "dave", "--role", "rep", now="2026-10-10T09:00")  # promoted
    assert "rep set dave" not in team("coach", now="2026-10-10T09:00").stdout


def test_pool_customers_taken_and_converted(team):
    act(team, "claim", "P1", "--rep", "dave", at="2026-09-02T09:00")
    act(team, "assign", "P2", "--to", "dave", at="2026-09-02T10:00")
    act(team, "deal", "P1", "--amount", "100", at="2026-09-05T09:00")
    act(team, "deal", "P1", "--amount", "200", at="2026-09-06T09:00")
    dave = rookie(team, "dave", now="2026-09-10T09:00")
    assert (dave["taken_from_pool"], dave["converted"]) == (2, 1)
    assert (dave["deals"], dave["deal_amount"]) == (2, "300.00")
    # As of before the deals, nothing had converted yet.
    earlier = rookie(team, "dave", "--as-of", "2026-09-04", now="2026-09-10T09:00")
    assert (earlier["taken_from_pool"], earlier["converted"], earlier["deals"]) == (2, 0, 0)


def test_one_coach_or_every_coach(team):
    team("rep", "add", "vic", "--role", "coach", now=HIRED)
    team("rep", "add", "erin", "--role", "rookie", "--coach", "vic", "--hired", HIRED, now=HIRED)
    everyone = team.json("coach", now="2026-09-05T09:00")
    assert [r["rep"] for r in everyone["rookies"]] == ["dave", "erin"]
    assert [c["coach"] for c in everyone["coaches"]] == ["carol", "vic"]
    only = team.json("coach", "vic", now="2026-09-05T09:00")
    assert [r["rep"] for r in only["rookies"]] == ["erin"]
    assert only["targets"] == {
        "first_follow_up_days": 7,
        "first_negotiation_days": 14,
        "first_won_days": 30,
    }
    idle = team.json("coach", "vera", now="2026-09-05T09:00")
    assert idle["rookies"] == [] and idle["coaches"][0]["rookies"] == 0
    assert "vera coaches no one yet" in team("coach", "vera", now="2026-09-05T09:00").stdout
    assert "no rep named 'zed'" in team.fails("coach", "zed").stderr


def test_a_rookie_hired_after_the_moment_is_not_listed_and_one_who_left_is_judged_then(team):
    assert team.json("coach", "--as-of", "2026-08-15", now="2026-09-05")["rookies"] == []
    team("rep", "leave", "dave", now="2026-09-05T09:00")
    dave = rookie(team, "dave", now="2026-12-01T09:00")
    assert (dave["days_since_hire"], dave["status"]) == (4, "on track")
    assert dave["left_at"] == "2026-09-05T01:00:00Z"


def test_csv_and_people_output(team):
    act(team, "claim", "P1", "--rep", "dave", at="2026-09-02T09:00")
    rows = list(csv.DictReader(io.StringIO(team("coach", "--csv", now="2026-09-20").stdout)))
    assert [(r["rep"], r["coach"], r["status"]) for r in rows] == [("dave", "carol", "behind")]
    assert rows[0]["missed"] == "first follow-up; first negotiation"
    team.runner.env = {"NO_COLOR": "1", "COLUMNS": "80"}
    out = team("coach", now="2026-09-20").stdout
    assert "Coached by carol" in out and "Coaches" in out and "behind" in out
    assert "\x1b[" not in out and max(len(line) for line in out.splitlines()) <= 80

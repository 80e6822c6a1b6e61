"""The order-follower (跟单) report: hunting against farming, the flag, and `--as-of`."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import Cli
from sqlalchemy import select

from salespool.core.timeline import steady_stage
from salespool.models import Customer

# Everything imported on 1 May 2026; alice owns one customer in each stage.
BOOK = """external_id,name,owner,stage
P1,Prospect One,alice,prospecting
N1,Negotiation One,alice,negotiating
W1,Won One,alice,won
M1,Maintained One,alice,maintaining
D1,Deep One,alice,deepening
L1,Lost One,alice,lost
W2,Won Two,alice,won
W3,Won Three,alice,won
B1,Bob's Lead,bob,prospecting
Q1,Pool Won,,won
Q2,Pool Maintained,,maintaining
"""
NEW_KEYS = {
    "hunting",
    "farming",
    "hunting_share",
    "new_customers",
    "hunting_history",
    "order_follower",
}


def rules(cli: Cli, write_csv, threshold: str = "0.25", period: str = "month", periods: int = 3):
    text = f'[hunting]\nthreshold = "{threshold}"\nperiod = "{period}"\nperiods = {periods}\n'
    cli.config = write_csv(text, name="salespool.toml")


@pytest.fixture
def team(cli: Cli, write_csv) -> Cli:
    rules(cli, write_csv)
    cli("import", str(write_csv(BOOK)), now="2026-05-01T09:00:00")
    return cli


def log(cli: Cli, customer: str, at: str, rep: str = "alice", *extra: str) -> None:
    cli("log", customer, "--rep", rep, "--kind", "call", "--at", at, *extra, now=at)


def rep(report: dict, name: str) -> dict:
    return next(r for r in report["reps"] if r["rep"] == name)


def history(row: dict) -> list[tuple[str, int, int]]:
    return [(p["period"], p["hunting"], p["farming"]) for p in row["hunting_history"]]


def test_follow_ups_split_into_hunting_and_farming_by_stage(team):
    for customer in ("P1", "N1", "W1", "M1", "D1", "L1"):
        log(team, customer, "2026-11-10T10:00")
    alice = rep(team.json("report", "--since", "2026-11-01"), "alice")
    assert (alice["hunting"], alice["farming"]) == (2, 3)  # lost is neither
    assert alice["follow_ups"] == 6
    assert alice["hunting_share"] == 0.4
    assert set(alice) >= NEW_KEYS


def test_the_stage_is_the_one_at_the_time_of_the_follow_up(team):
    log(team, "P1", "2026-11-10T10:00")  # prospecting then: hunting
    log(team, "P1", "2026-11-12T10:00", "alice", "--stage", "won")
    log(team, "P1", "2026-11-15T10:00")  # won by now: farming
    # A call logged later for 11 November, when P1 was still prospecting: hunting.
    team("log", "P1", "--rep", "alice", "--kind", "call", "--at", "2026-11-11T10:00")
    report = team.json("report", "--since", "2026-11-01")
    alice = rep(report, "alice")
    # 10th and 11th hunting; the 12th moved it to won (at-or-before: counted won); 15th farming.
    assert (alice["hunting"], alice["farming"]) == (2, 2)
    assert report["totals"]["hunting"] == 2


def test_imported_follow_ups_count_by_the_stage_at_their_time(team, write_csv):
    log(team, "P1", "2026-11-12T10:00", "alice", "--stage", "won")
    history_file = write_csv(
        "customer,rep,kind,at\n"
        "P1,alice,call,2026-11-05 10:00\n"  # prospecting then: hunting
        "P1,alice,visit,2026-11-13 10:00\n"  # won by then: farming
        "W1,alice,call,2026-11-06 10:00\n",  # won: farming
        name="history.csv",
    )
    team("import-followups", str(history_file), now="2026-11-20T09:00:00")
    alice = rep(team.json("report", "--since", "2026-11-01", now="2026-11-20T09:00:00"), "alice")
    # The logged call of the 12th moved P1 to won: it counts under won, as the trail tells.
    assert (alice["hunting"], alice["farming"]) == (1, 3)


def test_a_steady_stage_is_known_only_for_customers_the_trail_never_moved(team, session):
    log(team, "P1", "2026-11-12T10:00", "alice", "--stage", "won")
    team("claim", "Q1", "--rep", "bob", now="2026-11-13T10:00:00")  # owner moves, stage stays
    rows = session.execute(
        select(Customer.external_id, steady_stage(Customer.id)).order_by(Customer.id)
    ).all()
    steady = dict(rows)
    assert steady["P1"] is None  # prospecting, then won
    assert steady["W1"] == "won" and steady["Q1"] == "won" and steady["B1"] == "prospecting"


def test_a_customer_taken_from_the_pool_in_the_window_is_hunting_whatever_its_stage(team):
    team("claim", "Q1", "--rep", "bob", now="2026-11-05T10:00:00")
    log(team, "Q1", "2026-11-06T10:00", "bob")
    team("claim", "Q2", "--rep", "bob", now="2026-10-01T10:00:00")  # before the window
    log(team, "Q2", "2026-11-06T10:00", "bob")
    bob = rep(team.json("report", "--since", "2026-11-01"), "bob")
    assert (bob["hunting"], bob["farming"]) == (1, 1)
    assert bob["new_customers"] == 1  # Q1 claimed in the window; Q2 before it
    # Over a window that holds both claims, both follow-ups are hunting.
    bob = rep(team.json("report", "--since", "2026-09-15"), "bob")
    assert (bob["hunting"], bob["farming"], bob["new_customers"]) == (2, 0, 2)


def test_new_customers_count_claims_assignments_and_imports_to_the_rep(team, write_csv):
    team("claim", "Q1", "--rep", "bob", now="2026-11-05T10:00:00")
    team("assign", "Q2", "--to", "bob", now="2026-11-06T10:00:00")
    team("import", str(write_csv("name,owner\nFresh Co,bob\n", name="more.csv")), now="2026-11-07")
    bob = rep(team.json("report", "--since", "2026-11-01"), "bob")
    assert bob["new_customers"] == 3
    assert rep(team.json("report", "--since", "2026-11-06"), "bob")["new_customers"] == 2


def share_months(team: Cli, hunting: int, farming: int, month: str) -> None:
    """In `month`, alice logs `hunting` calls on P1 and `farming` calls on W1."""
    for i in range(hunting):
        log(team, "P1", f"{month}-1{i}T10:00")
    for i in range(farming):
        log(team, "W1", f"{month}-2{i}T10:00")


def test_a_share_exactly_at_the_threshold_is_not_an_order_follower(team):
    share_months(team, 1, 3, "2026-11")  # 1 / 4 = 0.25, the threshold
    alice = rep(team.json("report"), "alice")
    assert alice["hunting_history"][-1]["hunting_share"] == 0.25
    assert alice["order_follower"] is False


def test_a_share_just_under_the_threshold_flags_an_order_follower(team):
    share_months(team, 1, 4, "2026-11")  # 1 / 5 = 0.2
    report = team.json("report")
    assert rep(report, "alice")["order_follower"] is True
    assert rep(report, "bob")["order_follower"] is False  # no follow-ups: no evidence
    assert report["totals"]["order_follower"] is False


def test_one_thin_period_above_the_threshold_does_not_clear_the_flag(team):
    share_months(team, 0, 5, "2026-09")  # 0%
    share_months(team, 1, 2, "2026-10")  # 33%, on three calls
    share_months(team, 1, 5, "2026-11")  # 17%; together 2 / 13 = 15%
    alice = rep(team.json("report"), "alice")
    assert history(alice) == [("2026-09", 0, 5), ("2026-10", 1, 2), ("2026-11", 1, 5)]
    assert alice["order_follower"] is True


def test_periods_without_follow_ups_are_skipped(team):
    share_months(team, 1, 4, "2026-10")  # 20%; November has no follow-ups yet
    alice = rep(team.json("report"), "alice")
    assert alice["hunting_history"][2]["hunting_share"] is None
    assert alice["order_follower"] is True


def test_hunting_again_in_the_latest_period_clears_the_flag(team):
    share_months(team, 0, 5, "2026-09")
    share_months(team, 0, 5, "2026-10")
    share_months(team, 2, 4, "2026-11")  # 33% now, though 2 / 16 = 12.5% together
    assert rep(team.json("report"), "alice")["order_follower"] is False
    # As of the end of October, she was an order-follower.
    assert rep(team.json("report", "--as-of", "2026-10-31T23:00"), "alice")["order_follower"]


def test_a_low_latest_period_after_good_hunting_is_not_yet_an_order_follower(team):
    share_months(team, 4, 0, "2026-09")  # 100%
    share_months(team, 1, 4, "2026-11")  # 20% now, but 5 / 9 = 56% together
    assert rep(team.json("report"), "alice")["order_follower"] is False


def test_periods_older_than_the_last_n_do_not_count(team):
    share_months(team, 5, 0, "2026-08")  # all hunting, but four months back (periods = 3)
    share_months(team, 0, 3, "2026-11")
    alice = rep(team.json("report"), "alice")
    assert [p["period"] for p in alice["hunting_history"]] == ["2026-09", "2026-10", "2026-11"]
    assert alice["order_follower"] is True


def test_weekly_periods(cli, write_csv):
    rules(cli, write_csv, period="week", periods=2)
    cli("import", str(write_csv(BOOK)), now="2026-05-01T09:00:00")
    log(cli, "P1", "2026-11-18T10:00")  # week 47 (Monday 16 November)
    log(cli, "W1", "2026-11-23T10:00")  # week 48, up to the report's Sunday 29th
    alice = rep(cli.json("report"), "alice")
    assert history(alice) == [("2026-W47", 1, 0), ("2026-W48", 0, 1)]
    assert alice["hunting_history"][1]["start"] == "2026-11-22T16:00:00Z"  # Monday, Shanghai
    assert alice["order_follower"] is False


def test_as_of_reconstructs_owners_and_stages_after_a_recycle_and_reclaim(team):
    log(team, "B1", "2026-10-20T10:00", "bob", "--stage", "negotiating")
    team("recycle", "--days", "15", now="2026-11-10T10:00:00")  # everything, B1 too
    team("claim", "B1", "--rep", "alice", now="2026-11-20T10:00:00")
    team("log", "B1", "--rep", "alice", "--kind", "call", "--stage", "won", now="2026-11-21T10:00")

    def book_at(when: str) -> tuple[dict, dict, int]:
        report = team.json("report", "--as-of", when)
        return rep(report, "alice"), rep(report, "bob"), report["pool"]

    alice, bob, pool = book_at("2026-10-15")  # before the stage change and the recycle
    assert (bob["customers"], bob["stages"]["prospecting"]) == (1, 1)
    assert (alice["customers"], pool) == (8, 2)
    alice, bob, pool = book_at("2026-10-25")  # bob moved B1 to negotiating
    assert (bob["stages"]["negotiating"], bob["stages"]["prospecting"]) == (1, 0)
    alice, bob, pool = book_at("2026-11-15")  # after the recycle: all in the pool
    assert (alice["customers"], bob["customers"], pool) == (0, 0, 11)
    alice, bob, pool = book_at("2026-11-20T12:00")  # alice re-claimed B1, still negotiating
    assert (alice["customers"], alice["stages"]["negotiating"], pool) == (1, 1, 10)
    now = team.json("report")
    assert rep(now, "alice")["stages"]["won"] == 1 and now["pool"] == 10
    assert team.json("report", "--as-of", "2026-11-15")["as_of"] == "2026-11-14T16:00:00Z"
    # A customer created after the moment did not exist yet.
    assert team.json("report", "--as-of", "2026-04-30")["pool"] == 0


def test_as_of_filters_activity_by_date_and_defaults_the_window_to_30_days_before(team):
    log(team, "P1", "2026-10-10T10:00")
    log(team, "W1", "2026-11-10T10:00")
    report = team.json("report", "--as-of", "2026-10-31")
    alice = rep(report, "alice")
    assert (alice["follow_ups"], alice["hunting"], alice["farming"]) == (1, 1, 0)
    assert report["since"] == "2026-09-30T16:00:00Z"
    assert [p["period"] for p in alice["hunting_history"]] == ["2026-08", "2026-09", "2026-10"]


def test_as_of_in_the_future_is_refused(team):
    assert "is in the future" in team.fails("report", "--as-of", "2026-12-01").stderr
    assert "cannot read" in team.fails("report", "--as-of", "someday").stderr


def test_for_people_the_order_follower_is_marked_at_80_columns_without_colour(team):
    share_months(team, 1, 4, "2026-11")
    team.runner.env = {"NO_COLOR": "1", "COLUMNS": "80"}
    out = team("report").stdout
    assert "Hunting vs farming" in out
    assert "alice (!)" in out and "order-follower" in out
    assert "bob (!)" not in out
    assert "\x1b[" not in out and max(len(line) for line in out.splitlines()) <= 80


def _table_after(out: str, title: str) -> list[list[str]]:
    """The rows (header first) of the table under `title`, split into cells."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        if not set(line.strip()) <= {"─"}:
            rows.append(line.split())
    return rows


def test_the_share_per_period_is_labelled_by_month_or_week(team, write_csv):
    share_months(team, 1, 1, "2026-10")
    share_months(team, 1, 4, "2026-11")
    team.runner.env = {"NO_COLOR": "1", "COLUMNS": "80"}
    out = team("report", "--rep", "alice").stdout
    header, alice = _table_after(out, "Hunting share by month, 2026-09 to 2026-11")
    # The last column is the sparkline, headed by its first and last month (plain when piped).
    assert header == ["rep", "Sep", "Oct", "Nov", "Sep-Nov"]
    assert alice == ["alice", "-", "50%", "20%", "=."]
    rules(team, write_csv, period="week", periods=2)
    out = team("report", "--rep", "alice").stdout
    header, _alice = _table_after(out, "Hunting share by week, 2026-W47 to 2026-W48")
    assert header == ["rep", "W47", "W48", "W47-W48"]
    assert max(len(line) for line in out.splitlines()) <= 80


def test_the_legend_names_the_columns_as_they_are_headed(team):
    log(team, "P1", "2026-11-10T10:00")
    team.runner.env = {"NO_COLOR": "1", "COLUMNS": "80"}
    out = team("report").stdout
    kinds = _table_after(out, "Follow-ups by kind")[0]
    assert "wechat" in kinds
    activity = next(
        line for line in out.splitlines() if line.startswith(" rep ") and "taken" in line
    )
    legend = next(line for line in out.splitlines() if line.startswith("taken:"))
    assert "wx" not in legend and "WeChat" not in legend
    for term in (part.split(":")[0].strip() for part in legend.rstrip(".").split(";")):
        assert term in activity, (term, activity)


def test_csv_has_the_hunting_columns(team):
    share_months(team, 1, 4, "2026-11")
    rows = list(csv.DictReader(io.StringIO(team("report", "--csv").stdout)))
    alice = rows[0]
    assert (alice["hunting"], alice["farming"], alice["order_follower"]) == ("1", "4", "true")
    assert alice["hunting_share_2026-11"] == "0.2"


def test_an_imported_book_is_new_only_where_the_file_says_it_was_created_then(team, write_csv):
    veteran = write_csv(
        "客户名称,负责人,客户阶段,创建时间,最后跟进时间\n"
        "老客户甲,bob,维系客户,2024-01-01,2026-11-03\n"
        "老客户乙,bob,深耕客户,2023-05-01,2026-11-03\n"
        "新线索丙,bob,寻找客户,2026-11-02,2026-11-03\n",
        name="veteran.csv",
    )
    team("import", str(veteran), now="2026-11-04T09:00:00")
    for name in ("老客户甲", "老客户乙", "新线索丙"):
        team("log", name, "--rep", "bob", "--kind", "call", "--at", "2026-11-05T10:00")
    bob = rep(team.json("report", "--since", "2026-11-01"), "bob")
    assert bob["new_customers"] == 1  # only the lead created on 2 November
    # The import is not a take from the pool: the two converted customers are farming.
    assert (bob["hunting"], bob["farming"]) == (1, 2)
    assert rep(team.json("report", "--since", "2026-11-03"), "bob")["new_customers"] == 0
    # A report as of before the import knew none of it.
    before = team.json("report", "--since", "2026-11-01", "--as-of", "2026-11-03T12:00")
    assert rep(before, "bob")["new_customers"] == 0

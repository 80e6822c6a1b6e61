"""The stage report and the history trail."""

from __future__ import annotations

import csv
import io

from conftest import Cli

STAGES = ["prospecting", "negotiating", "won", "maintaining", "deepening", "lost"]


def busy(book: Cli) -> Cli:
    book("log", "C1", "--rep", "alice", "--kind", "call", "--at", "2026-11-20")
    book("log", "C1", "--rep", "alice", "--kind", "visit", "--at", "2026-11-21")
    book("log", "C3", "--rep", "bob", "--kind", "wechat", "--at", "2026-10-01")  # before window
    book("deal", "C2", "--amount", "1000.10")
    book("deal", "C2", "--amount", "99.90", "--channel", "online")
    book("claim", "C4", "--rep", "bob")
    book("recycle", "--days", "40")
    return book


def test_report_json_has_the_contract_keys_and_counts(book):
    report = busy(book).json("report", "--since", "2026-11-01")
    assert set(report) >= {"as_of", "since", "pool", "reps"}
    assert report["since"] == "2026-10-31T16:00:00Z"
    assert report["pool"] == 2
    reps = {r["rep"]: r for r in report["reps"]}
    for r in reps.values():
        assert set(r) >= {
            "rep",
            "stages",
            "customers",
            "follow_ups",
            "deals",
            "deal_amount",
            "claimed",
            "recycled_away",
        }
        assert list(r["stages"]) == STAGES
    alice, bob = reps["alice"], reps["bob"]
    assert alice["stages"]["won"] == 1 and alice["customers"] == 2
    assert alice["follow_ups"] == 2 and alice["follow_ups_by_kind"] == {"call": 1, "visit": 1}
    assert (alice["deals"], alice["deal_amount"]) == (2, "1100.00")
    assert (bob["claimed"], bob["recycled_away"]) == (1, 1)
    assert bob["follow_ups"] == 0  # the October call is outside the window
    assert report["totals"]["deal_amount"] == "1100.00"


def test_report_for_one_rep(book):
    report = busy(book).json("report", "--rep", "alice")
    assert [r["rep"] for r in report["reps"]] == ["alice"]
    assert "no rep named 'zed'" in book.fails("report", "--rep", "zed").stderr


def test_report_csv_is_one_row_per_rep_plus_total(book):
    rows = list(csv.DictReader(io.StringIO(busy(book)("report", "--csv").stdout)))
    assert [r["rep"] for r in rows] == ["alice", "bob", "TOTAL"]
    assert rows[0]["stage_won"] == "1" and rows[0]["deal_amount"] == "1100.00"


def test_report_for_people_fits_80_columns_without_colour(book):
    busy(book)
    book.runner.env = {"NO_COLOR": "1", "COLUMNS": "80"}
    out = book("report").stdout
    assert "Customers by stage" in out and "Pool: 2 customers" in out
    assert "\x1b[" not in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_names_are_printed_as_typed_not_as_markup(cli, write_csv):
    cli("import", str(write_csv('name,owner\n[bold]Acme,alice\n"[red]x[/red] Co",alice\n')))
    out = cli("customers").stdout
    assert "[bold]Acme" in out and "[red]x[/red] Co" in out
    refusal = cli.fails("claim", "[red]x[/red] Co", "--rep", "alice")
    assert "'[red]x[/red] Co' is not in the pool" in refusal.stderr


def test_history_lists_the_trail_in_order(book):
    book("log", "C1", "--rep", "alice", "--kind", "call", "--stage", "won")
    book("release", "C1", "--reason", "too far")
    book("claim", "C1", "--rep", "bob")
    events = book.json("history", "C1")
    assert [e["kind"] for e in events] == ["imported", "stage_changed", "released", "claimed"]
    for e in events:
        assert set(e) >= {"at", "kind", "from_rep", "to_rep", "from_stage", "to_stage", "reason"}
    assert events[2]["from_rep"] == "alice" and events[2]["reason"] == "too far"
    assert events[3]["to_rep"] == "bob"
    assert "too far" in book("history", "C1").stdout

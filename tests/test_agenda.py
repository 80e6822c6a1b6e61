"""`agenda`: each rep's open next steps (log --next), overdue flagged, and who `due` says goes."""

from __future__ import annotations

import csv
import io

from conftest import use_rules
from typer.testing import CliRunner

from salespool.cli import app

# Now is 2026-11-29 09:00 Shanghai. Thresholds high enough that only the customers a
# test makes due are; `unconverted_days = 0` keeps the never-won rule out of the way.
QUIET = {"days": 300, "unconverted_days": 0, **{f"stage_days__{s}": 300 for s in ("prospecting",
         "negotiating", "won", "maintaining", "deepening", "lost")}}  # fmt: skip


def log(cli, customer: str, rep: str, at: str, next_at: str | None = None, note: str = ""):
    args = ["log", customer, "--rep", rep, "--kind", "call", "--at", at]
    if note:
        args += ["--note", note]
    if next_at:
        args += ["--next", next_at]
    cli(*args)


def steps(cli, *args: str, now: str | None = None) -> list[tuple]:
    return [
        (i["rep"], i["customer"], i["date"], i["overdue"], i["note"])
        for i in cli.json("agenda", *args, now=now)
        if i["what"] == "next_step"
    ]


def test_open_next_steps_per_rep_with_overdue_flagged(book):
    use_rules(book, **QUIET)
    log(book, "C1", "alice", "2026-11-20T10:00:00", "2026-11-27T10:00:00", "send the price list")
    log(book, "C2", "alice", "2026-11-28T10:00:00", "2026-12-02T10:00:00", "call the buyer")
    log(book, "C3", "bob", "2026-11-28T10:00:00", "2026-12-01T15:00:00", "demo")
    assert steps(book) == [
        ("alice", "Acme Logistics", "2026-11-27", True, "send the price list"),
        ("alice", "上海华瑞科技有限公司", "2026-12-02", False, "call the buyer"),
        ("bob", "Blue River Foods", "2026-12-01", False, "demo"),
    ]
    (item,) = [i for i in book.json("agenda", "--rep", "bob")]
    assert item == {
        "rep": "bob",
        "customer_id": 3,
        "customer": "Blue River Foods",
        "what": "next_step",
        "when": "2026-12-01T07:00:00Z",
        "date": "2026-12-01",
        "overdue": False,
        "note": "demo",
    }


def test_a_later_follow_up_closes_the_step_and_may_set_a_new_one(book):
    use_rules(book, **QUIET)
    log(book, "C1", "alice", "2026-11-20T10:00:00", "2026-11-27T10:00:00", "first")
    log(book, "C1", "alice", "2026-11-26T10:00:00")  # no new step: the first is done
    assert steps(book) == []
    log(book, "C1", "alice", "2026-11-28T10:00:00", "2026-11-30T10:00:00", "second")
    assert steps(book) == [("alice", "Acme Logistics", "2026-11-30", False, "second")]
    # A back-filled call dated before the step leaves the latest one open.
    log(book, "C1", "alice", "2026-11-21T10:00:00")
    assert [s[4] for s in steps(book)] == ["second"]


def test_the_window_takes_steps_due_within_n_days_and_every_overdue_one(book):
    use_rules(book, **QUIET)
    log(book, "C1", "alice", "2026-10-01T10:00:00", "2026-10-05T10:00:00", "long overdue")
    log(book, "C2", "alice", "2026-11-28T10:00:00", "2026-12-20T10:00:00", "later")
    assert [s[4] for s in steps(book)] == ["long overdue"]
    # 20 December 10:00 is 21 days and an hour away.
    assert [s[4] for s in steps(book, "--within", "21")] == ["long overdue"]
    assert [s[4] for s in steps(book, "--within", "22")] == ["long overdue", "later"]
    assert [s[4] for s in steps(book, "--within", "0")] == ["long overdue"]


def test_a_step_goes_with_its_owner_when_the_customer_changes_hands(book):
    use_rules(book, **QUIET)
    log(book, "C3", "bob", "2026-11-28T10:00:00", "2026-12-01T10:00:00", "bob's plan")
    book("release", "C3", "--reason", "not my region")
    assert steps(book) == []  # in the pool: nobody's agenda
    book("claim", "C3", "--rep", "alice")
    assert steps(book) == []  # alice did not plan it


def test_customers_due_for_recycling_are_the_due_command_s(book):
    # Default rules: C1 (negotiating, idle since October) and C3 (prospecting, never
    # called) are recyclable already, so overdue.
    due = book.json("due")
    recycling = [i for i in book.json("agenda") if i["what"] == "recycle"]
    assert [(i["customer_id"], i["when"], i["note"]) for i in recycling] == [
        (d["id"], d["due_at"], d["reason"]) for d in sorted(due, key=lambda d: d["owner"])
    ]
    assert all(i["overdue"] for i in recycling)
    assert [i["rep"] for i in recycling] == ["alice", "bob"]
    assert [i["customer"] for i in book.json("agenda", "--rep", "bob")] == ["Blue River Foods"]


def test_recycling_within_the_window_is_not_overdue(book):
    use_rules(book, **{**QUIET, "stage_days__won": 10})
    # C2 (won) was last contacted on 20 November: recyclable on 30 November.
    (item,) = book.json("agenda")
    assert (item["customer"], item["what"], item["date"], item["overdue"]) == (
        "上海华瑞科技有限公司",
        "recycle",
        "2026-11-30",
        False,
    )
    assert book.json("agenda", "--within", "0") == []


def test_csv_is_one_row_per_item_and_the_table_is_per_rep(book):
    log(book, "C1", "alice", "2026-11-20T10:00:00", "2026-11-27T10:00:00", "price list")
    rows = list(csv.DictReader(io.StringIO(book("agenda", "--csv").stdout)))
    assert list(rows[0]) == [
        "rep",
        "customer_id",
        "customer",
        "what",
        "when",
        "date",
        "overdue",
        "note",
    ]
    assert {(r["rep"], r["what"]) for r in rows} == {
        ("alice", "next_step"),
        ("alice", "recycle"),
        ("bob", "recycle"),
    }
    out = book("agenda").stdout
    assert "alice: 2 items, 2 overdue" in out and "bob: 1 item, 1 overdue" in out
    assert "OVERDUE" in out and "price list" in out and "next step" in out


def test_nothing_to_do_is_said(book):
    use_rules(book, **QUIET)
    assert book("agenda").stdout.strip() == "nothing on the agenda within 7 days"
    assert book.json("agenda") == []


def test_an_unknown_rep_is_refused(book):
    assert "no rep named 'zed'" in book.fails("agenda", "--rep", "zed").stderr


def test_a_negative_window_is_a_usage_error(book):
    result = book.fails("agenda", "--within", "-1", code=2)
    assert "--within" in result.stderr


def test_json_and_csv_together_are_a_usage_error(book):
    book.fails("agenda", "--json", "--csv", code=2)


def test_agenda_has_help_with_an_example():
    result = CliRunner().invoke(app, ["agenda", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Example: salespool agenda" in result.stdout

"""The T-model report: per rep and month, the share of deal amount and of trading customers
through the online channel, and the team's trend."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import Cli

BOOK = """external_id,name,owner,stage
C1,Acme Logistics,alice,won
C2,Blue River Foods,alice,won
C3,Cyan Tools,bob,won
"""


@pytest.fixture
def book(cli: Cli, write_csv) -> Cli:
    cli("import", str(write_csv(BOOK)), now="2026-09-01T09:00:00")
    cli("deal", "C1", "--amount", "1000", now="2026-10-10T09:00:00")
    cli("deal", "C1", "--amount", "500", "--channel", "online", now="2026-11-10T09:00:00")
    cli("deal", "C2", "--amount", "300", "--channel", "online", now="2026-11-11T09:00:00")
    cli("deal", "C2", "--amount", "200", now="2026-11-12T09:00:00")
    cli("deal", "C3", "--amount", "400", now="2026-11-12T09:00:00")
    voided = cli.json("deal", "C3", "--amount", "999", "--channel", "online")["deal"]
    assert voided["channel"] == "online"
    deal_id = cli.sql("select max(id) from deal")[0][0]
    cli("deal", "void", str(deal_id), "--reason", "typo")  # counts nowhere
    return cli


def months(entry: dict) -> dict[str, dict]:
    return {p["period"]: p for p in entry["online_history"]}


def test_per_rep_and_month_the_online_share_of_amount_and_customers(book):
    report = book.json("report")
    reps = {r["rep"]: r for r in report["reps"]}
    alice = months(reps["alice"])
    assert list(alice) == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert alice["2026-10"] == {
        **alice["2026-10"],
        "deal_amount": "1000.00",
        "online_amount": "0.00",
        "online_share": 0.0,
        "customers": 1,
        "online_customers": 0,
        "online_customer_share": 0.0,
    }
    assert alice["2026-11"] == {
        **alice["2026-11"],
        "deal_amount": "1000.00",
        "online_amount": "800.00",
        "online_share": 0.8,
        "customers": 2,
        "online_customers": 2,
        "online_customer_share": 1.0,
    }
    assert alice["2026-09"]["online_share"] is None  # no deals: no share
    bob = months(reps["bob"])["2026-11"]
    assert (bob["deal_amount"], bob["online_share"]) == ("400.00", 0.0)  # the void is out
    # The team's trend: the reps together, per month.
    trend = {p["period"]: p for p in report["online_trend"]}
    assert (trend["2026-10"]["online_share"], trend["2026-11"]["online_share"]) == (0.0, 0.5714)
    assert trend["2026-11"]["customers"] == 3 and trend["2026-11"]["online_customers"] == 2
    assert months(report["totals"]) == trend


def test_csv_and_the_table_for_people(book):
    rows = list(csv.DictReader(io.StringIO(book("report", "--csv").stdout)))
    alice = next(r for r in rows if r["rep"] == "alice")
    assert (alice["online_share_2026-11"], alice["online_customer_share_2026-11"]) == ("0.8", "1.0")
    total = next(r for r in rows if r["rep"] == "TOTAL")
    assert total["online_share_2026-11"] == "0.5714"
    book.runner.env = {"NO_COLOR": "1", "COLUMNS": "80"}
    out = book("report").stdout
    assert "Online share of deal amount by month, 2026-06 to 2026-11" in out
    assert "Online share of customers by month" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    table = out[out.index("Online share of deal amount") :]
    line = next(x for x in table.splitlines() if x.strip().startswith("alice"))
    assert line.split()[-2:] == ["0%", "80%"]


def test_one_rep_and_weeks(book, write_csv):
    book.config = write_csv('[hunting]\nperiod = "week"\nperiods = 3\n', name="salespool.toml")
    report = book.json("report", "--rep", "bob")
    assert [p["period"] for p in report["reps"][0]["online_history"]] == [
        "2026-W46",
        "2026-W47",
        "2026-W48",
    ]
    w46 = report["reps"][0]["online_history"][0]
    assert (w46["deal_amount"], w46["customers"]) == ("400.00", 1)

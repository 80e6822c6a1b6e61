"""Amounts: only what a person means as money is read, up to a cap no sum can overflow."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salespool.cli import app
from salespool.errors import BadInput
from salespool.money import MAX_DEAL_MINOR, parse_amount

GOOD = {
    "12000.50": 1200050,
    "12000.5": 1200050,
    "7": 700,
    " 7 ": 700,
    "1,000": 100000,
    "1,234,567.89": 123456789,
    "¥1,200": 120000,
    "￥3.50": 350,
    "¥ 12": 1200,
    "0.01": 1,
    "900000000.00": MAX_DEAL_MINOR,
    "900,000,000": MAX_DEAL_MINOR,
}

BAD = {
    "10,5": "',' only separates thousands",
    "3,50": "',' only separates thousands",
    "1,2,3": "',' only separates thousands",
    "0,123": "',' only separates thousands",
    "1234,567": "',' only separates thousands",
    "1e3": "is not an amount",
    "1E3": "is not an amount",
    "1_000": "is not an amount",
    "١٢": "use the digits 0-9",
    "１２": "use the digits 0-9",
    "1e30": "is not an amount",
    "9223372036854775807": "over the cap of 900,000,000.00",
    "92233720368547758.07": "over the cap of 900,000,000.00",
    "900000000.01": "over the cap of 900,000,000.00",
    "9" * 50: "too long",
    "12.345": "more than two decimals",
    "-5": "must be positive",
    "0": "must be a positive amount",
    "0.00": "must be a positive amount",
    "": "it is empty",
    "¥": "it is empty",
    "NaN": "is not an amount",
    "Infinity": "is not an amount",
    "12.": "is not an amount",
    "$12": "is not an amount",
    "12¥": "is not an amount",
}


@pytest.mark.parametrize("text", GOOD)
def test_amounts_people_write_are_read_exactly(text):
    assert parse_amount(text) == GOOD[text]


@pytest.mark.parametrize("text", BAD)
def test_anything_else_is_refused_saying_why(text):
    with pytest.raises(BadInput) as refused:
        parse_amount(text, "deals.csv:3: column 'amount'")
    message = str(refused.value)
    assert message.startswith(f"deals.csv:3: column 'amount': '{text}'")
    assert BAD[text] in message and "\n" not in message


def _written(minor: int, separators: bool, decimals: int, sign: str) -> str:
    units, cents = divmod(minor, 100)
    text = f"{units:,}" if separators else str(units)
    if decimals == 1 and cents % 10 == 0:
        text += f".{cents // 10}"
    elif decimals or cents:
        text += f".{cents:02d}"
    return sign + text


@given(
    st.integers(min_value=1, max_value=MAX_DEAL_MINOR),
    st.booleans(),
    st.integers(min_value=0, max_value=2),
    st.sampled_from(["", "¥", "￥"]),
)
def test_every_amount_under_the_cap_reads_back_as_written(minor, separators, decimals, sign):
    assert parse_amount(_written(minor, separators, decimals, sign)) == minor


@given(st.text(max_size=30))
def test_any_text_is_an_amount_under_the_cap_or_a_bad_input(text):
    try:
        minor = parse_amount(text)
    except BadInput as refused:
        assert "\n" not in str(refused)
        return
    assert 0 < minor <= MAX_DEAL_MINOR
    # What was accepted is digits, a yen sign, commas and one point, nothing else.
    assert set(text.strip()) <= set("0123456789,.¥￥ \t")


def test_deal_refuses_a_misread_amount_and_records_nothing(book):
    for amount in ("10,5", "3,50", "1,2,3", "1e3", "1_000", "١٢", "1e30", "9223372036854775807"):
        result = book.fails("deal", "C1", "--amount", amount)
        assert result.stderr.startswith(f"error: --amount: '{amount}'"), result.stderr
    assert book.sql("select count(*) from deal") == [(0,)]


def test_the_cap_keeps_report_and_commission_working(book):
    book.fails("deal", "C1", "--amount", "92233720368547758.07")
    book("deal", "C1", "--amount", "900,000,000.00")
    book("deal", "C1", "--amount", "¥900000000")
    assert book.sql("select amount_minor from deal") == [(MAX_DEAL_MINOR,), (MAX_DEAL_MINOR,)]
    alice = {r["rep"]: r for r in book.json("report")["reps"]}["alice"]
    assert alice["deal_amount"] == "1800000000.00"
    paid = {r["rep"]: r for r in book.json("commission", "--period", "2026-11")["reps"]}
    assert paid["alice"]["commission"] == "90000000.00"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("direct = 1.5", "must be a rate between 0 and 1"),
        ('online = "2"', "must be a rate between 0 and 1"),
        ("direct = -0.05", "must be 0 or more"),
        ('online = "0.1234567"', "more than 6 decimals"),
    ],
)
def test_commission_rates_outside_0_to_1_are_refused_with_key_and_line(
    cli, tmp_path, line, message
):
    path = tmp_path / "team.toml"
    path.write_text(f'timezone = "UTC"\n\n[commission]\n{line}\n')
    result = cli.runner.invoke(
        app, ["--db", cli.url, "--config", str(path), "commission", "--period", "2026-11"]
    )
    assert result.exit_code == 1
    key = "commission." + line.split(" ")[0]
    assert result.stderr.startswith(f"error: {path}:4: key '{key}': value ")
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_rate_of_one_and_six_decimals_are_fine(cli, tmp_path):
    path = tmp_path / "team.toml"
    path.write_text('[commission]\ndirect = 1\nonline = "0.123456"\n')
    result = cli.runner.invoke(
        app, ["--db", cli.url, "--config", str(path), "config", "show", "--json"]
    )
    rules = json.loads(result.stdout)["rules"]
    assert rules["commission.direct"]["value"] == "1"
    assert rules["commission.online"]["value"] == "0.123456"

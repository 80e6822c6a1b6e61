"""`show CUSTOMER`: a customer's whole story, newest first, for people and for scripts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from salespool.cli import app


def story_of_acme(book) -> None:
    """C1 (Acme Logistics, alice's): two follow-ups, a deal and a voided one, a lock."""
    book("log", "C1", "--rep", "alice", "--kind", "call", "--at", "2026-11-20T10:00:00")
    book(
        "log",
        "C1",
        "--rep",
        "alice",
        "--kind",
        "wechat",
        "--note",
        "想要5%折扣; sent the offer",
        "--at",
        "2026-11-25T10:00:00",
        "--next",
        "2026-12-01T10:00:00",
    )
    book("deal", "C1", "--amount", "1200", "--at", "2026-11-26T10:00:00")
    book("deal", "C1", "--amount", "99", "--at", "2026-11-27T10:00:00")
    book("deal", "void", "2", "--reason", "entered twice")
    book("lock", "C1", "--reason", "tender in December", "--until", "2026-12-31")


def test_show_gives_details_follow_ups_deals_and_trail_newest_first(book):
    story_of_acme(book)
    story = book.json("show", "C1")
    assert set(story) >= {"customer", "follow_ups", "deals", "events"}
    customer = story["customer"]
    assert (customer["name"], customer["owner"], customer["stage"]) == (
        "Acme Logistics",
        "alice",
        "won",
    )
    assert customer["idle_days"] == 1  # the last deal (27 November 10:00) counts as contact
    assert customer["locked"] is True and customer["lock_reason"] == "tender in December"
    assert [(f["kind"], f["note"]) for f in story["follow_ups"]] == [
        ("wechat", "想要5%折扣; sent the offer"),
        ("call", None),
    ]
    assert story["follow_ups"][0]["next_at"] == "2026-12-01T02:00:00Z"
    assert story["follow_ups"][0]["rep"] == "alice"
    assert [(d["amount"], d["voided"], d["void_reason"]) for d in story["deals"]] == [
        ("99.00", True, "entered twice"),
        ("1200.00", False, None),
    ]
    kinds = [e["kind"] for e in story["events"]]
    # By time: the import ran today; the deal's stage change is dated at the deal.
    assert kinds == ["locked", "deal_voided", "imported", "stage_changed"]
    # The trail is history's, newest first.
    assert story["events"] == book.json("history", "C1")[::-1]
    assert story["deals"] == book.json("deals", "C1")[::-1]


def test_show_for_people_has_every_part_and_the_notes(book):
    story_of_acme(book)
    out = book("show", "C1").stdout
    for text in (
        "#1 Acme Logistics (C1)",
        "alice",
        "1 day",
        "locked until 2026-12-31 00:00: tender in December",
        "Follow-ups",
        "想要5%折扣",
        "2026-12-01 10:00",
        "Deals",
        "VOID: entered twice",
        "Trail",
        "deal_voided",
    ):
        assert text in out, text


def test_a_pool_customer_with_nothing_done_says_so(book):
    story = book.json("show", "C4")
    assert story["customer"]["owner"] is None and story["customer"]["idle_days"] is None
    assert story["follow_ups"] == [] and story["deals"] == []
    assert [e["kind"] for e in story["events"]] == ["imported"]
    out = book("show", "C4").stdout
    assert "(pool)" in out and "Follow-ups: none" in out and "Deals: none" in out


def test_an_expired_lock_is_shown_as_expired(book):
    book("lock", "C1", "--reason", "tender", "--until", "2026-12-01")
    assert "expired until 2026-12-01 00:00: tender" in book("show", "C1", now="2026-12-02").stdout


@pytest.mark.parametrize("key", ["#1", "id:1", "C1", "Acme Logistics", "1"])
def test_every_way_of_naming_a_customer_shows_the_same_story(book, key):
    assert book.json("show", key)["customer"]["id"] == 1


def test_a_merged_away_id_shows_the_customer_kept_with_what_moved(book):
    book("log", "C2", "--rep", "alice", "--kind", "call", "--note", "from the duplicate")
    book("customer", "merge", "C1", "C2")
    story = book.json("show", "#2")
    assert story["customer"]["id"] == 1
    assert [f["note"] for f in story["follow_ups"]] == ["from the duplicate"]
    assert story["events"][0]["kind"] == "merged"


def test_an_unknown_customer_is_refused_saying_how_to_find_one(book):
    result = book.fails("show", "Nobody Inc")
    assert "no customer 'Nobody Inc'" in result.stderr
    assert "salespool customers --search TEXT" in result.stderr
    assert "no customer with id #99" in book.fails("show", "#99").stderr


def test_a_name_several_customers_share_is_refused_with_their_ids(cli, write_csv):
    cli("import", str(write_csv("external_id,name\nA1,Same Co\nA2,Same Co\n")))
    result = cli.fails("show", "Same Co")
    assert "matches 2 customers" in result.stderr and "#1" in result.stderr


def test_show_has_help_with_an_example():
    result = CliRunner().invoke(app, ["show", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Example: salespool show" in result.stdout

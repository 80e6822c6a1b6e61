"""Follow-ups and deals: only the owner works a customer; deals count as contact."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import utc


def customer(cli, key):
    return next(c for c in cli.json("customers") if key in (c["external_id"], c["name"]))


def test_owner_logs_a_follow_up_which_restarts_the_clock(book):
    assert customer(book, "C1")["idle_days"] == 58
    view = book.json("log", "C1", "--rep", "alice", "--kind", "call", "--note", "sent offer")
    assert view["idle_days"] == 0
    assert view["last_contact_at"] == "2026-11-29T01:00:00Z"
    assert book.sql("select kind, note from follow_up") == [("call", "sent offer")]


def test_log_can_move_the_stage_with_an_event(book):
    view = book.json("log", "C1", "--rep", "alice", "--kind", "visit", "--stage", "业绩合格")
    assert view["stage"] == "won"
    assert book.sql("select from_stage, to_stage from event where kind = 'stage_changed'") == [
        ("negotiating", "won")
    ]


def test_backfilled_follow_up_never_moves_last_contact_back(book):
    book("log", "C1", "--rep", "alice", "--kind", "call", "--at", "2026-05-01")
    assert customer(book, "C1")["last_contact_at"] == "2026-10-01T02:00:00Z"
    book("log", "C3", "--rep", "bob", "--kind", "wechat", "--at", "2026-11-20", "--next", "+3d")
    assert customer(book, "C3")["last_contact_at"] == "2026-11-19T16:00:00Z"
    [(next_at,)] = book.sql("select next_at from follow_up where rep_id = 2")
    assert utc(next_at) == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def test_log_by_someone_else_than_the_owner_is_refused(book):
    result = book.fails("log", "C1", "--rep", "bob", "--kind", "call")
    assert "belongs to alice, not bob" in result.stderr


def test_log_on_a_pool_customer_is_refused_with_the_way_out(book):
    result = book.fails("log", "C4", "--rep", "bob", "--kind", "call")
    assert "in the pool; claim it first" in result.stderr


def test_log_in_the_future_is_refused(book):
    assert (
        "in the future"
        in book.fails("log", "C1", "--rep", "alice", "--kind", "call", "--at", "+2d").stderr
    )


def test_a_next_step_not_after_the_follow_up_is_refused(book):
    result = book.fails("log", "C1", "--rep", "alice", "--kind", "call", "--next", "2020-01-01")
    assert result.stderr == (
        "error: --next: 2020-01-01 is not after the follow-up (2026-11-29 09:00)\n"
    )
    at_once = ["--at", "2026-11-20T10:00", "--next", "2026-11-20T10:00"]
    assert (
        "--next: 2026-11-20 10:00 is not after"
        in book.fails("log", "C1", "--rep", "alice", "--kind", "call", *at_once).stderr
    )
    # A back-filled follow-up's next step may have passed since: it is history.
    book(
        "log",
        "C1",
        "--rep",
        "alice",
        "--kind",
        "call",
        "--at",
        "2026-11-20",
        "--next",
        "2026-11-22",
    )
    [(next_at,)] = book.sql("select next_at from follow_up")
    assert utc(next_at) == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)


def test_log_with_bad_kind_or_stage_is_a_usage_error(book):
    book.fails("log", "C1", "--rep", "alice", "--kind", "telepathy", code=2)
    book.fails("log", "C1", "--rep", "alice", "--kind", "call", "--stage", "closing", code=2)


def test_deal_is_credited_to_the_owner_and_makes_a_lead_won(book):
    view = book.json("deal", "C1", "--amount", "12000.50", "--channel", "online")
    assert view["stage"] == "won"
    assert view["deal"] == {
        **view["deal"],
        "rep": "alice",
        "amount": "12000.50",
        "channel": "online",
    }
    assert view["idle_days"] == 0
    assert book.sql("select amount_minor, channel from deal") == [(1200050, "online")]
    assert book.sql("select to_stage, reason from event where kind = 'stage_changed'") == [
        ("won", "deal")
    ]


def test_deal_keeps_later_stages(book):
    book("log", "C2", "--rep", "alice", "--kind", "call", "--stage", "deepening")
    assert book.json("deal", "C2", "--amount", "1,000")["stage"] == "deepening"
    assert book.sql("select amount_minor from deal") == [(100000,)]


def test_deal_on_a_pool_customer_is_refused(book):
    assert "in the pool" in book.fails("deal", "C4", "--amount", "100").stderr


def test_bad_amounts_are_refused(book):
    for amount in ("12.345", "-5", "0", "lots", "NaN"):
        result = book.fails("deal", "C1", "--amount", amount)
        assert "--amount" in result.stderr

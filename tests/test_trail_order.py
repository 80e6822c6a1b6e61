"""The trail in time order: back-dated work moves the stage at its own moment, and
commands that write at `--now` never write a customer's trail backwards."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from conftest import utc

# The `book` fixture imports everything at conftest.NOW, 2026-11-29 09:00 in Shanghai.
BEFORE_IMPORT = "2026-11-01T09:00:00"
LATER = "2027-01-05T09:00:00"


def stage_of(cli, key: str) -> str:
    [(stage,)] = cli.sql("select stage from customer where external_id = :k", k=key)
    return stage


def followup_stages(cli, key: str) -> list[tuple[datetime, str]]:
    rows = cli.sql(
        "select f.at, f.stage from follow_up f join customer c on c.id = f.customer_id "
        "where c.external_id = :k order by f.at",
        k=key,
    )
    return [(utc(at), stage) for at, stage in rows]


def stage_events(cli, key: str) -> list[tuple[datetime, str, str]]:
    rows = cli.sql(
        "select e.at, e.from_stage, e.to_stage from event e "
        "join customer c on c.id = e.customer_id "
        "where c.external_id = :k and e.kind = 'stage_changed' order by e.at, e.id",
        k=key,
    )
    return [(utc(at), f, t) for at, f, t in rows]


def log(cli, key: str, at: str, *extra: str, rep: str = "alice") -> None:
    cli("log", key, "--rep", rep, "--kind", "call", "--at", at, *extra)


# --- back-dated work ------------------------------------------------------------------


def test_a_backdated_deal_changes_the_stage_at_its_own_time(book, write_csv):
    book("deal", "C1", "--amount", "5000", "--at", "2026-09-20")
    # 20 September, midnight in Shanghai; not the moment the command ran.
    assert stage_events(book, "C1") == [
        (datetime(2026, 9, 19, 16, 0, tzinfo=UTC), "negotiating", "won")
    ]
    # The import (29 November) carries the stage it saw; it does not undo the deal.
    assert stage_of(book, "C1") == "won"
    history = book.json("history", "C1")
    assert [e["kind"] for e in history] == ["stage_changed", "imported"]
    # Follow-ups from the old CRM, imported afterwards, count by the stage at their time.
    old_crm = write_csv(
        "customer,rep,kind,at\nC1,alice,call,2026-09-10 10:00\nC1,alice,visit,2026-10-01 10:00\n",
        name="history.csv",
    )
    book("import-followups", str(old_crm))
    assert [s for _, s in followup_stages(book, "C1")] == ["negotiating", "won"]
    alice = next(
        r for r in book.json("report", "--since", "2026-09-01")["reps"] if r["rep"] == "alice"
    )
    assert (alice["hunting"], alice["farming"]) == (1, 1)


def test_follow_ups_stored_after_a_backdated_change_take_the_stage_it_gives(book):
    log(book, "C1", "2026-09-10T10:00")
    log(book, "C1", "2026-10-01T10:00")
    log(book, "C1", "2026-11-20T10:00")
    assert [s for _, s in followup_stages(book, "C1")] == ["negotiating"] * 3
    book("deal", "C1", "--amount", "5000", "--at", "2026-09-20")
    assert [s for _, s in followup_stages(book, "C1")] == ["negotiating", "won", "won"]
    # A back-dated log that moves the stage re-reads the later follow-ups the same way.
    log(book, "C1", "2026-10-15T10:00", "--stage", "lost")
    assert [s for _, s in followup_stages(book, "C1")] == ["negotiating", "won", "lost", "lost"]
    assert stage_of(book, "C1") == "lost"


def test_a_backdated_change_does_not_undo_a_later_one(book):
    log(book, "C1", "2026-11-01T10:00", "--stage", "lost")
    # A deal recorded afterwards for 1 October: C1 was negotiating then, so won from
    # then on, until it was lost on 1 November; it stays lost.
    deal = book.json("deal", "C1", "--amount", "100", "--at", "2026-10-01")
    assert deal["stage"] == "lost"
    # Won already on 5 October: logging "won" then changes nothing.
    view = book.json(
        "log", "C1", "--rep", "alice", "--kind", "visit", "--at", "2026-10-05", "--stage", "won"
    )
    assert view["stage"] == "lost"
    assert stage_events(book, "C1") == [
        (datetime(2026, 9, 30, 16, 0, tzinfo=UTC), "negotiating", "won"),
        (datetime(2026, 11, 1, 2, 0, tzinfo=UTC), "negotiating", "lost"),
    ]
    [(latest,)] = book.sql(
        "select to_stage from event where kind = 'stage_changed' order by at desc, id desc limit 1"
    )
    assert latest == stage_of(book, "C1") == "lost"
    assert [s for _, s in followup_stages(book, "C1")] == ["won", "lost"]


def test_a_backdated_log_moves_the_stage_before_a_lock_written_later(book):
    book("lock", "C1", "--reason", "tender in December")
    log(book, "C1", "2026-11-20T10:00", "--stage", "won")
    assert stage_of(book, "C1") == "won"  # the lock carries a stage; it does not set one
    assert stage_events(book, "C1") == [
        (datetime(2026, 11, 20, 2, 0, tzinfo=UTC), "negotiating", "won")
    ]


def test_work_dated_before_the_customer_existed_or_its_owner_got_it_is_refused(cli, write_csv):
    cli(
        "import",
        str(
            write_csv(
                "external_id,name,owner,stage,created_at,owned_since\n"
                "X1,Xin Co,alice,negotiating,2026-03-01,2026-05-01\n"
            )
        ),
    )
    for command in (
        ["log", "X1", "--rep", "alice", "--kind", "call"],
        ["deal", "X1", "--amount", "100"],
    ):
        early = cli.fails(*command, "--at", "2026-02-01")
        assert early.stderr == (
            "error: --at: 2026-02-01 is before 'Xin Co' existed (created 2026-03-01)\n"
        )
        before_owner = cli.fails(*command, "--at", "2026-04-01T10:30")
        assert before_owner.stderr == (
            "error: --at: 2026-04-01 10:30 is before alice got 'Xin Co' (owner since 2026-05-01)\n"
        )
        # The bound itself is fine.
        cli(*command, "--at", "2026-05-01")
    # Without --at the moment is --now, and the message says so.
    result = cli.fails("deal", "X1", "--amount", "100", now="2026-04-01T09:00:00")
    assert result.stderr.startswith("error: --now: 2026-04-01 09:00 is before alice got")


# --- commands that write at --now ------------------------------------------------------


def test_a_claim_dated_before_the_customers_import_is_refused(book):
    result = book.fails("claim", "C4", "--rep", "bob", now=BEFORE_IMPORT)
    assert result.stderr == (
        "error: '杭州云帆贸易有限公司' has a later event in its trail (imported on "
        "2026-11-29 09:00) than this claim at 2026-11-01 09:00: the trail is kept in time order\n"
    )
    # At the very moment of the last event, or after it, the trail stays in order.
    book("claim", "C4", "--rep", "bob")


def test_release_lock_and_unlock_before_the_latest_event_are_refused(book):
    book("lock", "C1", "--reason", "tender", now=LATER)
    for command in (["release", "C1"], ["unlock", "C1"], ["lock", "C1", "--reason", "again"]):
        result = book.fails(*command)
        assert "(locked on 2027-01-05 09:00)" in result.stderr, result.stderr
    book("unlock", "C1", now=LATER)
    book("release", "C1", now=LATER)


def test_a_rep_leaving_before_an_event_of_their_book_is_refused_whole(book):
    result = book.fails("rep", "leave", "alice", now=BEFORE_IMPORT)
    assert "this rep leave at 2026-11-01 09:00" in result.stderr
    assert "(imported on 2026-11-29 09:00)" in result.stderr
    assert book.json("rep", "leave", "alice")["released"] == 2


def test_assign_refuses_a_named_customer_and_passes_over_others_whose_trail_is_later(book):
    # C5 was claimed and released on 5 January 2027: its trail runs past 30 December.
    book("claim", "C5", "--rep", "bob", now=LATER)
    book("release", "C5", now=LATER)
    result = book.fails("assign", "C5", "--to", "alice", now="2026-12-30T09:00:00")
    assert "has a later event in its trail (released on 2027-01-05 09:00)" in result.stderr
    assigned = book.json("assign", "--to", "alice", now="2026-12-30T09:00:00")
    assert [a["name"] for a in assigned["assigned"]] == ["杭州云帆贸易有限公司"]
    assert book.sql("select owner_id from customer where external_id = 'C5'") == [(None,)]
    # From 5 January on it is assigned like any other.
    assert book.json("assign", "--to", "alice", now=LATER)["count"] == 1


def test_recycle_passes_over_a_customer_whose_trail_runs_past_the_run(book):
    # C1 is idle since 1 October, but was locked and unlocked in January 2027.
    book("lock", "C1", "--reason", "tender", now="2027-01-04T09:00:00")
    book("unlock", "C1", now=LATER)
    result = book.json("recycle", "--days", "30", now="2026-12-15T09:00:00")
    assert [r["name"] for r in result["recycled"]] == ["Blue River Foods"]
    assert book.sql(
        "select r.name from customer c join rep r on r.id = c.owner_id where c.external_id = 'C1'"
    ) == [("alice",)]
    later = book.json("recycle", "--days", "30", now="2027-01-06T09:00:00")
    assert "Acme Logistics" in [r["name"] for r in later["recycled"]]
    # Every customer's trail reads in time order, as written.
    rows = book.sql("select customer_id, at, id from event order by customer_id, id")
    for (c1, at1, _), (c2, at2, _) in pairwise(rows):
        if c1 == c2:
            assert utc(at1) <= utc(at2)

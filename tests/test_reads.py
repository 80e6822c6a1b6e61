"""storage.reads: independent reads sent together, never past a session's own changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, literal, select

from salespool.models import Rep
from salespool.storage.reads import SIDE_BY_SIDE, read_all


def test_read_all_answers_each_statement_in_order(store):
    """On a read session (side by side on PostgreSQL) the rows come back in order."""
    statements = [select(literal(n)) for n in range(7)]
    with store.read() as session:
        assert session.info[SIDE_BY_SIDE]
        assert read_all(session, statements) == [[(n,)] for n in range(7)]


def test_read_all_sees_the_sessions_own_uncommitted_changes(store):
    """A write session's statements run on that session: they count its new rep."""
    counted = [select(func.count()).select_from(Rep), select(func.max(Rep.name))]
    with store.write() as session:
        assert not session.info.get(SIDE_BY_SIDE)
        session.add(Rep(name="zoe-uncommitted", role="rep", hired_at=datetime.now(UTC)))
        session.flush()
        (count,), (name,) = (rows[0] for rows in read_all(session, counted))
        assert count == 1 and name == "zoe-uncommitted"


def test_the_report_is_the_same_side_by_side_or_in_turn(book):
    """The report's numbers do not depend on how its reads were sent."""
    from conftest import opened

    from salespool.core.report import stage_report
    from salespool.render import plain
    from salespool.rules import HuntingRules

    book("log", "C1", "--rep", "alice", "--kind", "call")
    book("log", "C2", "--rep", "alice", "--kind", "wechat")
    as_of = datetime.now(UTC) + timedelta(minutes=1)
    reports = []
    with opened(book.url) as store:
        for side_by_side in (True, False):
            with store.read() as session:
                session.info[SIDE_BY_SIDE] = side_by_side
                result = stage_report(
                    session, as_of=as_of, since=as_of - timedelta(days=30), hunting=HuntingRules()
                )
                reports.append(plain(result))
    assert reports[0] == reports[1]
    assert reports[0]["totals"]["follow_ups"] >= 1 and reports[0]["reps"]

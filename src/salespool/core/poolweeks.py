"""The pool's flow week by week, read from the event trail: what came in, what went out,
and how many customers waited at each week's end.

Weeks are ISO calendar weeks (Monday first) in the team's time zone: those that meet
the report's window, the latest MAX_WEEKS of them, the current one up to the report's
moment. In: `recycled`, and `released` (a release, or a leaving rep's book, which
`rep leave` releases). Out: `claimed` and `assigned` from the pool. Every pool counts
(the named ones and the default), as the report's `pool` does.

The size at a week's end is the number of customers the trail puts in the pool at that
moment (as `report --as-of` reads it, core/timeline.py `owner_at`), counted back from
the pool now by the moves after it (`_add_sizes`). Three GROUP BY statements whatever the
number of weeks or customers, none a lookup per customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, select
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.hunting import period_starts
from salespool.core.timeline import OWNER_EVENTS
from salespool.models import Customer, Event, EventKind

MAX_WEEKS = 26  # half a year: a longer window shows its latest weeks
# The report's fields for the events that move customers into and out of the pool.
INTO = {
    EventKind.recycled.value: "recycled",
    EventKind.released.value: "released",
    EventKind.rep_left.value: "released",
}
OUT = {EventKind.claimed.value: "claimed", EventKind.assigned.value: "assigned"}


@dataclass
class PoolWeek:
    week: str  # 2026-W48
    start: datetime  # its Monday's first moment
    end: datetime  # the next Monday's first moment, or the report's moment for the last week
    recycled: int = 0
    released: int = 0  # released by the owner, or with a leaving rep's book
    claimed: int = 0
    assigned: int = 0  # assigned from the pool
    size: int = 0  # customers in the pool at the week's end (see `_moment`)


def week_count(since: datetime, as_of: datetime) -> int:
    """How many calendar weeks the window meets (at least 1, at most MAX_WEEKS); a week
    more than the days would say covers a window that starts late in a week."""
    return max(1, min(MAX_WEEKS, (as_of - since).days // 7 + 2))


def pool_weeks(
    session: Session, *, since: datetime, as_of: datetime, tz: str = "UTC"
) -> list[PoolWeek]:
    """The pool's in, out and size per calendar week, oldest first, over the weeks that
    meet [since, as_of] (the latest MAX_WEEKS)."""
    starts = period_starts(as_of, tz, "week", week_count(since, as_of))
    # Drop the leading weeks that end before the window starts (the count can overshoot).
    while len(starts) > 1 and starts[1][1] <= since:
        starts.pop(0)
    stop = as_of + timedelta(microseconds=1)
    ends = [s for _, s in starts[1:]] + [as_of]
    weeks = [
        PoolWeek(week=label, start=start, end=end)
        for (label, start), end in zip(starts, ends, strict=True)
    ]
    _add_flow(session, weeks, stop)
    _add_sizes(session, weeks)
    return weeks


def _bucket(column, weeks: list[PoolWeek]):
    """SQL: the index of the week `column` falls in (the latest week whose start it passed)."""
    whens = [(column >= to_db(w.start), literal(i)) for i, w in reversed(list(enumerate(weeks)))]
    return case(*whens, else_=literal(-1)).label("week")


def _add_flow(session: Session, weeks: list[PoolWeek], stop: datetime) -> None:
    """One GROUP BY over the weeks' pool events: counts per week and kind."""
    kinds = [*INTO, *OUT]
    week = _bucket(Event.at, weeks)
    into_pool = Event.to_rep_id.is_(None)
    from_pool = Event.from_rep_id.is_(None)
    moved = case((Event.kind.in_(list(OUT)), from_pool), else_=into_pool)
    for index, kind, n in session.execute(
        select(week, Event.kind, func.count())
        .where(
            Event.kind.in_(kinds),
            Event.at >= to_db(weeks[0].start),
            Event.at < to_db(stop),
            moved,
        )
        .group_by(week, Event.kind)
    ):
        target = weeks[index]
        name = INTO.get(kind) or OUT[kind]
        setattr(target, name, getattr(target, name) + n)


def _moment(w: PoolWeek, last: bool) -> datetime:
    """When a week's size is read: its last microsecond, so that an event on the next
    Monday's first moment counts in the next week, as the flow counts it; the report's
    moment itself for the current week."""
    return w.end if last else w.end - timedelta(microseconds=1)


def _index(column, ends: list[datetime]):
    """SQL: the first of `ends` at or after `column` (len(ends) when after them all)."""
    whens = [(column <= end, literal(i)) for i, end in enumerate(ends)]
    return case(*whens, else_=literal(len(ends)))


def _add_sizes(session: Session, weeks: list[PoolWeek]) -> None:
    """Each week's pool at its end, counted back from the pool as it stands.

    A customer in the pool now was in it at a week's end unless the owner events after that
    end moved it: each such event moved it into the pool (+1: to the pool from a rep) or out
    (-1: from the pool to a rep), or neither, and the trail chains them (each event's
    `from` is the owner the one before it left), so the pool at `end` is the pool now less
    the moves after `end`. An `imported` event starts a customer's trail and moves nothing
    (before it the customer stood where the import put it, as `owner_at` reads it); a
    customer created after `end` counts for neither side. Two GROUP BYs: the pool's
    customers by when they were created, the moves after the first week's end by when they
    happened and when their customer was created.
    """
    ends = [to_db(_moment(w, i == len(weeks) - 1)) for i, w in enumerate(weeks)]
    created = _index(Customer.created_at, ends).label("created")
    waiting = dict(
        session.execute(
            select(created, func.count()).where(Customer.owner_id.is_(None)).group_by(created)
        ).all()
    )
    into = case((Event.to_rep_id.is_(None), 1), else_=0)
    out_of = case((Event.from_rep_id.is_(None), 1), else_=0)
    happened = _index(Event.at, ends).label("happened")
    moves = session.execute(
        select(happened, created, func.sum(into - out_of))
        .join(Customer, Customer.id == Event.customer_id)
        .where(
            Event.at > ends[0],
            Event.kind.in_([k for k in OWNER_EVENTS if k != EventKind.imported.value]),
        )
        .group_by(happened, created)
    ).all()
    for k, w in enumerate(weeks):
        size = sum(n for i, n in waiting.items() if i <= k)
        size -= sum(int(n or 0) for j, i, n in moves if j > k and i <= k)
        w.size = size

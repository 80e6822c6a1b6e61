"""The pool's flow week by week, read from the event trail: what came in, what went out,
and how many customers waited at each week's end.

Weeks are ISO calendar weeks (Monday first) in the team's time zone: those that meet
the report's window, the latest MAX_WEEKS of them, the current one up to the report's
moment. In: `recycled`, and `released` (a release, or a leaving rep's book, which
`rep leave` releases). Out: `claimed` and `assigned` from the pool. Every pool counts
(the named ones and the default), as the report's `pool` does.

The size at a week's end is the number of customers the trail puts in the pool at that
moment (core/timeline.py `owner_at`, as `report --as-of` reads it). Only customers with
an owner-changing event after the first week's end can have stood otherwise than they
stand now, so the correlated lookups run over those alone; the rest are one count.
Three statements whatever the number of weeks or customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, literal, select
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.hunting import period_starts
from salespool.core.timeline import OWNER_EVENTS, at_value, owner_at
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


def _add_sizes(session: Session, weeks: list[PoolWeek]) -> None:
    """Each week's pool at its end: the untouched customers as they stand now, counted
    once, plus the touched ones read back from the trail."""
    ends = [to_db(_moment(w, i == len(weeks) - 1)) for i, w in enumerate(weeks)]
    first_end = ends[0]
    touched = (
        select(Event.customer_id)
        .where(Event.at > first_end, Event.kind.in_(OWNER_EVENTS))
        .distinct()
        .scalar_subquery()
    )

    def created_by(end: datetime):
        return Customer.created_at <= end

    steady = session.execute(
        select(
            *(func.coalesce(func.sum(case((created_by(end), 1), else_=0)), 0) for end in ends)
        ).where(Customer.owner_id.is_(None), Customer.id.not_in(touched))
    ).one()
    moved = session.execute(
        select(
            *(
                func.coalesce(
                    func.sum(
                        case(
                            (
                                and_(
                                    created_by(end),
                                    owner_at(Customer.id, at_value(end), Customer.owner_id).is_(
                                        None
                                    ),
                                ),
                                1,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                )
                for end in ends
            )
        ).where(Customer.id.in_(touched))
    ).one()
    for w, a, b in zip(weeks, steady, moved, strict=True):
        w.size = int(a) + int(b)

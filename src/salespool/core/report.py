"""The stage report: per rep, where customers stand and what was done in a window.

With `reconstruct`, where customers stood (owner and stage) is read back from
the event trail as of the report's moment (core/timeline.py), so a report can
be run as it would have been on a past date; activity is always filtered by date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.hunting import (
    WINDOW,
    PeriodShare,
    acquired_query,
    hunting_spans,
    hunting_stats,
    share,
    total_history,
)
from salespool.core.pools import pool_flow
from salespool.core.poolweeks import PoolWeek, pool_weeks
from salespool.core.reps import find_rep
from salespool.core.tally import TallyPlan, by_kind, tally_plan
from salespool.core.timeline import at_value, owner_at, stage_at
from salespool.core.tmodel import ChannelShare, t_model
from salespool.errors import BadInput
from salespool.models import Customer, Deal, Event, EventKind, Rep, Stage
from salespool.money import to_decimal
from salespool.rules import HuntingRules
from salespool.storage.reads import read_all


@dataclass
class RepReport:
    rep: str
    role: str
    stages: dict[str, int]
    customers: int
    follow_ups: int
    follow_ups_by_kind: dict[str, int]
    deals: int
    deal_amount: Decimal
    claimed: int
    assigned: int
    recycled_away: int
    released: int
    # The window's releases by their reason (`release.reasons`), "(no reason)" for none given.
    released_by_reason: dict[str, int] = field(default_factory=dict)
    # The order-follower (跟单) report, see core/hunting.py.
    hunting: int = 0
    farming: int = 0
    hunting_share: float | None = None
    new_customers: int = 0
    hunting_history: list[PeriodShare] = field(default_factory=list)
    order_follower: bool = False
    # The T-model (core/tmodel.py): online share per period, referrals, repeat orders.
    online_history: list[ChannelShare] = field(default_factory=list)
    referrals: int = 0
    buying_customers: int = 0
    repeat_customers: int = 0
    repeat_rate: float | None = None


@dataclass
class Report:
    as_of: datetime
    since: datetime
    pool: int
    reps: list[RepReport]
    totals: RepReport = field(repr=False)
    # How the hunting figures were judged (None when they were not asked for).
    hunting_rule: HuntingRules | None = None
    # Whether owners and stages were read back from the event trail (--as-of).
    reconstructed: bool = False
    # Each pool (default first): size now, in/out and median days in it over the window.
    pools: list[dict[str, object]] = field(default_factory=list)
    # The team's online share per period (the T-model's trend), with `hunting` only.
    online_trend: list[ChannelShare] = field(default_factory=list)
    # The whole pool per calendar week over the window: in, out, size at the week's end
    # (with `weekly` only: three more GROUP BYs, which the everyday report does without).
    pool_weeks: list[PoolWeek] = field(default_factory=list)


def _empty(rep: str, role: str) -> RepReport:
    return RepReport(
        rep=rep,
        role=role,
        stages={s.value: 0 for s in Stage},
        customers=0,
        follow_ups=0,
        follow_ups_by_kind={},
        deals=0,
        deal_amount=Decimal("0.00"),
        claimed=0,
        assigned=0,
        recycled_away=0,
        released=0,
    )


def stage_report(
    session: Session,
    *,
    as_of: datetime,
    since: datetime,
    rep: str | None = None,
    tz: str = "UTC",
    hunting: HuntingRules | None = None,
    reconstruct: bool = False,
    weekly: bool = False,
) -> Report:
    """Counts by stage now (or as of `as_of`, from the trail, with `reconstruct`), and
    activity between `since` and `as_of`, with GROUP BY queries; with `hunting`, the
    hunting/farming split, new customers and the order-follower flag too; with `weekly`,
    the pool's flow and size per calendar week (core/poolweeks.py)."""
    if since > as_of:
        raise BadInput("the window starts after the report's end", option="since")
    start, end = to_db(since), to_db(as_of)
    reps = _reps(session, rep, start)
    ids = list(reps)
    # One pass over the follow-ups serves the kinds here and the hunting split below.
    plan = tally_plan(rep_ids=ids, spans=hunting_spans(since, as_of, tz, hunting))
    # One rep's counts are small: not worth a connection each.
    heavy = len(ids) > 1
    with_new = bool(ids) and hunting is not None
    if reconstruct:
        book, pool = _book_as_of(session, end)
        # The new customers go in the tally's batch, before it, as in _read_now.
        first = [acquired_query(rep_ids=ids, start=since, end=as_of)] if with_new else []
        results = read_all(session, [*first, *plan.statements], heavy=heavy)
        head, tail = results[: len(first)], results[len(first) :]
        new = dict(head[0]) if with_new else {}
        tally = plan.collect(tail)
    else:
        book, pool, tally, new = _read_now(session, ids, plan, since, as_of, with_new, heavy)
    for rid, stage, n in book:
        if rid in reps:
            reps[rid].stages[stage] = reps[rid].stages.get(stage, 0) + n
            reps[rid].customers += n
    for rid, counts in tally[WINDOW].items():
        reps[rid].follow_ups_by_kind = by_kind(counts)
        reps[rid].follow_ups = sum(counts.values())
    if ids:
        _add_activity(session, reps, start, end)
    if hunting is not None:
        stats = hunting_stats(
            session,
            rep_ids=ids,
            since=since,
            as_of=as_of,
            tz=tz,
            rules=hunting,
            tally=tally,
            new=new,
        )
        for rid, one in stats.items():
            for attr, value in vars(one).items():
                setattr(reps[rid], attr, value)
    listed = list(reps.values())
    totals = _sum(listed)
    trend = _add_t_model(session, reps, totals, since, as_of, tz, hunting)
    return Report(
        as_of=as_of,
        since=since,
        pool=pool,
        reps=listed,
        totals=totals,
        hunting_rule=hunting,
        reconstructed=reconstruct,
        pools=[f.as_dict() for f in pool_flow(session, since=since, as_of=as_of)],
        online_trend=trend,
        pool_weeks=pool_weeks(session, since=since, as_of=as_of, tz=tz) if weekly else [],
    )


def _add_t_model(
    session: Session,
    reps: dict[int, RepReport],
    totals: RepReport,
    since: datetime,
    as_of: datetime,
    tz: str,
    hunting: HuntingRules | None,
) -> list[ChannelShare]:
    """The T-model figures into each rep's report and the totals; the team's online trend.
    Over the hunting history's periods, so only with `hunting`."""
    if hunting is None:
        return []
    found = t_model(session, rep_ids=list(reps), since=since, as_of=as_of, tz=tz, rules=hunting)
    for rid, one in found.reps.items():
        vars(reps[rid]).update(vars(one))
    vars(totals).update(vars(found.team))
    return found.team.online_history


def _reps(session: Session, rep: str | None, start: datetime) -> dict[int, RepReport]:
    """The report's reps, empty, by id: the one named, else all but those who left before
    the window."""
    query = select(Rep.id, Rep.name, Rep.role).order_by(Rep.name)
    if rep is not None:
        query = query.where(Rep.id == find_rep(session, rep, active=False).id)
    else:
        query = query.where(or_(Rep.left_at.is_(None), Rep.left_at >= start))
    return {rid: _empty(name, role) for rid, name, role in session.execute(query)}


def _read_now(
    session: Session,
    ids: list[int],
    plan: TallyPlan,
    since: datetime,
    as_of: datetime,
    with_new: bool,
    heavy: bool,
) -> tuple[list, int, dict, dict[int, int]]:
    """The book as it stands, the pool's size, the follow-up tally and (`with_new`, which
    needs `ids`) the new customers, else {}: the biggest reads, independent of each other,
    sent together (storage.reads: side by side on a server), the longest first."""
    queries = {}
    if ids:
        queries["book"] = _book_now(ids)
        if with_new:
            queries["new"] = acquired_query(rep_ids=ids, start=since, end=as_of)
    queries["pool"] = select(func.count()).select_from(Customer).where(Customer.owner_id.is_(None))
    results = read_all(session, [*queries.values(), *plan.statements], heavy=heavy)
    head, tail = results[: len(queries)], results[len(queries) :]
    got = dict(zip(queries, head, strict=True))
    new = dict(got["new"]) if "new" in got else {}
    return got.get("book", []), got["pool"][0][0], plan.collect(tail), new


def _book_now(ids: list[int]):
    """The query of (owner, stage, count) of the reps' customers as they stand."""
    return (
        select(Customer.owner_id, Customer.stage, func.count())
        .where(Customer.owner_id.in_(ids))
        .group_by(Customer.owner_id, Customer.stage)
    )


def _add_activity(
    session: Session, reps: dict[int, RepReport], start: datetime, end: datetime
) -> None:
    """The window's deals, and customers taken and lost, into each rep's report."""
    ids = list(reps)
    for rid, n, amount in session.execute(
        select(Deal.rep_id, func.count(), func.sum(Deal.amount_minor))
        .where(Deal.rep_id.in_(ids), Deal.at >= start, Deal.at <= end, Deal.voided_at.is_(None))
        .group_by(Deal.rep_id)
    ):
        reps[rid].deals = n
        reps[rid].deal_amount = to_decimal(amount)
    taken = (EventKind.claimed, EventKind.assigned)
    lost = (EventKind.recycled, EventKind.released)
    for side, kinds, named in ((Event.to_rep_id, taken, {}), (Event.from_rep_id, lost, LOST)):
        for rid, kind, n in session.execute(
            select(side, Event.kind, func.count())
            .where(
                side.in_(ids),
                Event.kind.in_([k.value for k in kinds]),
                Event.at >= start,
                Event.at <= end,
            )
            .group_by(side, Event.kind)
        ):
            setattr(reps[rid], named.get(kind, kind), n)
    for rid, reason, n in session.execute(
        select(Event.from_rep_id, Event.reason, func.count())
        .where(
            Event.from_rep_id.in_(ids),
            Event.kind == EventKind.released.value,
            Event.at >= start,
            Event.at <= end,
        )
        .group_by(Event.from_rep_id, Event.reason)
    ):
        key = (reason or "").strip() or NO_REASON
        counts = reps[rid].released_by_reason
        counts[key] = counts.get(key, 0) + n


NO_REASON = "(no reason)"  # released_by_reason's key for releases that gave none


# The report's field for each kind of event by which a rep lost a customer.
LOST = {EventKind.recycled.value: "recycled_away", EventKind.released.value: "released"}


def _book_as_of(session: Session, end: datetime) -> tuple[list[tuple[int, str, int]], int]:
    """(owner, stage, count) of the customers that existed at `end`, and the pool then.

    One GROUP BY over the customers, each one's owner and stage read from its latest
    event at or before `end` (correlated subqueries on the (customer_id, at) index).
    """
    moment = at_value(end)
    owner = owner_at(Customer.id, moment, Customer.owner_id)
    stage = stage_at(Customer.id, moment, Customer.stage)
    book, pool = [], 0
    for rid, st, n in session.execute(
        select(owner, stage, func.count()).where(Customer.created_at <= end).group_by(owner, stage)
    ):
        if rid is None:
            pool += n
        else:
            book.append((rid, st, n))
    return book, pool


def _sum(reports: list[RepReport]) -> RepReport:
    total = _empty("TOTAL", "")
    for r in reports:
        for stage, n in r.stages.items():
            total.stages[stage] = total.stages.get(stage, 0) + n
        for kind, n in r.follow_ups_by_kind.items():
            total.follow_ups_by_kind[kind] = total.follow_ups_by_kind.get(kind, 0) + n
        for attr in ("customers", "follow_ups", "deals", "claimed", "assigned"):
            setattr(total, attr, getattr(total, attr) + getattr(r, attr))
        total.recycled_away += r.recycled_away
        total.released += r.released
        for reason, n in r.released_by_reason.items():
            total.released_by_reason[reason] = total.released_by_reason.get(reason, 0) + n
        total.deal_amount += r.deal_amount
        total.hunting += r.hunting
        total.farming += r.farming
        total.new_customers += r.new_customers
    total.hunting_share = share(total.hunting, total.farming)
    total.hunting_history = total_history([r.hunting_history for r in reports])
    return total

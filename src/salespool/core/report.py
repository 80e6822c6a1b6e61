"""The stage report: per rep, where customers stand and what was done in a window."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.reps import find_rep
from salespool.errors import BadInput
from salespool.models import Customer, Deal, Event, EventKind, FollowUp, Rep, Stage
from salespool.money import to_decimal


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


@dataclass
class Report:
    as_of: datetime
    since: datetime
    pool: int
    reps: list[RepReport]
    totals: RepReport = field(repr=False)


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
    session: Session, as_of: datetime, since: datetime, rep: str | None = None
) -> Report:
    """Counts by stage now, and activity between `since` and `as_of`, with GROUP BY queries."""
    if since > as_of:
        raise BadInput("--since is after the report's end")
    start, end = to_db(since), to_db(as_of)
    rep_query = select(Rep.id, Rep.name, Rep.role).order_by(Rep.name)
    if rep is not None:
        rep_query = rep_query.where(Rep.id == find_rep(session, rep, active=False).id)
    else:
        rep_query = rep_query.where(or_(Rep.left_at.is_(None), Rep.left_at >= start))
    reps = {rid: _empty(name, role) for rid, name, role in session.execute(rep_query)}
    ids = list(reps)

    def rows(query):
        return session.execute(query).all() if ids else []

    for rid, stage, n in rows(
        select(Customer.owner_id, Customer.stage, func.count())
        .where(Customer.owner_id.in_(ids))
        .group_by(Customer.owner_id, Customer.stage)
    ):
        reps[rid].stages[stage] = reps[rid].stages.get(stage, 0) + n
        reps[rid].customers += n
    for rid, kind, n in rows(
        select(FollowUp.rep_id, FollowUp.kind, func.count())
        .where(FollowUp.rep_id.in_(ids), FollowUp.at >= start, FollowUp.at <= end)
        .group_by(FollowUp.rep_id, FollowUp.kind)
    ):
        reps[rid].follow_ups_by_kind[kind] = n
        reps[rid].follow_ups += n
    for rid, n, amount in rows(
        select(Deal.rep_id, func.count(), func.sum(Deal.amount_minor))
        .where(Deal.rep_id.in_(ids), Deal.at >= start, Deal.at <= end)
        .group_by(Deal.rep_id)
    ):
        reps[rid].deals = n
        reps[rid].deal_amount = to_decimal(amount)
    in_window = (Event.at >= start, Event.at <= end)
    for rid, kind, n in rows(
        select(Event.to_rep_id, Event.kind, func.count())
        .where(
            Event.to_rep_id.in_(ids),
            Event.kind.in_([EventKind.claimed.value, EventKind.assigned.value]),
            *in_window,
        )
        .group_by(Event.to_rep_id, Event.kind)
    ):
        setattr(reps[rid], kind, n)
    for rid, kind, n in rows(
        select(Event.from_rep_id, Event.kind, func.count())
        .where(
            Event.from_rep_id.in_(ids),
            Event.kind.in_([EventKind.recycled.value, EventKind.released.value]),
            *in_window,
        )
        .group_by(Event.from_rep_id, Event.kind)
    ):
        attr = "recycled_away" if kind == EventKind.recycled.value else "released"
        setattr(reps[rid], attr, n)

    pool = session.execute(
        select(func.count()).select_from(Customer).where(Customer.owner_id.is_(None))
    ).scalar_one()
    listed = list(reps.values())
    return Report(as_of=as_of, since=since, pool=pool, reps=listed, totals=_sum(listed))


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
        total.deal_amount += r.deal_amount
    return total

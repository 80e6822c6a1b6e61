"""Coaching: how each coach's rookies progress against the team's targets.

A rookie is any rep with a coach (`rep.coach_id`), whatever their role now. Days
are whole days since hire, rounded down, as for idleness: a milestone on day N
meets a target of N days, and a target of N days is missed once day N is over
without it. Milestones:

- first follow-up: the rookie's earliest follow-up;
- first negotiation: the earliest of a stage change of one of their customers
  to `negotiating` and a follow-up on a customer that stood in `negotiating`
  at the time (stage from the event trail);
- first won deal: the earliest deal credited to them.

Status: `qualified` when the first won deal came within its target (ready for
`rep set NAME --role rep`); else `behind` when any target's day is over and
its milestone did not come by then (a milestone reached late still counts as
missed until the rookie qualifies); else `on track`. A rookie who left is
judged as of the day they left.

With `commission.coach_override` on, each coach's card carries the override
they earned in a month (the month of the report's moment unless named, up to
that moment): the share of their rookies' deals, as `commission` pays it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import from_db, idle_days, to_db
from salespool.core.commission import coach_overrides, month_bounds, month_of
from salespool.core.reps import find_rep
from salespool.core.timeline import stage_at
from salespool.models import Customer, Deal, Event, EventKind, FollowUp, Rep, Stage
from salespool.money import to_decimal
from salespool.rules import CoachTargets

ON_TRACK, BEHIND, QUALIFIED = "on track", "behind", "qualified"
TAKEN_FROM_POOL = (EventKind.claimed.value, EventKind.assigned.value)


@dataclass
class RookieProgress:
    rep: str
    coach: str
    role: str
    hired_at: datetime
    left_at: datetime | None
    days_since_hire: int
    first_follow_up: datetime | None
    first_follow_up_days: int | None
    first_negotiation: datetime | None
    first_negotiation_days: int | None
    first_won: datetime | None
    first_won_days: int | None
    deals: int
    deal_amount: Decimal
    taken_from_pool: int
    converted: int
    status: str
    # Milestones whose target day is over without them (empty unless behind).
    missed: list[str] = field(default_factory=list)


@dataclass
class CoachCard:
    coach: str
    rookies: int = 0
    qualified: int = 0
    behind: int = 0
    on_track: int = 0
    avg_days_to_first_deal: float | None = None
    # The coach's share of their rookies' deals in the report's month (coach_override).
    coach_override: Decimal = Decimal("0.00")


@dataclass
class CoachingReport:
    as_of: datetime
    targets: CoachTargets
    coaches: list[CoachCard]
    rookies: list[RookieProgress]
    # The month the cards' coach_override covers, and the share (0: the rule is off).
    override_period: str | None = None
    coach_override: Decimal = Decimal("0")


def coaching(
    session: Session,
    *,
    as_of: datetime,
    targets: CoachTargets,
    coach: str | None = None,
    tz: str = "UTC",
    coach_override: Decimal = Decimal("0"),
    period: str | None = None,
) -> CoachingReport:
    """Each coach's rookies (or one coach's) with milestones, status and a scorecard;
    with `coach_override`, each coach's override in `period` (default: as_of's month).

    A handful of GROUP BY queries (earliest follow-up, negotiation, deal per rep),
    never a loop over the book.
    """
    end = to_db(as_of)
    mentor = aliased(Rep)
    query = (
        select(Rep, mentor.name)
        .join(mentor, mentor.id == Rep.coach_id)
        .where(Rep.hired_at <= end)
        .order_by(mentor.name, Rep.name)
    )
    cards: dict[str, CoachCard] = {}
    if coach is not None:
        chosen = find_rep(session, coach, active=False)
        query = query.where(Rep.coach_id == chosen.id)
        cards[chosen.name] = CoachCard(coach=chosen.name)
    rookies = session.execute(query).all()
    ids = [rep.id for rep, _ in rookies]

    first_follow_up = _by_rep(
        session,
        select(FollowUp.rep_id, func.min(FollowUp.at))
        .where(FollowUp.rep_id.in_(ids), FollowUp.at <= end)
        .group_by(FollowUp.rep_id),
    )
    first_negotiation = _first_negotiation(session, ids, end)
    deals = {
        rid: (from_db(first), n, to_decimal(amount))
        for rid, first, n, amount in session.execute(
            select(Deal.rep_id, func.min(Deal.at), func.count(), func.sum(Deal.amount_minor))
            .where(Deal.rep_id.in_(ids), Deal.at <= end, Deal.voided_at.is_(None))
            .group_by(Deal.rep_id)
        )
    }
    pool = _taken_and_converted(session, ids, end)

    progress = []
    for rep, coach_name in rookies:
        hired = from_db(rep.hired_at)
        left = from_db(rep.left_at)
        until = min(as_of, left) if left is not None else as_of
        won, n_deals, amount = deals.get(rep.id, (None, 0, Decimal("0.00")))
        taken, converted = pool.get(rep.id, (0, 0))
        row = RookieProgress(
            rep=rep.name,
            coach=coach_name,
            role=rep.role,
            hired_at=hired,
            left_at=left,
            days_since_hire=idle_days(hired, until),
            first_follow_up=first_follow_up.get(rep.id),
            first_follow_up_days=_day(hired, first_follow_up.get(rep.id)),
            first_negotiation=first_negotiation.get(rep.id),
            first_negotiation_days=_day(hired, first_negotiation.get(rep.id)),
            first_won=won,
            first_won_days=_day(hired, won),
            deals=n_deals,
            deal_amount=amount,
            taken_from_pool=taken,
            converted=converted,
            status=ON_TRACK,
        )
        row.status, row.missed = judge(row, targets)
        progress.append(row)
        _count(cards.setdefault(coach_name, CoachCard(coach=coach_name)), row)
    override_period = _add_overrides(session, cards, as_of, tz, coach_override, period)
    for card in cards.values():
        days = [
            r.first_won_days
            for r in progress
            if r.coach == card.coach and r.first_won_days is not None
        ]
        if days:
            card.avg_days_to_first_deal = round(sum(days) / len(days), 1)
    return CoachingReport(
        as_of=as_of,
        targets=targets,
        coaches=sorted(cards.values(), key=lambda c: c.coach),
        rookies=progress,
        override_period=override_period,
        coach_override=coach_override,
    )


def _add_overrides(
    session: Session,
    cards: dict[str, CoachCard],
    as_of: datetime,
    tz: str,
    share: Decimal,
    period: str | None,
) -> str | None:
    """Put each coach's override of the month (up to `as_of`) on their card; the month."""
    if period is None:
        period = month_of(as_of, tz)
    start, stop = month_bounds(period, tz)  # a bad month is refused even with the rule off
    if share <= 0:
        return None
    stop = min(stop, as_of + timedelta(microseconds=1))
    for line in coach_overrides(session, start=start, stop=stop, share=share):
        if line.coach in cards:
            cards[line.coach].coach_override += line.override
    return period.strip()


def judge(row: RookieProgress, targets: CoachTargets) -> tuple[str, list[str]]:
    """The rookie's status and the milestones they missed."""
    if row.first_won_days is not None and row.first_won_days <= targets.first_won_days:
        return QUALIFIED, []
    missed = [
        name
        for name, target, day in (
            ("first follow-up", targets.first_follow_up_days, row.first_follow_up_days),
            ("first negotiation", targets.first_negotiation_days, row.first_negotiation_days),
            ("first won deal", targets.first_won_days, row.first_won_days),
        )
        if (day is None and row.days_since_hire > target) or (day is not None and day > target)
    ]
    return (BEHIND, missed) if missed else (ON_TRACK, [])


def _count(card: CoachCard, row: RookieProgress) -> None:
    card.rookies += 1
    if row.status == QUALIFIED:
        card.qualified += 1
    elif row.status == BEHIND:
        card.behind += 1
    else:
        card.on_track += 1


def _day(hired: datetime, moment: datetime | None) -> int | None:
    """The day number after hire (0 = the day of hire) of a milestone, if reached."""
    if moment is None:
        return None
    return max(0, idle_days(hired, moment))


def _by_rep(session: Session, query) -> dict[int, datetime]:
    return {rid: from_db(at) for rid, at in session.execute(query) if at is not None}


def _first_negotiation(session: Session, ids: list[int], end: datetime) -> dict[int, datetime]:
    """Per rep: the earliest move of one of their customers to negotiating, or follow-up on one
    that stood in negotiating then."""
    if not ids:
        return {}
    moved = _by_rep(
        session,
        select(Event.to_rep_id, func.min(Event.at))
        .where(
            Event.to_rep_id.in_(ids),
            Event.kind == EventKind.stage_changed.value,
            Event.to_stage == Stage.negotiating.value,
            Event.at <= end,
        )
        .group_by(Event.to_rep_id),
    )
    now_stage = select(Customer.stage).where(Customer.id == FollowUp.customer_id).scalar_subquery()
    talked = _by_rep(
        session,
        select(FollowUp.rep_id, func.min(FollowUp.at))
        .where(
            FollowUp.rep_id.in_(ids),
            FollowUp.at <= end,
            stage_at(FollowUp.customer_id, FollowUp.at, now_stage) == Stage.negotiating.value,
        )
        .group_by(FollowUp.rep_id),
    )
    return {rid: min(d[rid] for d in (moved, talked) if rid in d) for rid in {*moved, *talked}}


def _taken_and_converted(
    session: Session, ids: list[int], end: datetime
) -> dict[int, tuple[int, int]]:
    """Per rep: customers they claimed or were assigned out of the pool, and how many of those
    got a deal credited to them after they took it."""
    if not ids:
        return {}
    took = aliased(Event)
    converted = exists().where(
        Deal.customer_id == took.customer_id,
        Deal.rep_id == took.to_rep_id,
        Deal.at >= took.at,
        Deal.at <= end,
        Deal.voided_at.is_(None),
    )
    query = (
        select(
            took.to_rep_id,
            func.count(took.customer_id.distinct()),
            func.count(case((converted, took.customer_id)).distinct()),
        )
        .where(
            took.to_rep_id.in_(ids),
            took.kind.in_(TAKEN_FROM_POOL),
            took.from_rep_id.is_(None),
            took.at <= end,
        )
        .group_by(took.to_rep_id)
    )
    return {rid: (taken, conv) for rid, taken, conv in session.execute(query)}

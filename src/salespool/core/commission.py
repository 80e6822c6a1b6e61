"""Commission for a calendar month: each deal credited to whoever owned its customer then.

The owner at the moment of a deal is read from the event trail (the latest
owner-changing event at or before the deal, core/timeline.py), so a customer
recycled and claimed again credits each deal to the rep who held it at the
time, and a deal recorded late (`deal --at`) still goes to the rep of that
day. `direct` and `online` deals count alike: a rep whose customer buys on the
online platform is paid for it. Should the trail put the customer in the pool
at that moment, the deal goes to the rep it was recorded for.

Money stays exact: the commission of each deal is its amount times the
channel's rate, rounded half up to the cent, computed in SQL in integer minor
units; a rep's commission is the sum of their deals' commissions.

Coaches are paid for teaching (`commission.coach_override`, 0 = off): a coach
earns that share of each deal credited to one of their rookies while a rookie.
A rookie is a rep with a coach (as in core/coach.py); who coached whom is not
kept over time (`rep set --coach` writes no trail), so the rookie's current
coach earns it, for the rookie's deals from their hire to their leaving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pendulum
from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.timeline import owner_at
from salespool.errors import BadInput
from salespool.models import Channel, Deal, Rep
from salespool.money import to_decimal

ROUNDING = "per deal, half up to the cent"
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_MAX_BIGINT = 2**63 - 1


@dataclass
class RepCommission:
    rep: str
    deals: int = 0
    amount: Decimal = Decimal("0.00")
    commission: Decimal = Decimal("0.00")
    direct_deals: int = 0
    direct_amount: Decimal = Decimal("0.00")
    direct_commission: Decimal = Decimal("0.00")
    online_deals: int = 0
    online_amount: Decimal = Decimal("0.00")
    online_commission: Decimal = Decimal("0.00")
    # What the rep earns as a coach on their rookies' deals, and all they are paid.
    coach_override: Decimal = Decimal("0.00")
    payout: Decimal = Decimal("0.00")


@dataclass
class CoachOverride:
    """One coach's override on one rookie's deals in a period: its own line of pay."""

    coach: str
    rookie: str
    deals: int
    amount: Decimal  # the rookie's deal amount the override is a share of
    override: Decimal
    kind: str = "coach override"


@dataclass
class CommissionReport:
    period: str
    start: datetime
    end: datetime  # the first moment after the period
    rates: dict[str, Decimal]
    reps: list[RepCommission]
    totals: RepCommission
    rounding: str = field(default=ROUNDING)
    coach_override: Decimal = Decimal("0")  # the share (commission.coach_override)
    coach_overrides: list[CoachOverride] = field(default_factory=list)


def month_of(moment: datetime, tz: str) -> str:
    """`2026-12`: the calendar month `moment` falls in, in the team's zone."""
    return pendulum.instance(moment).in_timezone(tz).format("YYYY-MM")


def month_bounds(period: str, tz: str) -> tuple[datetime, datetime]:
    """`2026-11` as [its first moment, the next month's first moment) in the team's zone."""
    match = _PERIOD.match(period.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise BadInput(f"'{period}' is not a month such as 2026-11", option="period")
    start = pendulum.datetime(int(match[1]), int(match[2]), 1, tz=tz)
    stop = start.add(months=1)
    return (
        datetime.fromtimestamp(start.timestamp(), UTC),
        datetime.fromtimestamp(stop.timestamp(), UTC),
    )


def _half_up_minor(amount_minor, rate: Decimal):
    """SQL: amount × rate rounded half up to a whole minor unit, in integers (amounts > 0)."""
    num, den = rate.as_integer_ratio()
    return (amount_minor * literal(2 * num) + literal(den)) // literal(2 * den)


def _credited():
    """SQL: the rep a deal is credited to, the customer's owner at the deal's moment."""
    return func.coalesce(owner_at(Deal.customer_id, Deal.at, Deal.rep_id), Deal.rep_id)


def commission(
    session: Session,
    *,
    period: str,
    tz: str,
    rates: dict[str, Decimal],
    coach_override: Decimal = Decimal("0"),
) -> CommissionReport:
    """Per rep: the period's deals credited to the owner at the time, amounts and commission;
    with `coach_override`, each coach's share of their rookies' deals too."""
    start, stop = month_bounds(period, tz)
    missing = [c.value for c in Channel if c.value not in rates]
    if missing:
        raise BadInput(f"no commission rate for {', '.join(missing)} deals")
    credited = _credited()
    earned = case(
        *(
            (Deal.channel == c.value, _half_up_minor(Deal.amount_minor, rates[c.value]))
            for c in Channel
        ),
        else_=_half_up_minor(Deal.amount_minor, rates[Channel.direct.value]),
    )
    rows = session.execute(
        select(credited, Deal.channel, func.count(), func.sum(Deal.amount_minor), func.sum(earned))
        .where(Deal.at >= to_db(start), Deal.at < to_db(stop), Deal.voided_at.is_(None))
        .group_by(credited, Deal.channel)
    ).all()
    for _rid, channel, _n, amount, _earned in rows:
        num, den = rates.get(channel, rates[Channel.direct.value]).as_integer_ratio()
        if amount * 2 * num + den > _MAX_BIGINT:  # each deal is at most the sum: none overflowed
            raise BadInput(
                f"commission.{channel} = {rates[channel]} has too many decimals for these amounts"
            )
    names = dict(
        session.execute(select(Rep.id, Rep.name).where(Rep.id.in_({r[0] for r in rows}))).all()
    )
    reps: dict[int, RepCommission] = {}
    totals = RepCommission(rep="TOTAL")
    for rid, channel, n, amount, earned_minor in rows:
        line = reps.setdefault(rid, RepCommission(rep=names[rid]))
        prefix = "online" if channel == Channel.online.value else "direct"
        for target in (line, totals):
            _add(target, prefix, n, to_decimal(amount), to_decimal(earned_minor))
    overrides = coach_overrides(session, start=start, stop=stop, share=coach_override)
    for line in overrides:
        coach = next((r for r in reps.values() if r.rep == line.coach), None)
        if coach is None:  # a coach with no deals of their own is paid all the same
            coach = reps.setdefault(-len(reps) - 1, RepCommission(rep=line.coach))
        coach.coach_override += line.override
        totals.coach_override += line.override
    for line in [*reps.values(), totals]:
        line.payout = line.commission + line.coach_override
    listed = sorted(reps.values(), key=lambda r: r.rep)
    return CommissionReport(
        period=period.strip(),
        start=start,
        end=stop,
        rates={c.value: rates[c.value] for c in Channel},
        reps=listed,
        totals=totals,
        coach_override=coach_override,
        coach_overrides=overrides,
    )


def coach_overrides(
    session: Session, *, start: datetime, stop: datetime, share: Decimal
) -> list[CoachOverride]:
    """Per coach and rookie: the rookie's deals in [start, stop) while a rookie, and the
    coach's share of them (each deal's rounded half up to the cent), by coach then rookie.

    One GROUP BY over the period's deals; nothing at all when the share is 0 (off).
    """
    if share <= 0:
        return []
    if share != share.quantize(Decimal("0.000001")):
        raise BadInput(f"commission.coach_override = {share} has more than 6 decimals")
    deals = (
        select(
            _credited().label("rep_id"),
            Deal.at.label("at"),
            Deal.amount_minor.label("amount_minor"),
        )
        .where(Deal.at >= to_db(start), Deal.at < to_db(stop), Deal.voided_at.is_(None))
        .subquery()
    )
    rookie = aliased(Rep)
    coach = aliased(Rep)
    earned = _half_up_minor(deals.c.amount_minor, share)
    rows = session.execute(
        select(
            coach.name, rookie.name, func.count(), func.sum(deals.c.amount_minor), func.sum(earned)
        )
        .select_from(deals)
        .join(rookie, rookie.id == deals.c.rep_id)
        .join(coach, coach.id == rookie.coach_id)
        .where(
            deals.c.at >= rookie.hired_at,
            or_(rookie.left_at.is_(None), deals.c.at < rookie.left_at),
        )
        .group_by(coach.name, rookie.name)
        .order_by(coach.name, rookie.name)
    ).all()
    return [
        CoachOverride(
            coach=c,
            rookie=r,
            deals=n,
            amount=to_decimal(amount),
            override=to_decimal(minor),
        )
        for c, r, n, amount, minor in rows
    ]


def _add(target: RepCommission, prefix: str, n: int, amount: Decimal, earned: Decimal) -> None:
    target.deals += n
    target.amount += amount
    target.commission += earned
    setattr(target, f"{prefix}_deals", getattr(target, f"{prefix}_deals") + n)
    setattr(target, f"{prefix}_amount", getattr(target, f"{prefix}_amount") + amount)
    setattr(target, f"{prefix}_commission", getattr(target, f"{prefix}_commission") + earned)

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pendulum
from sqlalchemy import case, func, literal, select
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


@dataclass
class CommissionReport:
    period: str
    start: datetime
    end: datetime  # the first moment after the period
    rates: dict[str, Decimal]
    reps: list[RepCommission]
    totals: RepCommission
    rounding: str = field(default=ROUNDING)


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


def commission(
    session: Session, *, period: str, tz: str, rates: dict[str, Decimal]
) -> CommissionReport:
    """Per rep: the period's deals credited to the owner at the time, amounts and commission."""
    start, stop = month_bounds(period, tz)
    missing = [c.value for c in Channel if c.value not in rates]
    if missing:
        raise BadInput(f"no commission rate for {', '.join(missing)} deals")
    credited = func.coalesce(owner_at(Deal.customer_id, Deal.at, Deal.rep_id), Deal.rep_id)
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
    listed = sorted(reps.values(), key=lambda r: r.rep)
    return CommissionReport(
        period=period.strip(),
        start=start,
        end=stop,
        rates={c.value: rates[c.value] for c in Channel},
        reps=listed,
        totals=totals,
    )


def _add(target: RepCommission, prefix: str, n: int, amount: Decimal, earned: Decimal) -> None:
    target.deals += n
    target.amount += amount
    target.commission += earned
    setattr(target, f"{prefix}_deals", getattr(target, f"{prefix}_deals") + n)
    setattr(target, f"{prefix}_amount", getattr(target, f"{prefix}_amount") + amount)
    setattr(target, f"{prefix}_commission", getattr(target, f"{prefix}_commission") + earned)

"""The T-model report: the shift to online trading, referrals and repeat orders.

The article's T: a rep's book is deep (deepening customers refer others and buy
again) and the trading moves online, where a leaving rep cannot take it along.
Per rep, beside the stage report (core/report.py):

- *online history*: per period (the hunting history's: `hunting.period` and
  `hunting.periods`, the current one up to the report's moment), the deal amount
  credited to the rep and the part of it through the `online` channel, and the
  customers trading with the rep (one deal or more) and those of them who
  traded online; the team's trend is the same over the report's reps together.
- *referrals*: customers created in the window whose referrer (`referred_by`)
  was owned by the rep when the referral came in (the owner the trail gives at
  the referred customer's `created_at`).
- *repeat rate*: of the customers with at least one deal credited to the rep
  (up to the report's moment, any time before), the share with two or more.

Voided deals count nowhere. Each figure is one GROUP BY over deals or customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.hunting import period_starts, share
from salespool.core.timeline import owner_at
from salespool.models import Channel, Customer, Deal
from salespool.money import to_decimal
from salespool.rules import HuntingRules


@dataclass
class ChannelShare:
    """One period's deals: amount and customers, and how much of each went online."""

    period: str
    start: datetime
    deal_amount: Decimal = Decimal("0.00")
    online_amount: Decimal = Decimal("0.00")
    online_share: float | None = None  # of the deal amount
    customers: int = 0  # customers with a deal in the period
    online_customers: int = 0  # of them, those with an online deal
    online_customer_share: float | None = None


@dataclass
class Deepening:
    online_history: list[ChannelShare] = field(default_factory=list)
    referrals: int = 0
    buying_customers: int = 0
    repeat_customers: int = 0
    repeat_rate: float | None = None


@dataclass
class TModel:
    reps: dict[int, Deepening]
    team: Deepening


def of(part: int, whole: int) -> float | None:
    """part / whole to 4 places; None when there is no whole."""
    return share(part, whole - part) if whole else None


def t_model(
    session: Session,
    *,
    rep_ids: list[int],
    since: datetime,
    as_of: datetime,
    tz: str,
    rules: HuntingRules,
) -> TModel:
    """Per rep and for the team: online share per period, referrals, repeat purchase rate."""
    periods = period_starts(as_of, tz, rules.period, rules.periods)
    reps = {rid: Deepening() for rid in rep_ids}
    team = Deepening()
    per_rep, per_team = _online(session, rep_ids, periods, as_of)
    for rid in rep_ids:
        reps[rid].online_history = per_rep.get(rid) or _blank(periods)
    team.online_history = per_team
    if rep_ids:
        for rid, n in _referrals(session, rep_ids, since, as_of):
            reps[rid].referrals = n
        for rid, buying, repeat in _repeat(session, rep_ids, as_of):
            reps[rid].buying_customers, reps[rid].repeat_customers = buying, repeat
    for one in reps.values():
        one.repeat_rate = of(one.repeat_customers, one.buying_customers)
        team.referrals += one.referrals
        team.buying_customers += one.buying_customers
        team.repeat_customers += one.repeat_customers
    team.repeat_rate = of(team.repeat_customers, team.buying_customers)
    return TModel(reps=reps, team=team)


def _blank(periods: list[tuple[str, datetime]]) -> list[ChannelShare]:
    return [ChannelShare(label, start) for label, start in periods]


def _online(
    session: Session, rep_ids: list[int], periods: list[tuple[str, datetime]], as_of: datetime
) -> tuple[dict[int, list[ChannelShare]], list[ChannelShare]]:
    """The deals of the periods by rep and period (and by period for the reps together)."""
    team = _blank(periods)
    if not rep_ids or not periods:
        return {}, team
    starts = [to_db(start) for _, start in periods]
    bucket = case(
        *((Deal.at < b, i) for i, b in enumerate(starts[1:])), else_=len(starts) - 1
    ).label("bucket")
    online = Deal.channel == Channel.online.value
    measures = (
        func.sum(Deal.amount_minor),
        func.sum(case((online, Deal.amount_minor), else_=0)),
        func.count(Deal.customer_id.distinct()),
        func.count(case((online, Deal.customer_id)).distinct()),
    )
    where = (
        Deal.rep_id.in_(rep_ids),
        Deal.at >= starts[0],
        Deal.at < to_db(as_of + timedelta(microseconds=1)),
        Deal.voided_at.is_(None),
    )
    per_rep: dict[int, list[ChannelShare]] = {}
    for rid, i, *values in session.execute(
        select(Deal.rep_id, bucket, *measures).where(*where).group_by(Deal.rep_id, bucket)
    ):
        _fill(per_rep.setdefault(rid, _blank(periods))[i], *values)
    for i, *values in session.execute(select(bucket, *measures).where(*where).group_by(bucket)):
        _fill(team[i], *values)
    return per_rep, team


def _fill(p: ChannelShare, amount: int, online: int, customers: int, online_customers: int):
    p.deal_amount, p.online_amount = to_decimal(amount), to_decimal(online)
    p.online_share = of(online, amount)
    p.customers, p.online_customers = customers, online_customers
    p.online_customer_share = of(online_customers, customers)


def _referrals(session: Session, rep_ids: list[int], since: datetime, as_of: datetime):
    """(rep, referrals): customers created in the window, by their referrer's owner then."""
    referrer = aliased(Customer)
    owner = owner_at(referrer.id, Customer.created_at, referrer.owner_id).label("rep_id")
    referred = (
        select(owner)
        .select_from(Customer)
        .join(referrer, referrer.id == Customer.referred_by_id)
        .where(
            # `> 0`, not IS NOT NULL, so SQLite starts from ix_customer_referred_by_id
            # (few customers were referred) instead of scanning the book by created_at.
            Customer.referred_by_id > 0,
            Customer.created_at >= to_db(since),
            Customer.created_at <= to_db(as_of),
        )
        .subquery()
    )
    return session.execute(
        select(referred.c.rep_id, func.count())
        .where(referred.c.rep_id.in_(rep_ids))
        .group_by(referred.c.rep_id)
    ).all()


def _repeat(session: Session, rep_ids: list[int], as_of: datetime):
    """(rep, customers with a deal credited to the rep, those with two or more)."""
    per_customer = (
        select(Deal.rep_id, Deal.customer_id, func.count().label("n"))
        .where(Deal.rep_id.in_(rep_ids), Deal.at <= to_db(as_of), Deal.voided_at.is_(None))
        .group_by(Deal.rep_id, Deal.customer_id)
        .subquery()
    )
    return session.execute(
        select(
            per_customer.c.rep_id,
            func.count(),
            func.sum(case((per_customer.c.n >= 2, 1), else_=0)),
        ).group_by(per_customer.c.rep_id)
    ).all()

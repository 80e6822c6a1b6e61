"""Deals after the fact: listing them with their ids, and voiding one entered by mistake.

A voided deal stays in the store, marked (`voided_at`, `void_reason`), with a
`deal_voided` event on its customer's trail; it counts nowhere after that: not in
commission, report or coach, not as a conversion or a recent deal for the recycling
rules: each of those queries filters on `Deal.voided_at IS NULL`.

Voiding changes nothing else: the customer's stage and last contact stay as they
are. A deal also counted as contact and may have moved a lead to `won`; undoing that
would guess at what the rep did meanwhile, and the trail already shows both the deal's
effect and the void, so a rep or manager corrects the stage with `log --stage` if needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, insert, select, update
from sqlmodel import Session

from salespool.clock import from_db, iso, to_db
from salespool.core.commission import month_bounds
from salespool.core.customers import find_customer
from salespool.core.reps import find_rep
from salespool.errors import BadInput, NotFound, Refused
from salespool.models import Customer, Deal, Event, EventKind, Rep
from salespool.money import to_decimal


@dataclass
class DealView:
    """A deal as shown to users and scripts (amount as an exact decimal, times aware UTC)."""

    id: int
    customer_id: int
    customer: str
    rep: str | None
    amount: Decimal
    channel: str
    at: datetime
    voided: bool
    voided_at: datetime | None
    void_reason: str | None
    external_id: str | None


def _select() -> Select:
    return (
        select(Deal, Customer.name, Rep.name)
        .join(Customer, Customer.id == Deal.customer_id)
        .outerjoin(Rep, Rep.id == Deal.rep_id)
    )


def _views(session: Session, query: Select) -> list[DealView]:
    # populate_existing: the void's UPDATE bypasses the identity map.
    rows = session.execute(query.execution_options(populate_existing=True))
    return [
        DealView(
            id=deal.id,
            customer_id=deal.customer_id,
            customer=customer,
            rep=rep,
            amount=to_decimal(deal.amount_minor),
            channel=deal.channel,
            at=from_db(deal.at),
            voided=deal.voided_at is not None,
            voided_at=from_db(deal.voided_at),
            void_reason=deal.void_reason,
            external_id=deal.external_id,
        )
        for deal, customer, rep in rows
    ]


def list_deals(
    session: Session,
    *,
    tz: str,
    customer: str | None = None,
    rep: str | None = None,
    period: str | None = None,
) -> list[DealView]:
    """Deals, voided ones included and marked, oldest first; by customer, rep or month.

    `rep` is the rep a deal was recorded for; `period` a month (`2026-11`) in zone `tz`.
    """
    query = _select().order_by(Deal.at, Deal.id)
    if customer is not None:
        query = query.where(Deal.customer_id == find_customer(session, customer).id)
    if rep is not None:
        query = query.where(Deal.rep_id == find_rep(session, rep, active=False).id)
    if period is not None:
        start, stop = month_bounds(period, tz)
        query = query.where(Deal.at >= to_db(start), Deal.at < to_db(stop))
    return _views(session, query)


def parse_deal_id(text: str) -> int:
    """A deal id as typed: `12` or `#12`."""
    digits = text.strip().removeprefix("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise BadInput(f"DEAL_ID: '{text}' is not a deal id (a number, as `salespool deals` shows)")
    return int(digits)


def void_deal(
    session: Session, *, now: datetime, actor: str, deal_id: int, reason: str
) -> DealView:
    """Mark a deal void, with why, and write a `deal_voided` event on its customer's trail.

    The deal stays, for the trail; stage and last contact are left as they are (see the
    module docstring). An unknown, already void deal, or an empty reason is refused.
    """
    reason = reason.strip()
    if not reason:
        raise BadInput("say why the deal is void", option="reason")
    found = _views(session, _select().where(Deal.id == deal_id))
    if not found:
        raise NotFound(f"no deal #{deal_id} (see `salespool deals`)")
    deal = found[0]
    if deal.voided:
        raise Refused(
            f"deal #{deal_id} is already void since {iso(deal.voided_at)}: {deal.void_reason}"
        )
    # Conditional on not being void yet: of two voids at once, one wins, one is refused.
    done = session.execute(
        update(Deal)
        .where(Deal.id == deal_id, Deal.voided_at.is_(None))
        .values(voided_at=to_db(now), void_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Refused(f"deal #{deal_id} was voided meanwhile")
    detail = {
        "deal_id": deal.id,
        "amount": str(deal.amount),
        "channel": deal.channel,
        "at": iso(deal.at),
        "rep": deal.rep,
        "reason": reason,
    }
    session.execute(
        insert(Event).values(
            customer_id=deal.customer_id,
            at=to_db(now),
            kind=EventKind.deal_voided.value,
            reason=f"deal #{deal.id} ({deal.amount} {deal.channel}) void: {reason}",
            actor=actor,
            detail=json.dumps(detail, ensure_ascii=False),
        )
    )
    return _views(session, _select().where(Deal.id == deal_id))[0]

"""A customer's trail: every change of owner, stage or details, and every void, oldest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import from_db
from salespool.core.customers import find_customer
from salespool.models import Event, Rep


@dataclass
class EventView:
    at: datetime
    kind: str
    from_rep: str | None
    to_rep: str | None
    from_stage: str | None
    to_stage: str | None
    reason: str | None
    actor: str | None
    # A correction's old and new values (`customer edit`, `customer merge`; `deal_voided`:
    # the deal's id, amount, channel, at, rep, reason), as stored in `event.detail`.
    detail: dict | None = None


def history(session: Session, *, customer: str) -> list[EventView]:
    """The events of one customer (as `find_customer` reads it), in the order they happened."""
    found = find_customer(session, customer)
    source, target = aliased(Rep), aliased(Rep)
    query = (
        select(Event, source.name, target.name)
        .outerjoin(source, source.id == Event.from_rep_id)
        .outerjoin(target, target.id == Event.to_rep_id)
        .where(Event.customer_id == found.id)
        .order_by(Event.at, Event.id)
    )
    return [
        EventView(
            at=from_db(e.at),
            kind=e.kind,
            from_rep=from_rep,
            to_rep=to_rep,
            from_stage=e.from_stage,
            to_stage=e.to_stage,
            reason=e.reason,
            actor=e.actor,
            detail=json.loads(e.detail) if e.detail else None,
        )
        for e, from_rep, to_rep in session.execute(query)
    ]

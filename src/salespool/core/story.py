"""A customer's whole story in one place: details, follow-ups with notes, deals and trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from salespool.clock import from_db
from salespool.core.contact import ClockFrom, clock_from
from salespool.core.customers import CustomerView, find_customer, get_view
from salespool.core.deals import DealView, list_deals
from salespool.core.history import EventView, history
from salespool.models import FollowUp, Rep
from salespool.rules import RecycleRules


@dataclass
class FollowUpView:
    """A follow-up as shown: who, how, what was said, and the next step it set."""

    id: int
    at: datetime
    rep: str
    kind: str
    stage: str | None
    note: str | None
    next_at: datetime | None


@dataclass
class CustomerStory:
    """Everything about one customer; every list newest first."""

    customer: CustomerView
    follow_ups: list[FollowUpView]
    deals: list[DealView]  # voided ones included, marked `voided`
    events: list[EventView]  # the trail, locks and unlocks among them
    # The contact the idleness clock runs from (None in the pool), see core/contact.py.
    clock_from: ClockFrom | None = None


def _follow_ups(session: Session, customer_id: int) -> list[FollowUpView]:
    query = (
        select(FollowUp, Rep.name)
        .join(Rep, Rep.id == FollowUp.rep_id)
        .where(FollowUp.customer_id == customer_id)
        .order_by(FollowUp.at.desc(), FollowUp.id.desc())
    )
    return [
        FollowUpView(
            id=f.id,
            at=from_db(f.at),
            rep=rep,
            kind=f.kind,
            stage=f.stage,
            note=f.note,
            next_at=from_db(f.next_at),
        )
        for f, rep in session.execute(query)
    ]


def customer_story(
    session: Session,
    *,
    customer: str,
    now: datetime,
    tz: str,
    rules: RecycleRules | None = None,
) -> CustomerStory:
    """One customer (as `find_customer` reads `customer`) with its follow-ups, deals and trail.

    `tz` is the team's zone (the deals' months are read in it); `rules` say which contact
    the idleness clock runs from (recycle.clock_kinds, min_note_chars), and so idle days.
    """
    found = find_customer(session, customer)
    # By id from here on: the same customer, even when `customer` was a merged-away id.
    key = f"#{found.id}"
    return CustomerStory(
        clock_from=clock_from(session, customer_id=found.id, rules=rules),
        customer=get_view(session, found.id, now=now, rules=rules),
        follow_ups=_follow_ups(session, found.id),
        deals=list_deals(session, tz=tz, customer=key)[::-1],
        events=history(session, customer=key)[::-1],
    )

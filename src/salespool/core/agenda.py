"""A rep's agenda: the next steps still open, and the customers the rules will recycle soon.

A next step is the `next_at` of a customer's latest follow-up (by time, then id):
any later follow-up closes it, whether or not that one sets a new step. Only steps
the current owner set count: a customer recycled or handed over takes its old
owner's plans with it. Recycling items are `recycle.due()`'s, so the agenda and
`due` always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import from_db, to_db
from salespool.core.recycle import due
from salespool.core.reps import find_rep
from salespool.errors import BadInput
from salespool.models import Customer, FollowUp, Rep
from salespool.rules import RecycleRules

NEXT_STEP = "next_step"
RECYCLE = "recycle"


@dataclass
class AgendaItem:
    """One thing on a rep's agenda: a next step to take, or a customer about to be recycled."""

    rep: str
    customer_id: int
    customer: str
    what: str  # "next_step" or "recycle"
    when: datetime  # the step's time; the moment the customer becomes recyclable
    date: str  # `when`'s date in the team's time zone
    overdue: bool  # the step's time has passed; the customer is recyclable already
    note: str | None  # the follow-up's note; the recycling rule


def _next_steps(
    session: Session, *, now: datetime, horizon: datetime, rep_id: int | None
) -> list[tuple]:
    """(owner, customer id, name, next_at, note) of the open steps due by `horizon`."""
    later = aliased(FollowUp)
    newer = exists().where(
        later.customer_id == FollowUp.customer_id,
        or_(later.at > FollowUp.at, and_(later.at == FollowUp.at, later.id > FollowUp.id)),
    )
    query = (
        select(Rep.name, Customer.id, Customer.name, FollowUp.next_at, FollowUp.note)
        .join(Customer, Customer.id == FollowUp.customer_id)
        .join(Rep, Rep.id == Customer.owner_id)
        .where(
            FollowUp.next_at.is_not(None),
            FollowUp.next_at <= to_db(horizon),
            FollowUp.rep_id == Customer.owner_id,
            ~newer,
        )
    )
    if rep_id is not None:
        query = query.where(Customer.owner_id == rep_id)
    return list(session.execute(query))


def agenda(
    session: Session,
    *,
    now: datetime,
    rules: RecycleRules | None = None,
    rep: str | None = None,
    within: int = 7,
    tz: str = "UTC",
) -> list[AgendaItem]:
    """What each rep has to do within `within` days: open next steps, overdue ones
    included, and the customers the rules will recycle; by rep, then soonest first.
    """
    if within < 0:
        raise BadInput(f"{within} must be 0 or more", option="within")
    rep_id = find_rep(session, rep, active=False).id if rep is not None else None
    zone = ZoneInfo(tz)
    horizon = now + timedelta(days=within)
    items = []
    for owner, cid, name, next_at, note in _next_steps(
        session, now=now, horizon=horizon, rep_id=rep_id
    ):
        when = from_db(next_at)
        items.append(
            AgendaItem(
                rep=owner,
                customer_id=cid,
                customer=name,
                what=NEXT_STEP,
                when=when,
                date=when.astimezone(zone).strftime("%Y-%m-%d"),
                overdue=when < now,
                note=note,
            )
        )
    for d in due(session, now=now, tz=tz, within=within, rep=rep, rules=rules):
        items.append(
            AgendaItem(
                rep=d.owner,
                customer_id=d.id,
                customer=d.name,
                what=RECYCLE,
                when=d.due_at,
                date=d.due_date,
                overdue=d.due_at <= now,
                note=d.reason,
            )
        )
    items.sort(key=lambda i: (i.rep, i.when, i.what, i.customer_id))
    return items

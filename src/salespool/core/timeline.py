"""The book as it stood at a past moment, read back from the event trail.

Every event records the owner after it (`to_rep_id`, null for the pool). The
owner at a moment is the one left by its latest event at or before that moment;
a moment before its first event (a follow-up or a deal back-filled with `--at`,
a customer imported with its history) reads the owner that first event started
from: the one an `imported` event brought in, else the event's `from_` side.

The stage is set only by the events that change it (`stage_changed`: from one
stage to another); the others (claim, lock, import...) carry the stage the store
had when they were written. A change back-dated with `--at` holds from its moment
until the next change, whatever later events carry, and the current stage is the
latest change's (`latest_stage`).

A trail is written in time order, except for the back-dated work that `log` and
`deal` may do: every other command writes at its own moment (`--now`) and is
refused, or passes a customer over, when that customer's trail already holds a
later event (`refuse_out_of_order`, `in_order`).

These are SQL expressions (correlated scalar subqueries served by the
`ix_event_customer_at` index), to be used inside set-based statements.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import from_db, shown, to_db
from salespool.errors import Refused
from salespool.models import Customer, Event, EventKind, FollowUp

# Events that move a customer between owners (or to and from the pool).
OWNER_EVENTS = (
    EventKind.imported.value,
    EventKind.claimed.value,
    EventKind.assigned.value,
    EventKind.released.value,
    EventKind.recycled.value,
    EventKind.rep_left.value,
)
# Rep ids start at 1: 0 stands for "the pool" so that NULL can mean "no event".
_POOL = 0


def owner_at(customer_id: ColumnElement, moment: ColumnElement, fallback: ColumnElement):
    """The owner's rep id (NULL: in the pool) at `moment`; `fallback` when the trail is silent."""
    before = aliased(Event)
    after = aliased(Event)
    latest = (
        select(func.coalesce(before.to_rep_id, _POOL))
        .where(
            before.customer_id == customer_id,
            before.at <= moment,
            before.kind.in_(OWNER_EVENTS),
        )
        .order_by(before.at.desc(), before.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    started_from = case(
        (after.kind == EventKind.imported.value, after.to_rep_id), else_=after.from_rep_id
    )
    first = (
        select(func.coalesce(started_from, _POOL))
        .where(after.customer_id == customer_id, after.at > moment, after.kind.in_(OWNER_EVENTS))
        .order_by(after.at.asc(), after.id.asc())
        .limit(1)
        .scalar_subquery()
    )
    return func.nullif(func.coalesce(latest, first, func.coalesce(fallback, _POOL)), _POOL)


def changes_stage(event) -> ColumnElement[bool]:
    """SQL: `event` moves the customer from one stage to another (it does not just carry one)."""
    return and_(
        event.from_stage.is_not(None),
        event.to_stage.is_not(None),
        event.from_stage != event.to_stage,
    )


def stage_at(customer_id: ColumnElement, moment: ColumnElement, fallback: ColumnElement):
    """The customer's stage at `moment`; `fallback` (its stage now) when no event changed it.

    The latest change at or before `moment` set it; before the first change, it is
    the stage that change started from.
    """
    before = aliased(Event)
    after = aliased(Event)
    latest = (
        select(before.to_stage)
        .where(before.customer_id == customer_id, before.at <= moment, changes_stage(before))
        .order_by(before.at.desc(), before.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    first = (
        select(after.from_stage)
        .where(after.customer_id == customer_id, after.at > moment, changes_stage(after))
        .order_by(after.at.asc(), after.id.asc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest, first, fallback)


def latest_stage(customer_id: ColumnElement, fallback: ColumnElement) -> ColumnElement:
    """The stage the customer's latest change left it in (the current stage); else `fallback`."""
    e = aliased(Event)
    latest = (
        select(e.to_stage)
        .where(e.customer_id == customer_id, changes_stage(e))
        .order_by(e.at.desc(), e.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest, fallback)


def at_value(moment) -> ColumnElement:
    """A bound moment usable where a column is expected."""
    return literal(moment, Event.at.type)


def followup_stage(customer_id: ColumnElement, moment: ColumnElement) -> ColumnElement:
    """The stage a follow-up stores: its customer's stage at `moment`, from the trail."""
    now_stage = select(Customer.stage).where(Customer.id == customer_id).scalar_subquery()
    return stage_at(customer_id, moment, now_stage)


def steady_stage(customer_id: ColumnElement) -> ColumnElement:
    """The customer's stage if no event ever moved it (then it is its stage at any
    moment, and followup_stage's answer), else NULL."""
    c = aliased(Customer)  # its own name, so it never correlates to an outer customer
    return select(c.stage).where(c.id == customer_id, never_moved(c)).scalar_subquery()


def never_moved(c) -> ColumnElement[bool]:
    """No event ever moved customer `c` (an alias of Customer) off its stage."""
    return ~(
        select(Event.id)
        .where(
            Event.customer_id == c.id,
            or_(
                and_(Event.to_stage.is_not(None), Event.to_stage != c.stage),
                and_(Event.from_stage.is_not(None), Event.from_stage != c.stage),
            ),
        )
        .exists()
    )


def fill_followup_stages(conn: Connection, where: ColumnElement[bool]) -> int:
    """Set the stored stage of the follow-ups matching `where`, in one UPDATE."""
    f = FollowUp.__table__.c
    return conn.execute(
        update(FollowUp.__table__).where(where).values(stage=followup_stage(f.customer_id, f.at))
    ).rowcount


# --- keeping the trail in time order ------------------------------------------------


def latest_event_at(session: Session) -> datetime | None:
    """The latest moment of any event in the store: one seek per kind on the (kind, at) index."""
    per_kind = union_all(
        *(select(func.max(Event.at).label("at")).where(Event.kind == k.value) for k in EventKind)
    ).subquery()
    return from_db(session.execute(select(func.max(per_kind.c.at))).scalar())


def in_order(session: Session, *, at: datetime) -> ColumnElement[bool]:
    """SQL on Customer: its trail holds no event after `at`, so one written at `at` keeps order.

    Plain true when no event in the whole store is later (the usual case), so a
    batch over the book pays nothing for it.
    """
    if not _later_than(session, at):
        return true()
    later = select(Event.id).where(Event.customer_id == Customer.id, Event.at > to_db(at))
    return ~later.exists()


def refuse_out_of_order(
    session: Session, which: ColumnElement[bool], *, at: datetime, what: str, tz: str
) -> None:
    """Refuse writing an event at `at` for the customers `which` selects (a condition on
    Customer) when one of them already has a later event: its trail would run backwards.

    The message names the first such customer, its latest event and that event's date.
    """
    if not _later_than(session, at):
        return
    e = aliased(Event)
    row = session.execute(
        select(Customer.name, e.kind, e.at)
        .join(e, e.customer_id == Customer.id)
        .where(which, e.at > to_db(at))
        .order_by(Customer.id, e.at.desc(), e.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return
    name, kind, later = row
    raise Refused(
        f"'{name}' has a later event in its trail ({kind} on {shown(from_db(later), tz)}) than "
        f"this {what} at {shown(at, tz)}: the trail is kept in time order"
    )


def _later_than(session: Session, moment: datetime) -> bool:
    """Whether any event in the store comes after `moment` (if not, no trail can run backwards)."""
    latest = latest_event_at(session)
    return latest is not None and latest > moment

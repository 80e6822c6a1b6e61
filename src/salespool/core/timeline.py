"""The book as it stood at a past moment, read back from the event trail.

Every event records the owner after it (`to_rep_id`, null for the pool) and
the stage after it (`to_stage`). The state of a customer at a moment is the
one left by its latest event at or before that moment; a moment before its
first event (a follow-up or a deal back-filled with `--at`, a customer imported
with its history) reads the state that first event started from: the owner
and stage an `imported` event brought in, else the event's `from_` side.

These are SQL expressions (correlated scalar subqueries served by the
`ix_event_customer_at` index), to be used inside set-based statements.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

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


def stage_at(customer_id: ColumnElement, moment: ColumnElement, fallback: ColumnElement):
    """The customer's stage at `moment`; `fallback` (its stage now) when the trail is silent."""
    before = aliased(Event)
    after = aliased(Event)
    latest = (
        select(before.to_stage)
        .where(
            before.customer_id == customer_id,
            before.at <= moment,
            before.to_stage.is_not(None),
        )
        .order_by(before.at.desc(), before.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    first = (
        select(func.coalesce(after.from_stage, after.to_stage))
        .where(
            after.customer_id == customer_id,
            after.at > moment,
            or_(after.from_stage.is_not(None), after.to_stage.is_not(None)),
        )
        .order_by(after.at.asc(), after.id.asc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest, first, fallback)


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
    moved = (
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
    return select(c.stage).where(c.id == customer_id, ~moved).scalar_subquery()


def fill_followup_stages(conn: Connection, where: ColumnElement[bool]) -> int:
    """Set the stored stage of the follow-ups matching `where`, in one UPDATE."""
    f = FollowUp.__table__.c
    return conn.execute(
        update(FollowUp.__table__).where(where).values(stage=followup_stage(f.customer_id, f.at))
    ).rowcount

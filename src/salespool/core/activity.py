"""Work on a customer by its owner: follow-ups and deals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, insert, literal, select, update
from sqlmodel import Session

from salespool.clock import from_db, shown, to_db
from salespool.core.customers import CustomerView, find_customer, get_view, update_while_owned
from salespool.core.reps import find_rep
from salespool.core.team import ensure_acting
from salespool.core.timeline import at_value, fill_followup_stages, followup_stage, latest_stage
from salespool.core.trail import record_event
from salespool.errors import BadInput, InPool, Refused
from salespool.models import (
    PRE_SALE_STAGES,
    Channel,
    Customer,
    Deal,
    EventKind,
    FollowUp,
    FollowUpKind,
    Rep,
    Stage,
)


@dataclass
class DealResult:
    customer: CustomerView
    rep: str
    amount_minor: int
    channel: str
    at: datetime


def _touch(session: Session, customer: Customer, rep_id: int, at: datetime) -> None:
    """Move last contact forward to `at` while `rep_id` still owns the customer."""
    stored = to_db(at)
    update_while_owned(
        session,
        customer,
        while_owner=rep_id,
        last_contact_at=case(
            (Customer.last_contact_at.is_(None), stored),
            (Customer.last_contact_at < stored, stored),
            else_=Customer.last_contact_at,
        ),
    )


def _stage_then(session: Session, customer: Customer, at: datetime) -> str:
    """The customer's stage at `at`, as the trail tells it (a back-dated moment included)."""
    return session.execute(
        select(followup_stage(literal(customer.id), at_value(to_db(at))))
    ).scalar_one()


def _change_stage(
    session: Session,
    customer: Customer,
    from_stage: str,
    stage: Stage,
    at: datetime,
    actor: str,
    reason: str,
) -> None:
    """Write the change from `from_stage` (the stage at `at`) to `stage`, dated `at`.

    Then the current stage is the latest change's (a back-dated change does not undo
    a later one), and the follow-ups stored from `at` on take the stage the trail
    now gives them, so the hunting split stays a count.
    """
    record_event(
        session,
        customer_id=customer.id,
        at=at,
        kind=EventKind.stage_changed,
        actor=actor,
        from_rep_id=customer.owner_id,
        to_rep_id=customer.owner_id,
        from_stage=from_stage,
        to_stage=stage.value,
        reason=reason,
    )
    session.execute(
        update(Customer)
        .where(Customer.id == customer.id)
        .values(stage=latest_stage(literal(customer.id), Customer.stage))
        .execution_options(synchronize_session=False)
    )
    f = FollowUp.__table__.c
    fill_followup_stages(
        session.connection(), and_(f.customer_id == customer.id, f.at >= to_db(at))
    )


def _check_not_future(at: datetime, now: datetime) -> None:
    if at > now:
        raise BadInput(f"{at:%Y-%m-%d %H:%M} UTC is in the future", option="at")


def _check_bounds(session: Session, customer: Customer, at: datetime, option: str, tz: str) -> None:
    """Refuse work dated before the customer existed, or before its owner got it.

    `option`: the argument the moment came from ("at", else "now").
    """
    created = from_db(customer.created_at)
    if at < created:
        raise BadInput(
            f"{shown(at, tz)} is before '{customer.name}' existed (created {shown(created, tz)})",
            option=option,
        )
    since = from_db(customer.owned_since)
    if since is not None and at < since:
        owner = session.get(Rep, customer.owner_id)
        raise BadInput(
            f"{shown(at, tz)} is before {owner.name} got '{customer.name}' "
            f"(owner since {shown(since, tz)})",
            option=option,
        )


def log_followup(
    session: Session,
    *,
    now: datetime,
    actor: str,
    customer: str,
    rep: str,
    kind: FollowUpKind,
    note: str | None = None,
    at: datetime | None = None,
    stage: Stage | None = None,
    next_at: datetime | None = None,
    tz: str = "UTC",
) -> CustomerView:
    """The owner logs a follow-up; it restarts the idleness clock and may move the stage.

    A back-dated follow-up (`at`) moves the stage at `at`; the next step (`next_at`)
    must come after the follow-up.
    """
    option = "at" if at is not None else "now"
    at = at or now
    _check_not_future(at, now)
    if next_at is not None and next_at <= at:
        raise BadInput(
            f"{shown(next_at, tz)} is not after the follow-up ({shown(at, tz)})", option="next_at"
        )
    found = find_customer(session, customer)
    owner = find_rep(session, rep)
    ensure_acting(session, owner, for_rookie=True)
    _require_owner(session, found, owner)
    _check_bounds(session, found, at, option, tz)
    _touch(session, found, owner.id, at)
    if stage is not None:
        then = _stage_then(session, found, at)
        if then != stage.value:
            _change_stage(session, found, then, stage, at, actor, reason=f"logged {kind}")
    # Written after the stage change, so a follow-up that moves the stage counts
    # under the stage it moved to, as the trail tells it for that moment.
    session.execute(
        insert(FollowUp).values(
            customer_id=found.id,
            rep_id=owner.id,
            kind=FollowUpKind(kind).value,
            note=note,
            at=to_db(at),
            next_at=to_db(next_at) if next_at else None,
            stage=followup_stage(literal(found.id), at_value(to_db(at))),
        )
    )
    return get_view(session, found.id, now=now)


def record_deal(
    session: Session,
    *,
    now: datetime,
    actor: str,
    customer: str,
    amount_minor: int,
    channel: Channel = Channel.direct,
    at: datetime | None = None,
    tz: str = "UTC",
) -> DealResult:
    """Record a deal credited to the owner; it counts as contact and makes a lead `won`.

    A back-dated deal (`at`) makes it `won` at `at` if it was a lead then.
    """
    found = find_customer(session, customer)
    if found.owner_id is None:
        raise Refused(
            f"'{found.name}' is in the pool: a deal is credited to its owner, "
            "so claim or assign it first"
        )
    if amount_minor <= 0:
        # The CLI's parse_amount refuses these first, in its own words.
        raise BadInput(f"{amount_minor} must be positive", option="amount_minor")
    option = "at" if at is not None else "now"
    at = at or now
    _check_not_future(at, now)
    _check_bounds(session, found, at, option, tz)
    _touch(session, found, found.owner_id, at)
    session.execute(
        insert(Deal).values(
            customer_id=found.id,
            rep_id=found.owner_id,
            amount_minor=amount_minor,
            channel=Channel(channel).value,
            at=to_db(at),
        )
    )
    then = _stage_then(session, found, at)
    if then in PRE_SALE_STAGES:
        _change_stage(session, found, then, Stage.won, at, actor, reason="deal")
    owner = session.get(Rep, found.owner_id)
    return DealResult(
        customer=get_view(session, found.id, now=now),
        rep=owner.name,
        amount_minor=amount_minor,
        channel=Channel(channel).value,
        at=from_db(to_db(at)),
    )


def _require_owner(session: Session, customer: Customer, rep: Rep) -> None:
    if customer.owner_id is None:
        raise InPool(customer.name, customer.id, rep.name)
    if customer.owner_id != rep.id:
        owner = session.get(Rep, customer.owner_id)
        raise Refused(f"'{customer.name}' belongs to {owner.name}, not {rep.name}")

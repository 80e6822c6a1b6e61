"""Locks: a manager keeps an owned customer from being recycled, for a while or until unlocked.

A lock is three columns on the customer (locked_at, locked_until, lock_reason)
and a `locked` / `unlocked` event, so it shows in `customers` and `history`.
It protects only the owner who had the customer when it was locked, and a
lock past its `until` simply stops protecting (core/recycle.exempt_at).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from salespool.clock import shown, to_db
from salespool.core.customers import CustomerView, find_customer, get_view, update_while_owned
from salespool.core.limits import check_max_locked
from salespool.core.timeline import refuse_out_of_order
from salespool.core.trail import record_in_place
from salespool.errors import BadInput, Refused
from salespool.models import Customer, EventKind


def lock(
    session: Session,
    *,
    now: datetime,
    actor: str,
    customer_key: str,
    reason: str,
    until: datetime | None = None,
    tz: str = "UTC",
    max_locked: int = 0,
) -> CustomerView:
    """Lock an owned customer against recycling (until `until`, else until unlocked).

    Locking a locked customer replaces its lock. `max_locked` (`claims.max_locked`; 0 = no
    limit) is the most customers one owner may hold locked.
    """
    reason = reason.strip()
    if not reason:
        raise BadInput("say why the customer is locked", option="reason")
    if until is not None and until <= now:
        raise BadInput(f"{shown(until, tz)} is not in the future", option="until")
    customer = find_customer(session, customer_key)
    if customer.owner_id is None:
        raise Refused(f"'{customer.name}' is in the pool: only an owned customer can be locked")
    check_max_locked(session, now=now, limit=max_locked, customer=customer)
    update_while_owned(
        session,
        customer,
        while_owner=customer.owner_id,
        locked_at=to_db(now),
        locked_until=to_db(until) if until is not None else None,
        lock_reason=reason,
    )
    refuse_out_of_order(session, Customer.id == customer.id, at=now, what="lock", tz=tz)
    record_in_place(
        session,
        customer,
        at=now,
        kind=EventKind.locked,
        actor=actor,
        reason=f"{reason} (until {shown(until, tz)})" if until is not None else reason,
    )
    return get_view(session, customer.id, now=now)


def unlock(
    session: Session,
    *,
    now: datetime,
    actor: str,
    customer_key: str,
    reason: str | None = None,
    tz: str = "UTC",
) -> CustomerView:
    """Lift a customer's lock (an expired one too); refused if it has none."""
    customer = find_customer(session, customer_key)
    done = session.execute(
        update(Customer)
        .where(Customer.id == customer.id, Customer.locked_at.is_not(None))
        .values(locked_at=None, locked_until=None, lock_reason=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Refused(f"'{customer.name}' is not locked")
    refuse_out_of_order(session, Customer.id == customer.id, at=now, what="unlock", tz=tz)
    record_in_place(
        session,
        customer,
        at=now,
        kind=EventKind.unlocked,
        actor=actor,
        reason=(reason or "").strip() or f"lock lifted (was: {customer.lock_reason})",
    )
    return get_view(session, customer.id, now=now)

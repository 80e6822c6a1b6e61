"""The audit trail: every change of owner or stage is written here as an event."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, literal, select, update
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.routing import load_pools, route_case
from salespool.models import Customer, Event, EventKind

# The columns a set-based `INSERT INTO event ... SELECT` fills, in the order its SELECT gives.
EVENT_INSERT_COLUMNS = [
    "customer_id",
    "at",
    "kind",
    "from_rep_id",
    "to_rep_id",
    "from_stage",
    "to_stage",
    "reason",
    "actor",
]


def record_event(
    session: Session,
    *,
    customer_id: int,
    at: datetime,
    kind: EventKind,
    actor: str,
    from_rep_id: int | None = None,
    to_rep_id: int | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    pool: str | None = None,
) -> None:
    """Write one event (`detail`: facts a correction records, stored as JSON; `pool`: the
    pool entered or left, None for the default one)."""
    session.execute(
        insert(Event).values(
            customer_id=customer_id,
            at=to_db(at),
            kind=kind.value,
            from_rep_id=from_rep_id,
            to_rep_id=to_rep_id,
            from_stage=from_stage,
            to_stage=to_stage,
            reason=reason,
            actor=actor,
            detail=json.dumps(detail, ensure_ascii=False) if detail is not None else None,
            pool=pool,
        )
    )


def record_in_place(
    session: Session,
    customer: Customer,
    *,
    at: datetime,
    kind: EventKind,
    actor: str,
    reason: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write an event that leaves `customer` with its owner and stage (a lock, an edit)."""
    record_event(
        session,
        customer_id=customer.id,
        at=at,
        kind=kind,
        actor=actor,
        from_rep_id=customer.owner_id,
        to_rep_id=customer.owner_id,
        from_stage=customer.stage,
        to_stage=customer.stage,
        reason=reason,
        detail=detail,
    )


def record_events(session: Session, rows: list[dict]) -> None:
    """Write many events in one executemany; each dict holds Event columns."""
    if rows:
        session.execute(insert(Event), rows)


def bulk_to_pool(
    session: Session, chosen: Select, *, now: datetime, kind: EventKind, actor: str
) -> int:
    """Send the customers `chosen` to the pool: one event INSERT ... SELECT, one UPDATE.

    `chosen` selects (customer id, owner id, stage, reason) for each of them. Each goes
    to the pool its rule routes it to (core/routing.py), and its event names that pool.
    """
    at = to_db(now)
    pools = load_pools(session)
    sub = chosen.subquery()
    cid, owner_id, stage, reason = sub.c
    rows = select(
        cid,
        literal(at),
        literal(kind.value),
        owner_id,
        stage,
        stage,
        reason,
        literal(actor),
        route_case(pools, by_name=True),
    )
    if any(p.rule for p in pools):  # the routing reads the customers' fields
        rows = rows.join_from(sub, Customer, Customer.id == cid)
    session.execute(
        insert(Event).from_select(
            [
                "customer_id",
                "at",
                "kind",
                "from_rep_id",
                "from_stage",
                "to_stage",
                "reason",
                "actor",
                "pool",
            ],
            rows,
        )
    )
    return session.execute(
        update(Customer)
        .where(Customer.id.in_(select(cid)))
        .values(owner_id=None, owned_since=None, pooled_at=at, pool_id=route_case(pools))
        .execution_options(synchronize_session=False)
    ).rowcount


def record_pool_move(
    session: Session,
    customer: Customer,
    *,
    at: datetime,
    actor: str,
    reason: str,
    moved: tuple[str, str],
    pool: str | None,
) -> None:
    """The `pool_moved` event of a pool customer: `moved` is (from, to) by pool name, and
    `pool` the named pool it waits in now (None: the default pool)."""
    record_event(
        session,
        customer_id=customer.id,
        at=at,
        kind=EventKind.pool_moved,
        actor=actor,
        from_stage=customer.stage,
        to_stage=customer.stage,
        reason=reason,
        detail={"from": moved[0], "to": moved[1]},
        pool=pool,
    )

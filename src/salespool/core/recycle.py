"""Recycling: customers their owner has left idle go back to the pool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlmodel import Session

from salespool.clock import idle_days, to_db
from salespool.core.customers import idle_since
from salespool.core.trail import bulk_to_pool
from salespool.errors import BadInput
from salespool.models import Customer, EventKind, Rep


@dataclass
class Recycled:
    id: int
    name: str
    previous_owner: str
    idle_days: int


@dataclass
class RecycleResult:
    dry_run: bool
    count: int
    days: int
    recycled: list[Recycled]


def recycle(
    session: Session, now: datetime, actor: str, days: int, dry_run: bool = False
) -> RecycleResult:
    """Move every owned customer idle for `days` or more into the pool, in bulk."""
    if days < 1:
        raise BadInput(f"--days: {days} must be 1 or more (a customer handed over today stays)")
    cutoff = to_db(now - timedelta(days=days))
    idle = and_(Customer.owner_id.is_not(None), idle_since() <= cutoff)
    # Lock the candidates (PostgreSQL) so the statements below see the same rows.
    candidates = session.execute(
        select(Customer.id, Customer.name, Rep.name, idle_since())
        .join(Rep, Rep.id == Customer.owner_id)
        .where(idle)
        .order_by(Customer.id)
        .with_for_update(of=Customer)
    ).all()
    result = RecycleResult(
        dry_run=dry_run,
        count=len(candidates),
        days=days,
        recycled=[
            Recycled(id=cid, name=name, previous_owner=owner, idle_days=idle_days(since, now))
            for cid, name, owner, since in candidates
        ],
    )
    if dry_run or not candidates:
        return result
    bulk_to_pool(session, idle, now, EventKind.recycled, f"idle {days}+ days", actor)
    return result

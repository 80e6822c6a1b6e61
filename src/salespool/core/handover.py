"""Hand-overs between reps and the pool: claim, assign and release.

Each change of owner is one conditional UPDATE (`... WHERE owner_id IS NULL`
or `... WHERE owner_id = :owner`) inside the caller's write transaction, so
two reps claiming at once never both win; every change writes an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.customers import CustomerView, find_customer, get_view
from salespool.core.reps import find_rep
from salespool.core.trail import record_event, record_events
from salespool.errors import BadInput, Refused
from salespool.models import Customer, EventKind, Rep


@dataclass
class Assignment:
    id: int
    name: str
    owner: str


@dataclass
class AssignResult:
    dry_run: bool
    count: int
    assigned: list[Assignment]


def owned_count(session: Session, rep_id: int) -> int:
    """How many customers a rep owns right now."""
    return session.execute(
        select(func.count()).select_from(Customer).where(Customer.owner_id == rep_id)
    ).scalar_one()


def room_left(session: Session, rep: Rep) -> int | None:
    """How many more customers `rep` may take (None: no capacity set)."""
    if rep.capacity is None:
        return None
    return max(rep.capacity - owned_count(session, rep.id), 0)


def _over_capacity(session: Session, rep: Rep, wanted: int) -> Refused:
    owned = owned_count(session, rep.id)
    return Refused(
        f"capacity: {rep.name} owns {owned} of {rep.capacity} customers "
        f"and cannot take {wanted} more"
    )


def claim(
    session: Session, now: datetime, actor: str, customer_key: str, rep_name: str
) -> CustomerView:
    """A rep takes a customer from the pool; refused if someone owns it already."""
    customer = find_customer(session, customer_key)
    rep = find_rep(session, rep_name)
    room = room_left(session, rep)
    if room is not None and room < 1:
        raise _over_capacity(session, rep, 1)
    won = session.execute(
        update(Customer)
        .where(Customer.id == customer.id, Customer.owner_id.is_(None))
        .values(owner_id=rep.id, owned_since=to_db(now), pooled_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        owner = session.execute(
            select(Rep.name)
            .join(Customer, Customer.owner_id == Rep.id)
            .where(Customer.id == customer.id)
        ).scalar_one_or_none()
        raise Refused(f"'{customer.name}' is not in the pool: {owner or 'another rep'} owns it")
    record_event(
        session,
        customer_id=customer.id,
        at=now,
        kind=EventKind.claimed,
        actor=actor,
        to_rep_id=rep.id,
        from_stage=customer.stage,
        to_stage=customer.stage,
    )
    return get_view(session, customer.id, now)


def release(
    session: Session,
    now: datetime,
    actor: str,
    customer_key: str,
    reason: str | None = None,
    rep_name: str | None = None,
) -> CustomerView:
    """The owner gives a customer back to the pool."""
    customer = find_customer(session, customer_key)
    if customer.owner_id is None:
        raise Refused(f"'{customer.name}' is already in the pool")
    if rep_name is not None:
        rep = find_rep(session, rep_name, active=False)
        if rep.id != customer.owner_id:
            owner = session.get(Rep, customer.owner_id)
            raise Refused(f"'{customer.name}' belongs to {owner.name}, not {rep.name}")
    done = session.execute(
        update(Customer)
        .where(Customer.id == customer.id, Customer.owner_id == customer.owner_id)
        .values(owner_id=None, owned_since=None, pooled_at=to_db(now))
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Refused(f"'{customer.name}' changed owner meanwhile; try again")
    record_event(
        session,
        customer_id=customer.id,
        at=now,
        kind=EventKind.released,
        actor=actor,
        from_rep_id=customer.owner_id,
        from_stage=customer.stage,
        to_stage=customer.stage,
        reason=reason,
    )
    return get_view(session, customer.id, now)


def assign(
    session: Session,
    now: datetime,
    actor: str,
    to: list[str],
    customer_keys: list[str] | None = None,
    limit: int | None = None,
    dry_run: bool = False,
) -> AssignResult:
    """Hand pool customers to reps round-robin: the named ones, else the oldest in the pool."""
    if not to:
        raise BadInput("--to: name at least one rep")
    if limit is not None and limit < 1:
        raise BadInput(f"--limit: {limit} must be 1 or more")
    reps: list[Rep] = []
    for name in to:
        rep = find_rep(session, name)
        if rep.id not in {r.id for r in reps}:
            reps.append(rep)

    if customer_keys:
        customers: list[tuple[int, str, str]] = []
        seen: set[int] = set()
        for key in customer_keys:
            c = find_customer(session, key)
            if c.id in seen:
                continue
            seen.add(c.id)
            if c.owner_id is not None:
                owner = session.get(Rep, c.owner_id)
                raise Refused(f"'{c.name}' is not in the pool: {owner.name} owns it")
            customers.append((c.id, c.name, c.stage))
        customers = customers[:limit] if limit else customers
    else:
        query = (
            select(Customer.id, Customer.name, Customer.stage)
            .where(Customer.owner_id.is_(None))
            .order_by(Customer.pooled_at.is_(None), Customer.pooled_at, Customer.id)
            .with_for_update(skip_locked=True)
        )
        if limit is not None:
            query = query.limit(limit)
        customers = [tuple(row) for row in session.execute(query)]

    plan = _round_robin(session, customers, reps, strict=bool(customer_keys))
    result = AssignResult(
        dry_run=dry_run,
        count=len(plan),
        assigned=[Assignment(id=cid, name=name, owner=rep.name) for cid, name, _s, rep in plan],
    )
    if dry_run or not plan:
        return result

    at = to_db(now)
    conn = session.connection()
    table = Customer.__table__
    moved = conn.execute(
        update(table)
        .where(table.c.id == bindparam("cid"), table.c.owner_id.is_(None))
        .values(owner_id=bindparam("rep_id"), owned_since=at, pooled_at=None),
        [{"cid": cid, "rep_id": rep.id} for cid, _n, _s, rep in plan],
    ).rowcount
    if moved != len(plan):
        raise Refused("some of these customers left the pool meanwhile; nothing was assigned")
    record_events(
        session,
        [
            {
                "customer_id": cid,
                "at": at,
                "kind": EventKind.assigned.value,
                "from_rep_id": None,
                "to_rep_id": rep.id,
                "from_stage": stage,
                "to_stage": stage,
                "reason": None,
                "actor": actor,
            }
            for cid, _n, stage, rep in plan
        ],
    )
    return result


def _round_robin(
    session: Session, customers: list[tuple[int, str, str]], reps: list[Rep], strict: bool
) -> list[tuple[int, str, str, Rep]]:
    """Deal customers to reps in turn, skipping reps at capacity.

    With `strict` (customers named by the user) running out of room is refused;
    otherwise assignment stops when every rep is full.
    """
    room = {rep.id: room_left(session, rep) for rep in reps}
    plan = []
    turn = 0
    for cid, name, stage in customers:
        for _ in range(len(reps)):
            rep = reps[turn % len(reps)]
            turn += 1
            if room[rep.id] is None or room[rep.id] > 0:
                break
        else:
            if strict or not plan:
                full = reps[0] if len(reps) == 1 else None
                if full is not None:
                    raise _over_capacity(session, full, len(customers))
                raise Refused(
                    "capacity: every rep in --to is full ("
                    + ", ".join(f"{r.name} {owned_count(session, r.id)}/{r.capacity}" for r in reps)
                    + ")"
                )
            break
        if room[rep.id] is not None:
            room[rep.id] -= 1
        plan.append((cid, name, stage, rep))
    return plan

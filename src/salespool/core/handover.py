"""Hand-overs between reps and the pool: claim, assign and release.

Each change of owner is one conditional UPDATE (`... WHERE owner_id IS NULL`
or `... WHERE owner_id = :owner`) inside the caller's write transaction, so
two reps claiming at once never both win; every change writes an event.
Claims and assignments first check the claim limits (core/limits.py) with the
receiving reps' rows locked, so the limits hold under concurrency too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.assignment import (
    Candidate,
    Plan,
    PoolCustomer,
    Strategy,
    load_text,
    plan_assignment,
)
from salespool.core.customers import (
    CustomerView,
    find_customer,
    get_view,
    update_while_owned,
)
from salespool.core.limits import (
    NO_LIMITS,
    ClaimRules,
    check_capacity,
    check_cooldown,
    check_daily_limit,
    check_pool_wait,
    cooldowns,
    ensure_can_receive,
    lock_reps,
    owned_counts,
)
from salespool.core.reps import find_rep
from salespool.core.routing import claim_rules_of, is_member, load_pools, not_member, route_case
from salespool.core.team import ensure_acting
from salespool.core.timeline import in_order, refuse_out_of_order
from salespool.core.trail import record_event, record_events
from salespool.errors import BadInput, Refused
from salespool.models import Customer, EventKind, Pool, Rep, Role
from salespool.storage import team as team_storage


@dataclass
class Assignment:
    id: int
    name: str
    owner: str
    reason: str = ""


@dataclass
class NotAssigned:
    id: int
    name: str
    reason: str


@dataclass
class AssignResult:
    dry_run: bool
    count: int
    assigned: list[Assignment]
    strategy: str = Strategy.round_robin.value
    # Pool customers passed over because every rep with room is in cooldown for them.
    skipped: list[NotAssigned] = field(default_factory=list)


def claim(
    session: Session,
    *,
    now: datetime,
    actor: str,
    customer: str,
    rep: str,
    rules: ClaimRules = NO_LIMITS,
) -> CustomerView:
    """A rep takes a customer from the pool, within the claim limits.

    Refused if someone owns it already, or if the rep is inactive, at capacity,
    past the daily claim limit, or in cooldown for this customer.
    """
    found = find_customer(session, customer)
    taker = find_rep(session, rep)
    ensure_acting(session, taker)
    ensure_can_receive(taker)
    pool = session.get(Pool, found.pool_id) if found.pool_id is not None else None
    if found.owner_id is None and not is_member(pool, taker):
        raise Refused(not_member(pool, taker))  # type: ignore[arg-type]
    own_limit = pool is not None and pool.daily_limit is not None
    rules = claim_rules_of(pool, rules)
    lock_reps(session, rep_ids=[taker.id])
    check_capacity(session, rules=rules, rep=taker)
    check_daily_limit(
        session, now=now, rules=rules, rep=taker, pool=pool.name if own_limit else None
    )
    check_cooldown(session, now=now, rules=rules, rep=taker, customer_id=found.id)
    if found.owner_id is None:  # an owned customer is refused below, saying who owns it
        check_pool_wait(session, now=now, rules=rules, customer=found)
    # One conditional UPDATE ... RETURNING: a row back means this claim won the race.
    # A team's rep cannot read pool rows; the database's claim function makes them owner
    # and writes the `claimed` event.
    masked = team_storage.masked(session)
    if masked:
        won = team_storage.claim_row(session, found.id, to_db(now))
    else:
        won = session.execute(
            update(Customer)
            .where(Customer.id == found.id, Customer.owner_id.is_(None))
            .values(owner_id=taker.id, owned_since=to_db(now), pooled_at=None, pool_id=None)
            .returning(Customer.id)
            .execution_options(synchronize_session=False)
        ).first()
    if won is None:
        owner = session.execute(
            select(Rep.name)
            .join(Customer, Customer.owner_id == Rep.id)
            .where(Customer.id == found.id)
        ).scalar_one_or_none()
        raise Refused(f"'{found.name}' is not in the pool: {owner or 'another rep'} owns it")
    refuse_out_of_order(session, Customer.id == found.id, at=now, what="claim", tz=rules.tz)
    if not masked:
        record_event(
            session,
            customer_id=found.id,
            at=now,
            kind=EventKind.claimed,
            actor=actor,
            to_rep_id=taker.id,
            from_stage=found.stage,
            to_stage=found.stage,
            pool=pool.name if pool is not None else None,
        )
    return get_view(session, found.id, now=now)


def release(
    session: Session,
    *,
    now: datetime,
    actor: str,
    customer: str,
    reason: str | None = None,
    rep: str | None = None,
    tz: str = "UTC",
    reasons: Sequence[str] = (),
) -> CustomerView:
    """The owner gives a customer back to the pool; with `rep`, only if that rep owns it.

    With `reasons` (`release.reasons`), `reason` must be one of them.
    """
    if reasons and (reason or "").strip() not in reasons:
        given = f"'{reason.strip()}' is not one of" if (reason or "").strip() else "give one of"
        raise BadInput(f"{given} the team's reasons: {', '.join(reasons)}", option="reason")
    reason = reason.strip() if reasons and reason else reason
    found = find_customer(session, customer)
    if found.owner_id is None:
        raise Refused(f"'{found.name}' is already in the pool")
    if rep is not None:
        giver = find_rep(session, rep, active=False)
        ensure_acting(session, giver)
        if giver.id != found.owner_id:
            owner = session.get(Rep, found.owner_id)
            raise Refused(f"'{found.name}' belongs to {owner.name}, not {giver.name}")
    route = route_case(load_pools(session))
    masked = team_storage.masked(session)
    if masked:
        # A team's rep may not write a row into the pool they cannot read: the database's
        # release function does, for the caller's own customer only, with its event.
        into = session.execute(select(route).where(Customer.id == found.id)).scalar()
        if not team_storage.release_row(session, found.id, to_db(now), into, reason):
            raise Refused(f"'{found.name}' changed owner meanwhile; try again")
    else:
        update_while_owned(
            session,
            found,
            while_owner=found.owner_id,
            owner_id=None,
            owned_since=None,
            pooled_at=to_db(now),
            pool_id=route,
        )
    refuse_out_of_order(session, Customer.id == found.id, at=now, what="release", tz=tz)
    if not masked:
        pool = _pools_of(session, [found.id]).get(found.id)
        record_event(
            session,
            customer_id=found.id,
            at=now,
            kind=EventKind.released,
            actor=actor,
            from_rep_id=found.owner_id,
            from_stage=found.stage,
            to_stage=found.stage,
            reason=reason,
            pool=pool.name if pool is not None else None,
        )
    return get_view(session, found.id, now=now)


def assign(
    session: Session,
    *,
    now: datetime,
    actor: str,
    to: list[str] | None = None,
    customers: list[str] | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    strategy: Strategy = Strategy.round_robin,
    role: Role | None = None,
    rules: ClaimRules = NO_LIMITS,
) -> AssignResult:
    """Hand pool customers to reps by `strategy`: the named ones, else the oldest in the pool.

    `customers` are the pool customers to hand out (as `find_customer` reads them).
    The reps are those in `to`, else the active reps of `role`, else every
    active rep. Capacity and cooldown (the customer's pool's own, where it has
    one) apply; the daily claim limit does not
    (it limits a rep's own claims). Named customers must all be placed or
    nothing is; from the pool, assignment stops when every rep is full.
    """
    # The CLI refuses both in its own words before calling (they are flags it parses).
    if limit is not None and limit < 1:
        raise BadInput(f"{limit} must be 1 or more", option="limit")
    if to and role is not None:
        raise BadInput("choose the reps by `to` or by `role`, not both", option="role")
    reps = _receivers(session, to, role)
    rep_ids = [r.id for r in reps]
    lock_reps(session, rep_ids=rep_ids)
    owned = owned_counts(session, rep_ids=rep_ids, stages=rules.capacity_stages)
    candidates = [Candidate(r.name, r.role, owned[r.id], rules.capacity_of(r)) for r in reps]
    by_name = {r.name: r for r in reps}
    strict = bool(customers)
    pools = load_pools(session)
    # A customer cools down as long as the pool it waits in says (claims.cooldown_days else).
    pool_days = {p.id: p.cooldown_days for p in pools if p.cooldown_days is not None}
    if strict:
        chosen = _named_pool_customers(session, customers or [])
        chosen = chosen[:limit] if limit else chosen
        named = Customer.id.in_([c.id for c in chosen])
        refuse_out_of_order(session, named, at=now, what="assignment", tz=rules.tz)
        cooling = cooldowns(
            session,
            now=now,
            rules=rules,
            rep_ids=rep_ids,
            customer_ids=[c.id for c in chosen],
            pool_days=pool_days,
        )
    else:
        cooling = cooldowns(session, now=now, rules=rules, rep_ids=rep_ids, pool_days=pool_days)
        # A customer in cooldown may be passed over, so look that much further into the pool.
        extra = len({cid for cid, _rep in cooling})
        # Pools none of these reps is a member of are not looked into at all.
        closed = [p.id for p in pools if not any(is_member(p, r) for r in reps)]
        chosen = _oldest_in_pool(session, now, candidates, limit, extra, closed)
    blocked = {(cid, cd.rep_name): cd.message(now, rules.tz) for (cid, _), cd in cooling.items()}
    pool_of = _pools_of(session, [c.id for c in chosen])
    for c in chosen:
        pool = pool_of.get(c.id)
        for rep in reps:
            if pool is not None and not is_member(pool, rep):
                blocked.setdefault((c.id, rep.name), not_member(pool, rep))
    plan = plan_assignment(chosen, candidates, strategy=strategy, blocked=blocked, limit=limit)
    if chosen and (not plan.rows or (strict and len(plan.rows) < len(chosen))):
        raise Refused(_why_not(plan, chosen, candidates, rules, by_name))

    result = AssignResult(
        dry_run=dry_run,
        count=len(plan.rows),
        assigned=[Assignment(r.customer.id, r.customer.name, r.rep, r.reason) for r in plan.rows],
        strategy=Strategy(strategy).value,
        skipped=[NotAssigned(s.customer.id, s.customer.name, s.reason) for s in plan.skipped],
    )
    if dry_run or not plan.rows:
        return result

    at = to_db(now)
    conn = session.connection()
    table = Customer.__table__
    moved = conn.execute(
        update(table)
        .where(table.c.id == bindparam("cid"), table.c.owner_id.is_(None))
        .values(owner_id=bindparam("rep_id"), owned_since=at, pooled_at=None, pool_id=None),
        [{"cid": r.customer.id, "rep_id": by_name[r.rep].id} for r in plan.rows],
    ).rowcount
    if moved != len(plan.rows):
        raise Refused("some of these customers left the pool meanwhile; nothing was assigned")
    record_events(
        session,
        [
            {
                "customer_id": r.customer.id,
                "at": at,
                "kind": EventKind.assigned.value,
                "from_rep_id": None,
                "to_rep_id": by_name[r.rep].id,
                "from_stage": r.customer.stage,
                "to_stage": r.customer.stage,
                "reason": r.reason,
                "actor": actor,
                "pool": pool.name if (pool := pool_of.get(r.customer.id)) else None,
            }
            for r in plan.rows
        ],
    )
    return result


def _pools_of(session: Session, customer_ids: list[int]) -> dict[int, Pool]:
    """The named pool each of these customers waits in (the default pool's are left out)."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Customer.id, Pool)
        .join(Pool, Pool.id == Customer.pool_id)
        .where(Customer.id.in_(customer_ids))
    ).all()
    return {cid: pool for cid, pool in rows}


def _receivers(session: Session, to: list[str] | None, role: Role | None) -> list[Rep]:
    """The reps who may receive: those named (each must be able to), else active reps."""
    if to:
        reps: dict[int, Rep] = {}
        for name in to:
            rep = find_rep(session, name)
            ensure_can_receive(rep)
            reps.setdefault(rep.id, rep)
        return list(reps.values())
    query = select(Rep).where(Rep.left_at.is_(None), Rep.active.is_(True)).order_by(Rep.name)
    if role is not None:
        query = query.where(Rep.role == Role(role).value)
    reps_found = list(session.execute(query).scalars())
    if not reps_found:
        of_role = f" with role {Role(role).value}" if role is not None else ""
        raise Refused(f"no active rep{of_role} to assign to (see `salespool rep list`)")
    return reps_found


def _named_pool_customers(session: Session, keys: list[str]) -> list[PoolCustomer]:
    """The customers named, once each, in the order given; refused if any is owned."""
    found: dict[int, PoolCustomer] = {}
    for key in keys:
        c = find_customer(session, key)
        if c.owner_id is not None:
            owner = session.get(Rep, c.owner_id)
            raise Refused(f"'{c.name}' is not in the pool: {owner.name} owns it")
        found.setdefault(c.id, PoolCustomer(c.id, c.name, c.stage))
    return list(found.values())


def _oldest_in_pool(
    session: Session,
    now: datetime,
    candidates: list[Candidate],
    limit: int | None,
    extra: int,
    closed: list[int],
) -> list[PoolCustomer]:
    """The pool customers assignment may hand out, oldest in the pool first.

    Bounded by `limit` and by the room the reps have left, plus `extra` for the
    customers that cooldown may pass over. A customer whose trail already holds an
    event after `now` is passed over: assigning it now would write its trail backwards.
    """
    bound = limit
    if all(c.capacity is not None for c in candidates):
        room = sum(max((c.capacity or 0) - c.owned, 0) for c in candidates)
        bound = room if bound is None else min(bound, room)
    query = (
        select(Customer.id, Customer.name, Customer.stage)
        .where(Customer.owner_id.is_(None), in_order(session, at=now))
        .order_by(Customer.pooled_at.is_(None), Customer.pooled_at, Customer.id)
        .with_for_update(skip_locked=True)
    )
    if closed:
        query = query.where(or_(Customer.pool_id.is_(None), Customer.pool_id.not_in(closed)))
    if bound is not None:
        # At least one row, so that full reps are reported rather than silently skipped.
        query = query.limit(max(bound, 1) + extra)
    return [PoolCustomer(cid, name, stage) for cid, name, stage in session.execute(query)]


def _why_not(
    plan: Plan,
    customers: list[PoolCustomer],
    candidates: list[Candidate],
    rules: ClaimRules,
    reps: dict[str, Rep],
) -> str:
    """Why customers that had to be placed were not: the rule and the numbers."""
    placed = {r.customer.id for r in plan.rows}
    left_over = [c for c in customers if c.id not in placed]
    skipped = {s.customer.id: s.reason for s in plan.skipped}
    first = left_over[0]
    if first.id in skipped:
        return skipped[first.id]
    if len(candidates) == 1:
        c = candidates[0]
        return (
            f"capacity: {c.name} owns {c.owned} of {rules.capacity_text(reps[c.name])} "
            f"and cannot take {len(left_over)} more"
        )
    loads = ", ".join(f"{c.name} {load_text(c.owned, c.capacity)}" for c in candidates)
    if not plan.rows and all(c.capacity is not None and c.owned >= c.capacity for c in candidates):
        return f"capacity: every rep is full ({loads})"
    return (
        f"capacity: the reps have room for {len(plan.rows)} of these "
        f"{len(customers)} customers ({loads})"
    )

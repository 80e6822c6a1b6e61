"""Several pools: add, list and remove named pools, move a pool customer between them,
and each pool's size and flow for the report. Routing itself is core/routing.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from sqlalchemy import and_, delete, func, insert, literal, select, update
from sqlmodel import Session

from salespool.clock import from_db, to_db
from salespool.core.customers import CustomerView, find_customer, get_view
from salespool.core.reps import find_rep
from salespool.core.routing import DEFAULT_POOL, load_pools, names, pool_named
from salespool.core.timeline import refuse_out_of_order
from salespool.core.trail import record_pool_move
from salespool.errors import BadInput, Clash, Refused
from salespool.models import Customer, Event, EventKind, Pool, Rep, Role
from salespool.rules import parse_pool_rule
from salespool.terms import parse_stage

# What brings a customer into a pool, and what takes it out, for the report's flow.
IN_KINDS = (EventKind.recycled.value, EventKind.released.value, EventKind.rep_left.value)
OUT_KINDS = (EventKind.claimed.value, EventKind.assigned.value)
# What starts a customer's time in the pool (an import with no owner puts it there too).
ENTERS = (*IN_KINDS, EventKind.imported.value)


@dataclass
class PoolView:
    name: str
    rule: str | None
    members: list[str]
    admins: list[str]
    size: int  # customers waiting in it now
    days: int | None = None
    stage_days: dict[str, int] = field(default_factory=dict)
    daily_limit: int | None = None
    cooldown_days: int | None = None


@dataclass
class SetResult:
    pool: PoolView
    # What changed: {field: {"from": old, "to": new}} (empty: nothing did).
    changed: dict[str, dict[str, object]] = field(default_factory=dict)


@dataclass
class RemoveResult:
    name: str
    moved: int  # its customers now in the default pool


@dataclass
class PoolFlow:
    pool: str
    size: int
    in_: int  # shown as "in": recycled, released or left by a leaving rep into it
    out: int  # claimed or assigned from it
    median_days_in_pool: float | None  # of the customers that left it in the window

    def as_dict(self) -> dict[str, object]:
        """As the report's JSON gives it (`in` is a Python keyword, hence `in_`)."""
        return {
            "pool": self.pool,
            "size": self.size,
            "in": self.in_,
            "out": self.out,
            "median_days_in_pool": self.median_days_in_pool,
        }


def _view(pool: Pool | None, size: int) -> PoolView:
    if pool is None:
        return PoolView(DEFAULT_POOL, None, [], [], size)
    return PoolView(
        pool.name,
        pool.rule,
        names(pool.members),
        names(pool.admins),
        size,
        pool.days,
        json.loads(pool.stage_days) if pool.stage_days else {},
        pool.daily_limit,
        pool.cooldown_days,
    )


def _sizes(session: Session) -> dict[int | None, int]:
    """Customers waiting per pool (None: the default pool)."""
    # Two index-only counts, not a GROUP BY over every pool row of the book: the whole
    # pool (owner_id leads ix_customer_owner_stage) and the named pools (the partial
    # ix_customer_pool_id); an owned customer's pool_id is always null.
    waiting = session.execute(
        select(func.count()).select_from(Customer).where(Customer.owner_id.is_(None))
    ).scalar_one()
    named = dict(
        session.execute(
            select(Customer.pool_id, func.count())
            .where(Customer.pool_id.is_not(None))
            .group_by(Customer.pool_id)
        ).all()
    )
    return {None: waiting - sum(named.values()), **named}


def list_pools(session: Session) -> list[PoolView]:
    """The default pool, then the named pools in routing order, each with its size."""
    sizes = _sizes(session)
    return [_view(None, sizes.get(None, 0))] + [
        _view(p, sizes.get(p.id, 0)) for p in load_pools(session)
    ]


def _check_members(session: Session, members: list[str]) -> list[str]:
    roles = {r.value for r in Role}
    for name in members:
        if name not in roles:
            try:
                find_rep(session, name, active=False)
            except Exception:
                raise BadInput(
                    f"'{name}' is neither a rep nor a role ({', '.join(sorted(roles))})",
                    option="members",
                ) from None
    return list(dict.fromkeys(members))


def _check_days(value: int | None, option: str, zero_ok: bool) -> int | None:
    if value is not None and (value < 0 or (value == 0 and not zero_ok)):
        raise BadInput(f"{value} must be {'0' if zero_ok else '1'} or more", option=option)
    return value


def _canonical_rule(rule: str) -> str:
    return " and ".join(c.text() for c in parse_pool_rule(rule))


def _check_admins(session: Session, admins: list[str]) -> list[str]:
    admin_names = list(dict.fromkeys(admins))
    for admin in admin_names:
        find_rep(session, admin, active=False)
    return admin_names


def _check_stage_days(stage_days: Mapping[str, int]) -> dict[str, int]:
    stages: dict[str, int] = {}
    for stage, n in stage_days.items():
        try:
            key = parse_stage(stage).value
        except ValueError:
            raise BadInput(f"'{stage}' is not a stage", option="stage_days") from None
        stages[key] = _check_days(n, "stage_days", zero_ok=False)  # type: ignore[assignment]
    return stages


def add_pool(
    session: Session,
    *,
    now: datetime,
    name: str,
    rule: str | None = None,
    members: list[str] | None = None,
    admins: list[str] | None = None,
    days: int | None = None,
    stage_days: Mapping[str, int] | None = None,
    daily_limit: int | None = None,
    cooldown_days: int | None = None,
) -> PoolView:
    """Add a named pool after the others (routing tries it last), with its own overrides.

    Pool customers already waiting stay where they are; the rule routes customers
    that enter the pool from now on.
    """
    name = name.strip()
    if not name or "," in name:
        raise BadInput(f"'{name}' is not a pool name (no commas, not empty)", option="name")
    if name == DEFAULT_POOL:
        raise Refused(f"'{DEFAULT_POOL}' is the pool of customers no rule takes; choose another")
    if session.execute(select(Pool.id).where(Pool.name == name)).first():
        raise Refused(f"a pool named '{name}' exists already")
    if rule is not None:
        rule = _canonical_rule(rule)
    admin_names = _check_admins(session, admins or [])
    stages = _check_stage_days(stage_days or {})
    last = session.execute(select(func.max(Pool.position))).scalar() or 0
    pool = Pool(
        name=name,
        position=last + 1,
        rule=rule,
        members=",".join(_check_members(session, members or [])) or None,
        admins=",".join(admin_names) or None,
        days=_check_days(days, "days", zero_ok=False),
        stage_days=json.dumps(stages, ensure_ascii=False) if stages else None,
        daily_limit=_check_days(daily_limit, "daily_limit", zero_ok=True),
        cooldown_days=_check_days(cooldown_days, "cooldown_days", zero_ok=True),
        created_at=to_db(now),
    )
    session.add(pool)
    session.flush()
    return _view(pool, 0)


def set_pool(
    session: Session,
    *,
    name: str,
    rule: str | None = None,
    no_rule: bool = False,
    members: list[str] | None = None,
    no_members: bool = False,
    admins: list[str] | None = None,
    no_admins: bool = False,
    days: int | None = None,
    no_days: bool = False,
    stage_days: Mapping[str, int] | None = None,
    no_stage_days: bool = False,
    daily_limit: int | None = None,
    no_daily_limit: bool = False,
    cooldown_days: int | None = None,
    no_cooldown_days: bool = False,
) -> SetResult:
    """Change a named pool in place, checked as `pool add` checks.

    A value not given stays; `no_X` clears X (the team's rule applies again, or
    everyone may claim). `stage_days` adds to the pool's own stages (`no_stage_days`
    drops them first). Customers already waiting stay where they are, as with
    `pool add`: a new rule routes the customers that enter the pool from now on.
    """
    given = {
        "rule": (rule, no_rule),
        "members": (members or None, no_members),
        "admins": (admins or None, no_admins),
        "days": (days, no_days),
        "daily_limit": (daily_limit, no_daily_limit),
        "cooldown_days": (cooldown_days, no_cooldown_days),
    }
    for key, (value, clear) in given.items():
        if value is not None and clear:
            raise Clash(key, f"no_{key}")
    pool = pool_named(session, name)
    if pool is None:
        raise Refused(
            f"the {DEFAULT_POOL} pool has no settings of its own: salespool.toml sets its rules"
        )
    before = _view(pool, 0)
    if rule is not None or no_rule:
        pool.rule = _canonical_rule(rule) if rule is not None else None
    if members or no_members:
        pool.members = ",".join(_check_members(session, members or [])) or None
    if admins or no_admins:
        pool.admins = ",".join(_check_admins(session, admins or [])) or None
    if days is not None or no_days:
        pool.days = _check_days(days, "days", zero_ok=False)
    if stage_days or no_stage_days:
        stages = {} if no_stage_days else dict(before.stage_days)
        stages.update(_check_stage_days(stage_days or {}))
        pool.stage_days = json.dumps(stages, ensure_ascii=False) if stages else None
    if daily_limit is not None or no_daily_limit:
        pool.daily_limit = _check_days(daily_limit, "daily_limit", zero_ok=True)
    if cooldown_days is not None or no_cooldown_days:
        pool.cooldown_days = _check_days(cooldown_days, "cooldown_days", zero_ok=True)
    session.add(pool)
    session.flush()
    after = _view(pool, _sizes(session).get(pool.id, 0))
    changed = {
        key: {"from": getattr(before, key), "to": getattr(after, key)}
        for key in (*given, "stage_days")
        if getattr(before, key) != getattr(after, key)
    }
    return SetResult(after, changed)


def remove_pool(session: Session, *, now: datetime, actor: str, name: str) -> RemoveResult:
    """Remove a named pool; the customers waiting in it move to the default pool, each with
    a `pool_moved` event (none is stranded in a pool that no longer exists)."""
    pool = pool_named(session, name)
    if pool is None:
        raise Refused(f"the {DEFAULT_POOL} pool cannot be removed")
    waiting = and_(Customer.pool_id == pool.id, Customer.owner_id.is_(None))
    at = to_db(now)
    session.execute(
        insert(Event).from_select(
            ["customer_id", "at", "kind", "from_stage", "to_stage", "reason", "actor", "detail"],
            select(
                Customer.id,
                literal(at),
                literal(EventKind.pool_moved.value),
                Customer.stage,
                Customer.stage,
                literal(f"pool {pool.name} removed"),
                literal(actor),
                literal(json.dumps({"from": pool.name, "to": DEFAULT_POOL}, ensure_ascii=False)),
            ).where(waiting),
        )
    )
    moved = session.execute(select(func.count()).select_from(Customer).where(waiting)).scalar_one()
    session.execute(
        update(Customer)
        .where(Customer.pool_id == pool.id)
        .values(pool_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(Pool).where(Pool.id == pool.id))
    return RemoveResult(pool.name, moved)


def move(
    session: Session,
    *,
    now: datetime,
    actor: str,
    customer: str,
    to: str,
    by: str,
    tz: str = "UTC",
) -> CustomerView:
    """Move a pool customer to another pool: `by` must be a manager or an admin of the
    pool it is in now."""
    found = find_customer(session, customer)
    mover = find_rep(session, by, active=False)
    target = pool_named(session, to)
    if found.owner_id is not None:
        owner = session.get(Rep, found.owner_id)
        raise Refused(f"'{found.name}' is not in the pool: {owner.name} owns it")
    current = session.get(Pool, found.pool_id) if found.pool_id is not None else None
    here = current.name if current is not None else DEFAULT_POOL
    there = target.name if target is not None else DEFAULT_POOL
    if here == there:
        raise Refused(f"'{found.name}' is in pool {here} already")
    admins = names(current.admins) if current is not None else []
    if mover.role != Role.manager.value and mover.name not in admins:
        who = f"managers and its admins ({', '.join(admins)})" if admins else "managers"
        raise Refused(f"pool {here}: {mover.name} may not move its customers (only {who})")
    moved = session.execute(
        update(Customer)
        .where(Customer.id == found.id, Customer.owner_id.is_(None))
        .values(pool_id=target.id if target is not None else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise Refused(f"'{found.name}' changed owner meanwhile; try again")
    refuse_out_of_order(session, Customer.id == found.id, at=now, what="move", tz=tz)
    record_pool_move(
        session,
        found,
        at=now,
        actor=actor,
        reason=f"moved by {mover.name}",
        moved=(here, there),
        pool=target.name if target is not None else None,
    )
    return get_view(session, found.id, now=now)


def pool_flow(session: Session, *, since: datetime, as_of: datetime) -> list[PoolFlow]:
    """Each pool's size now and its flow between `since` and `as_of`: in, out, and the
    median days those that left had waited in it (from the event that put them there)."""
    start, end = to_db(since), to_db(as_of)
    window = and_(Event.at >= start, Event.at <= end)
    into = dict(
        session.execute(
            select(Event.pool, func.count())
            .where(Event.kind.in_(IN_KINDS), window)
            .group_by(Event.pool)
        ).all()
    )
    earlier = Event.__table__.alias("entered")
    entered = (
        select(func.max(earlier.c.at))
        .where(
            earlier.c.customer_id == Event.customer_id,
            earlier.c.kind.in_(ENTERS),
            earlier.c.at <= Event.at,
        )
        .scalar_subquery()
    )
    waits: dict[str | None, list[float]] = {}
    for pool, left_at, entered_at in session.execute(
        select(Event.pool, Event.at, entered).where(Event.kind.in_(OUT_KINDS), window)
    ):
        days = None
        if entered_at is not None:
            days = (from_db(left_at) - from_db(entered_at)).total_seconds() / 86400
        waits.setdefault(pool, []).append(days)  # type: ignore[arg-type]
    flows = []
    for view in list_pools(session):
        key = None if view.name == DEFAULT_POOL else view.name
        left = waits.get(key, [])
        known = [d for d in left if d is not None]
        flows.append(
            PoolFlow(
                pool=view.name,
                size=view.size,
                in_=into.get(key, 0),
                out=len(left),
                median_days_in_pool=round(median(known), 1) if known else None,
            )
        )
    return flows

"""Which pool a customer goes to: the first pool (by position) whose rule it matches,
else the default pool (customer.pool_id null). All of it is SQL built from the pools'
parsed rules, so recycle, rep leave and import route a whole batch in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import ColumnElement, and_, case, false, literal, not_, null, or_, select, update
from sqlmodel import Session

from salespool.errors import NotFound
from salespool.models import Customer, Pool, Rep
from salespool.rules import ClaimRules, PoolThresholds, RecycleRules, RuleClause, parse_pool_rule

DEFAULT_POOL = "default"  # the name of the pool every customer is in when no rule takes it


def load_pools(session: Session) -> list[Pool]:
    """The named pools in routing order."""
    return list(session.execute(select(Pool).order_by(Pool.position, Pool.id)).scalars())


def clauses_sql(clauses: Sequence[RuleClause] | None) -> ColumnElement[bool]:
    """SQL: the customer matches every clause; never NULL (so NOT of it is exact)."""
    if not clauses:
        return false()
    tests = []
    for clause in clauses:
        col = getattr(Customer, clause.field)
        if clause.negate:
            # No city at all is "not in (北京, 天津)" too.
            tests.append(or_(col.is_(None), col.not_in(clause.values)))
        else:
            tests.append(and_(col.is_not(None), col.in_(clause.values)))
    return and_(*tests)


def rule_of(pool: Pool) -> tuple[RuleClause, ...] | None:
    """A stored pool's parsed rule (None: it takes no customer by rule)."""
    return parse_pool_rule(pool.rule) if pool.rule else None


def routed_sql(routed_by: Sequence[tuple[RuleClause, ...] | None]) -> ColumnElement[bool]:
    """SQL: matches the last rule of `routed_by` and none before it."""
    *before, own = routed_by
    return and_(clauses_sql(own), *(not_(clauses_sql(r)) for r in before if r))


def route_case(pools: Sequence[Pool], *, by_name: bool = False) -> ColumnElement:
    """SQL: the pool each customer would go to, as pool id (or name, with `by_name`);
    NULL for the default pool."""
    whens = [
        (clauses_sql(rule), literal(p.name if by_name else p.id))
        for p in pools
        if (rule := rule_of(p))
    ]
    return case(*whens, else_=null()) if whens else null()


def route_customers(session: Session, where: ColumnElement[bool]) -> None:
    """Put the pool customers `where` selects into the pool their rule routes them to."""
    pools = load_pools(session)
    if not any(p.rule for p in pools):
        return
    session.execute(
        update(Customer)
        .where(where, Customer.owner_id.is_(None))
        .values(pool_id=route_case(pools))
        .execution_options(synchronize_session=False)
    )


def with_pool_thresholds(session: Session, rules: RecycleRules) -> RecycleRules:
    """The rules with each pool's own recycling thresholds, for the customers routed to it.

    `--days N` (RecycleRules.only) means N for everyone: pools change nothing then.
    """
    if rules.only_days is not None:
        return rules
    found = []
    routed_by: list[tuple[RuleClause, ...] | None] = []
    for pool in load_pools(session):
        rule = rule_of(pool)
        if rule is None:
            continue  # no customer is routed to it, so no owned customer uses its thresholds
        routed_by.append(rule)
        stage_days = json.loads(pool.stage_days) if pool.stage_days else {}
        if pool.days is not None or stage_days:
            found.append(PoolThresholds(pool.name, tuple(routed_by), pool.days, stage_days))
    return replace(rules, pools=tuple(found)) if found else rules


def pool_named(session: Session, name: str) -> Pool | None:
    """The named pool; None for the default pool. Refused if there is no such pool."""
    if name == DEFAULT_POOL:
        return None
    pool = session.execute(select(Pool).where(Pool.name == name)).scalar_one_or_none()
    if pool is None:
        names = [DEFAULT_POOL, *(p.name for p in load_pools(session))]
        raise NotFound(f"no pool named '{name}' (pools: {', '.join(names)})")
    return pool


def names(text: str | None) -> list[str]:
    """A stored comma-separated list."""
    return [n for n in (text or "").split(",") if n]


def is_member(pool: Pool | None, rep: Rep) -> bool:
    """Whether `rep` may take customers from `pool` (no members listed: everyone)."""
    members = names(pool.members) if pool is not None else []
    return not members or rep.name in members or rep.role in members


def not_member(pool: Pool, rep: Rep) -> str:
    """The refusal for a rep who is not among the pool's members."""
    return (
        f"pool {pool.name}: {rep.name} is not a member (members: {', '.join(names(pool.members))})"
    )


def claim_rules_of(pool: Pool | None, rules: ClaimRules) -> ClaimRules:
    """The claim limits for a customer in `pool`: its own where it has them."""
    if pool is None:
        return rules
    if pool.daily_limit is not None:
        rules = replace(rules, daily_limit=pool.daily_limit)
    if pool.cooldown_days is not None:
        rules = replace(rules, cooldown_days=pool.cooldown_days)
    return rules

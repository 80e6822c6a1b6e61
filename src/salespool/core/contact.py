"""Contact that counts: which contact the idleness clock runs from (issue 12).

`recycle.clock_kinds` and `recycle.min_note_chars` say which follow-ups reset the
clock. The clock is computed when it is read, from the follow-ups themselves:

- Under the defaults (every kind, any note) it is `customer.last_contact_at`, as
  it always was: no subquery, nothing new on the recycle path.
- Otherwise the latest counting contact is one correlated subquery per customer
  over the follow-ups and live deals, newest first on the (customer_id, at) index,
  so a rule change needs no recompute and no stored column can be stale.

Deals always count (a deal is the strongest contact there is). A `last_contact_at`
no follow-up or deal explains (it came from a customer import's `last_contact_at`
column, kind unknown) counts too: an import never makes a customer idle without
evidence, and recycling is the step that cannot be taken back. Once a later
follow-up is logged, that imported moment is no longer told apart from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import aliased
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from salespool.clock import from_db, to_db
from salespool.models import Customer, Deal, FollowUp
from salespool.rules import RecycleRules
from salespool.storage.functions import greatest

DEAL = "deal"  # the kind shown when the clock runs from a deal
IMPORTED = "imported"  # ... from an imported last_contact_at no follow-up explains
OWNED = "owned"  # ... from the moment the current owner got the customer


@dataclass
class ClockFrom:
    """The moment the idleness clock runs from, and what happened then."""

    at: datetime
    kind: str  # a follow-up kind, "deal", "imported" or "owned"


def _counting(rules: RecycleRules, fu: type[FollowUp] = FollowUp) -> list[ColumnElement[bool]]:
    """SQL: the follow-up conditions of the contact that counts, on `fu` (an alias)."""
    where: list[ColumnElement[bool]] = [fu.customer_id == Customer.id]
    if rules.clock_kinds is not None:
        where.append(fu.kind.in_(list(rules.clock_kinds)))
    if rules.min_note_chars:
        note = func.trim(func.coalesce(fu.note, ""))
        where.append(func.length(note) >= rules.min_note_chars)
    return where


def _unexplained() -> ColumnElement[bool]:
    """SQL: last_contact_at set, and no follow-up or deal (voided too) at or after it."""
    fu, deal = aliased(FollowUp), aliased(Deal)
    later_fu = (
        select(fu.id)
        .where(fu.customer_id == Customer.id, fu.at >= Customer.last_contact_at)
        .correlate(Customer)
    )
    later_deal = (
        select(deal.id)
        .where(deal.customer_id == Customer.id, deal.at >= Customer.last_contact_at)
        .correlate(Customer)
    )
    return and_(Customer.last_contact_at.is_not(None), ~later_fu.exists(), ~later_deal.exists())


# What a missing contact counts as inside `greatest` (which must not see NULL): before
# any moment the store holds.
NEVER = datetime(1, 1, 1, tzinfo=UTC)


def _moment() -> TypeEngine:
    """The type of a stored moment, so results read back as datetimes (SQLite: from text)."""
    return Customer.last_contact_at.type


def _never() -> ColumnElement:
    return literal(to_db(NEVER), Customer.last_contact_at.type)


def _latest_counting_at(rules: RecycleRules) -> ColumnElement:
    """SQL: the customer's latest counting follow-up, NEVER if none.

    Newest first on the (customer_id, at) index, stopping at the first that counts."""
    fu = aliased(FollowUp)
    latest = (
        select(fu.at)
        .where(*_counting(rules, fu))
        .order_by(fu.at.desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )
    return func.coalesce(latest, _never(), type_=_moment())


def _latest_live_deal() -> ColumnElement:
    """SQL: the customer's latest deal that counts (not voided), NEVER if none."""
    deal = aliased(Deal)
    latest = (
        select(func.max(deal.at))
        .where(deal.customer_id == Customer.id, deal.voided_at.is_(None))
        .correlate(Customer)
        .scalar_subquery()
    )
    return func.coalesce(latest, _never(), type_=_moment())


def _contact_terms(rules: RecycleRules) -> list[ColumnElement]:
    """SQL: the moments the clock may run from, none NULL: counting follow-up, live deal,
    and an imported last_contact_at nothing explains."""
    imported = case((_unexplained(), Customer.last_contact_at), else_=_never())
    return [_latest_counting_at(rules), _latest_live_deal(), imported]


def clock_start(rules: RecycleRules) -> ColumnElement:
    """SQL: when the idleness clock started for an owned customer under narrowed `rules`:
    the latest of owned_since and the contacts that count, each subquery evaluated once."""
    return greatest(Customer.owned_since, *_contact_terms(rules), type_=_moment())


def counting_contact(rules: RecycleRules | None) -> ColumnElement:
    """SQL: the moment of the customer's latest contact that counts under `rules` (or NULL)."""
    if rules is None or rules.every_contact_counts:
        return Customer.last_contact_at
    latest = greatest(*_contact_terms(rules), type_=_moment())
    return func.nullif(latest, _never(), type_=_moment())


def counting_kind(rules: RecycleRules | None) -> ColumnElement:
    """SQL: what that contact was: a follow-up kind, "deal" or "imported" (or NULL).

    For listings of a few rows (`show`, `due`): it looks the contact up again."""
    every = rules or RecycleRules()
    at = counting_contact(every)
    deal = aliased(Deal)
    deal_then = (
        select(deal.id)
        .where(deal.customer_id == Customer.id, deal.voided_at.is_(None), deal.at == at)
        .correlate(Customer)
    )
    # An alias of its own: the subqueries inside `at` must not correlate to this one.
    fu = aliased(FollowUp)
    fu_kind = (
        select(fu.kind)
        .where(*_counting(every, fu), fu.at == at)
        .order_by(fu.id.desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )
    return case(
        (_unexplained(), literal(IMPORTED)),
        (deal_then.exists(), literal(DEAL)),
        else_=fu_kind,
    )


def clock_from(
    session: Session, *, customer_id: int, rules: RecycleRules | None
) -> ClockFrom | None:
    """Which contact an owned customer's idleness clock runs from (None in the pool)."""
    row = session.execute(
        select(Customer.owned_since, counting_contact(rules), counting_kind(rules)).where(
            Customer.id == customer_id
        )
    ).first()
    if row is None:  # a pool customer a team's rep sees only through the masked view
        return None
    return pick(*row)


def pick(owned: datetime | None, at: datetime | None, kind: str | None) -> ClockFrom | None:
    """The later of the counting contact (`at`, `kind`) and `owned` (None: in the pool)."""
    if owned is None:
        return None
    owned = from_db(owned)
    if at is None or from_db(at) <= owned:
        return ClockFrom(at=owned, kind=OWNED)
    return ClockFrom(at=from_db(at), kind=kind or IMPORTED)

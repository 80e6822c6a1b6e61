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
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, desc, func, literal, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import from_db
from salespool.models import Customer, Deal, FollowUp
from salespool.rules import RecycleRules

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
    later_fu = select(FollowUp.id).where(
        FollowUp.customer_id == Customer.id, FollowUp.at >= Customer.last_contact_at
    )
    later_deal = select(Deal.id).where(
        Deal.customer_id == Customer.id, Deal.at >= Customer.last_contact_at
    )
    return and_(Customer.last_contact_at.is_not(None), ~later_fu.exists(), ~later_deal.exists())


def _latest_at(rules: RecycleRules) -> ColumnElement:
    """SQL: the moment of the customer's latest counting follow-up or live deal."""
    fu = select(FollowUp.at.label("at")).where(*_counting(rules)).correlate(Customer)
    deal = (
        select(Deal.at.label("at"))
        .where(Deal.customer_id == Customer.id, Deal.voided_at.is_(None))
        .correlate(Customer)
    )
    return fu.union_all(deal).order_by(desc("at")).limit(1).scalar_subquery()


def counting_contact(rules: RecycleRules | None) -> ColumnElement:
    """SQL: the moment of the customer's latest contact that counts under `rules` (or NULL)."""
    if rules is None or rules.every_contact_counts:
        return Customer.last_contact_at
    return case((_unexplained(), Customer.last_contact_at), else_=_latest_at(rules))


def counting_kind(rules: RecycleRules | None) -> ColumnElement:
    """SQL: what that contact was: a follow-up kind, "deal" or "imported" (or NULL).

    For listings of a few rows (`show`, `due`): it looks the contact up again."""
    every = rules or RecycleRules()
    at = counting_contact(every)
    deal_then = select(Deal.id).where(
        Deal.customer_id == Customer.id, Deal.voided_at.is_(None), Deal.at == at
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
    owned, at, kind = session.execute(
        select(Customer.owned_since, counting_contact(rules), counting_kind(rules)).where(
            Customer.id == customer_id
        )
    ).one()
    return pick(owned, at, kind)


def pick(owned: datetime | None, at: datetime | None, kind: str | None) -> ClockFrom | None:
    """The later of the counting contact (`at`, `kind`) and `owned` (None: in the pool)."""
    if owned is None:
        return None
    owned = from_db(owned)
    if at is None or from_db(at) <= owned:
        return ClockFrom(at=owned, kind=OWNED)
    return ClockFrom(at=from_db(at), kind=kind or IMPORTED)

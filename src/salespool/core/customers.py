"""Customers: finding one by what a person types, and listing them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, case, or_, select, update
from sqlmodel import Session

from salespool.clock import from_db, idle_days
from salespool.core.reps import find_rep
from salespool.errors import NotFound, Refused
from salespool.models import Customer, Rep, Stage

MAX_CANDIDATES_SHOWN = 5


@dataclass
class CustomerView:
    """A customer as shown to users and scripts (owner by name, times aware UTC)."""

    id: int
    external_id: str | None
    name: str
    owner: str | None
    stage: str
    last_contact_at: datetime | None
    idle_days: int | None
    owned_since: datetime | None
    pooled_at: datetime | None
    contact: str | None
    phone: str | None
    email: str | None
    city: str | None
    level: str | None
    created_at: datetime
    # A lock set by the current owner (`salespool lock`); `locked` is whether it protects now.
    locked: bool = False
    locked_until: datetime | None = None
    lock_reason: str | None = None

    @property
    def stage_shown(self) -> str:
        """The stage as the human table shows it, marked when a lock protects the customer."""
        return f"{self.stage} (locked)" if self.locked else self.stage


def idle_since():
    """SQL for when the idleness clock started: the later of last contact and owned_since."""
    return case(
        (Customer.last_contact_at > Customer.owned_since, Customer.last_contact_at),
        else_=Customer.owned_since,
    )


def view_select() -> Select:
    """Customers joined with their owner's name, ready to turn into CustomerViews."""
    return select(Customer, Rep.name).outerjoin(Rep, Rep.id == Customer.owner_id)


def to_views(session: Session, query: Select, now: datetime) -> list[CustomerView]:
    """Run a `view_select()` query and build the views."""
    views = []
    # populate_existing: bulk UPDATEs earlier in the transaction bypass the identity map.
    for customer, owner in session.execute(query.execution_options(populate_existing=True)):
        since = None
        if customer.owner_id is not None and customer.owned_since is not None:
            since = customer.owned_since
            if customer.last_contact_at is not None and customer.last_contact_at > since:
                since = customer.last_contact_at
        views.append(
            CustomerView(
                id=customer.id,
                external_id=customer.external_id,
                name=customer.name,
                owner=owner,
                stage=customer.stage,
                last_contact_at=from_db(customer.last_contact_at),
                idle_days=idle_days(since, now) if since is not None else None,
                owned_since=from_db(customer.owned_since),
                pooled_at=from_db(customer.pooled_at),
                contact=customer.contact,
                phone=customer.phone,
                email=customer.email,
                city=customer.city,
                level=customer.level,
                created_at=from_db(customer.created_at),
                **_lock_fields(customer, now),
            )
        )
    return views


def _lock_fields(customer: Customer, now: datetime) -> dict:
    """The lock as shown: only one set during the current ownership counts (see core/recycle)."""
    if (
        customer.locked_at is None
        or customer.owned_since is None
        or customer.locked_at < customer.owned_since
    ):
        return {}
    until = from_db(customer.locked_until)
    return {
        "locked": until is None or until > now,
        "locked_until": until,
        "lock_reason": customer.lock_reason,
    }


def update_while_owned(
    session: Session, customer: Customer, while_owner: int | None, **values
) -> None:
    """Change a customer with one conditional UPDATE that holds only while `while_owner` owns it.

    A concurrent hand-over makes it match no row, and the change is refused.
    """
    done = session.execute(
        update(Customer)
        .where(Customer.id == customer.id, Customer.owner_id == while_owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Refused(f"'{customer.name}' changed owner meanwhile; try again")


def get_view(session: Session, customer_id: int, now: datetime) -> CustomerView:
    """One customer's view by id."""
    return to_views(session, view_select().where(Customer.id == customer_id), now)[0]


def find_customer(session: Session, key: str) -> Customer:
    """A customer by numeric id, external_id or exact name; ambiguity is refused."""
    key = key.strip()
    conditions = [Customer.external_id == key, Customer.name == key]
    if key.isdigit():
        conditions.append(Customer.id == int(key))
    matches = (
        session.execute(select(Customer).where(or_(*conditions)).order_by(Customer.id).limit(50))
        .scalars()
        .all()
    )
    if not matches:
        raise NotFound(f"no customer '{key}' (give an id, an external_id or the exact name)")
    if len(matches) == 1:
        return matches[0]
    # An exact id or external_id beats a name; two different such matches are ambiguous.
    strong = [c for c in matches if c.external_id == key or (key.isdigit() and c.id == int(key))]
    if len(strong) == 1:
        return strong[0]
    shown = ", ".join(
        f"#{c.id} {c.name}" + (f" ({c.external_id})" if c.external_id else "")
        for c in matches[:MAX_CANDIDATES_SHOWN]
    )
    more = f" and {len(matches) - MAX_CANDIDATES_SHOWN} more" if len(matches) > 5 else ""
    raise Refused(f"'{key}' matches {len(matches)} customers: {shown}{more}; use the id")


def list_customers(
    session: Session,
    now: datetime,
    rep: str | None = None,
    stage: Stage | None = None,
    pool: bool = False,
    limit: int | None = None,
) -> list[CustomerView]:
    """Customers, filtered by owner, stage or the pool; ordered by id."""
    query = view_select().order_by(Customer.id)
    if rep is not None:
        query = query.where(Customer.owner_id == find_rep(session, rep, active=False).id)
    if pool:
        query = query.where(Customer.owner_id.is_(None))
    if stage is not None:
        query = query.where(Customer.stage == stage.value)
    if limit is not None:
        query = query.limit(limit)
    return to_views(session, query, now)


def list_pool(session: Session, now: datetime, limit: int | None = None) -> list[CustomerView]:
    """The pool, oldest in the pool first (the order `assign` hands it out)."""
    query = (
        view_select()
        .where(Customer.owner_id.is_(None))
        .order_by(Customer.pooled_at.is_(None), Customer.pooled_at, Customer.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return to_views(session, query, now)

"""Customers: finding one by what a person types, and listing them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import from_db, idle_days
from salespool.core.contact import clock_start, counting_contact
from salespool.core.reps import find_rep
from salespool.core.routing import DEFAULT_POOL, pool_named
from salespool.errors import BadInput, NoSuchCustomer, NotFound, Refused
from salespool.keys import text_key
from salespool.models import Customer, CustomerAlias, Pool, Rep, Stage
from salespool.rules import RecycleRules
from salespool.storage import team

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
    # The customer who referred this one (`referred_by`): its id and name.
    referred_by_id: int | None = None
    referred_by: str | None = None
    # The pool a pool customer waits in ("default" or a named pool's); None when owned.
    pool: str | None = None

    @property
    def stage_shown(self) -> str:
        """The stage as the human table shows it, marked when a lock protects the customer."""
        return f"{self.stage} (locked)" if self.locked else self.stage


def idle_since(rules: RecycleRules | None = None):
    """SQL for when the idleness clock started: the later of the last contact that counts
    (`rules`' recycle.clock_kinds and min_note_chars; every contact without) and owned_since."""
    if rules is not None and not rules.every_contact_counts:
        return clock_start(rules)
    return case(
        (Customer.last_contact_at > Customer.owned_since, Customer.last_contact_at),
        else_=Customer.owned_since,
    )


def view_select() -> Select:
    """Customers joined with their owner's, referrer's and pool's names, for CustomerViews."""
    referrer = aliased(Customer)
    return (
        select(Customer, Rep.name, referrer.name, Pool.name)
        .outerjoin(Rep, Rep.id == Customer.owner_id)
        .outerjoin(referrer, referrer.id == Customer.referred_by_id)
        .outerjoin(Pool, Pool.id == Customer.pool_id)
    )


def to_views(
    session: Session, query: Select, *, now: datetime, rules: RecycleRules | None = None
) -> list[CustomerView]:
    """Run a `view_select()` query and build the views; idle days count from the last
    contact that counts under `rules` (recycle.clock_kinds, min_note_chars), every one
    without."""
    views = []
    narrowed = rules is not None and not rules.every_contact_counts
    if narrowed:
        query = query.add_columns(counting_contact(rules))
    # populate_existing: bulk UPDATEs earlier in the transaction bypass the identity map.
    for row in session.execute(query.execution_options(populate_existing=True)):
        customer, owner, referrer, pool = row[0], row[1], row[2], row[3]
        contact = row[4] if narrowed else customer.last_contact_at
        views.append(_view(customer, owner, referrer, pool, contact, now))
    return views


def _view(
    customer: Customer,
    owner: str | None,
    referrer: str | None,
    pool: str | None,
    contact: datetime | None,
    now: datetime,
) -> CustomerView:
    """One customer as shown: idle days from the later of `contact` and owned_since."""
    since = None
    if customer.owner_id is not None and customer.owned_since is not None:
        since = customer.owned_since
        if contact is not None and contact > since:
            since = contact
    return CustomerView(
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
        referred_by_id=customer.referred_by_id,
        referred_by=referrer,
        pool=(pool or DEFAULT_POOL) if customer.owner_id is None else None,
    )


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
    session: Session, customer: Customer, *, while_owner: int | None, **values: object
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


def get_view(
    session: Session, customer_id: int, *, now: datetime, rules: RecycleRules | None = None
) -> CustomerView:
    """One customer's view by id (idle days by `rules`, as `to_views`)."""
    query = view_select().where(Customer.id == customer_id)
    found = to_views(session, query, now=now, rules=rules)
    if not found and team.masked(session):  # a team's rep sees a pool customer masked
        row = team.pool_row(session, customer_id)
        found = _pool_views(session, [row], now=now) if row is not None else []
    if not found:
        raise NotFound(f"no customer with id #{customer_id}")
    return found[0]


def _pool_views(session: Session, rows, *, now: datetime) -> list[CustomerView]:
    """Views of the masked pool view's rows: contact, phone and e-mail are not there."""
    pools = dict(session.execute(select(Pool.id, Pool.name)).all())
    referrers = {r["id"]: r["name"] for r in rows}
    views = []
    for r in rows:
        customer = Customer(**dict(r))
        views.append(
            _view(
                customer,
                None,
                referrers.get(r["referred_by_id"]),
                pools.get(r["pool_id"]),
                customer.last_contact_at,
                now,
            )
        )
    return views


def _pool_match(session: Session, key: str, number: int | None) -> Customer | None:
    """A pool customer a team's rep names (read masked), as an unattached Customer."""
    if not team.masked(session):
        return None
    where = "external_id = :key OR name = :key" + (" OR id = :n" if number is not None else "")
    rows = team.pool_rows(session, where, {"key": key, "n": number})
    if not rows:
        return None
    by_key = [r for r in rows if r["external_id"] == key or r["id"] == number]
    if len(rows) > 1 and len(by_key) != 1:
        shown = ", ".join(f"#{r['id']} {r['name']}" for r in rows[:MAX_CANDIDATES_SHOWN])
        raise Refused(f"'{key}' matches {len(rows)} pool customers: {shown}; type one as #ID")
    return Customer(**dict((by_key or rows)[0]))


def _pool_customer(session: Session, customer_id: int) -> Customer | None:
    """A pool customer a team's rep names by `#ID` (read masked), as an unattached Customer."""
    if not team.masked(session):
        return None
    row = team.pool_row(session, customer_id)
    return Customer(**dict(row)) if row is not None else None


# `#12` and `id:12` (full-width forms too, after NFKC) always name the internal id.
# Up to 18 digits: anything longer is no 64-bit id (and SQLite could not even bind it).
ID_FORM = re.compile(r"(?:#|id:)\s*([0-9]{1,18})", re.IGNORECASE)


def _named(c: Customer) -> str:
    """A candidate in a refusal, in the `#ID` form that can be typed back."""
    return f"#{c.id} {c.name}" + (f" ({c.external_id})" if c.external_id else "")


def find_customer(session: Session, key: str) -> Customer:
    """A customer by what a person types; ambiguity is refused listing `#ID` forms.

    - `#12` / `id:12`: the internal id 12; an id merged away (`customer_alias`) leads to
      the customer it was merged into.
    - anything else: an exact external_id, a bare number as the id, else an exact name.
      A bare number that is one customer's external_id and another's id is refused
      (type `#ID`); external_id and id beat a name; a bare number no live customer
      answers to is looked up among merged-away ids.
    """
    key = key.strip()
    id_form = ID_FORM.fullmatch(unicodedata.normalize("NFKC", key))
    if id_form:
        number = int(id_form[1])
        found = (
            session.execute(select(Customer).where(Customer.id == number)).scalar_one_or_none()
            or _merged_into(session, number)
            or _pool_customer(session, number)
        )
        if found is None:
            raise NotFound(f"no customer with id #{number}")
        return found
    number = int(key) if key.isascii() and key.isdigit() and len(key) < 19 else None
    conditions = [Customer.external_id == key, Customer.name == key]
    if number is not None:
        conditions.append(Customer.id == number)
    matches = (
        session.execute(select(Customer).where(or_(*conditions)).order_by(Customer.id).limit(50))
        .scalars()
        .all()
    )
    if not matches:
        merged = _merged_into(session, number) if number is not None else None
        if merged is not None:
            return merged
        pooled = _pool_match(session, key, number)
        if pooled is not None:
            return pooled
        raise NoSuchCustomer(key)
    if len(matches) == 1:
        return matches[0]
    by_external = [c for c in matches if c.external_id == key]
    by_id = [c for c in matches if c.id == number]
    strong = {c.id: c for c in by_external + by_id}
    if len(strong) == 1:
        return next(iter(strong.values()))
    if by_external and by_id:
        raise Refused(
            f"'{key}' is the external_id of {_named(by_external[0])} and the id of "
            f"{_named(by_id[0])}; type #{by_external[0].id} or #{by_id[0].id}"
        )
    shown = ", ".join(_named(c) for c in matches[:MAX_CANDIDATES_SHOWN])
    more = f" and {len(matches) - MAX_CANDIDATES_SHOWN} more" if len(matches) > 5 else ""
    raise Refused(f"'{key}' matches {len(matches)} customers: {shown}{more}; type one as #ID")


def _merged_into(session: Session, old_id: int) -> Customer | None:
    """The customer an id merged away (`customer merge`) now lives on in, if any."""
    return session.execute(
        select(Customer)
        .join(CustomerAlias, CustomerAlias.customer_id == Customer.id)
        .where(CustomerAlias.id == old_id)
    ).scalar_one_or_none()


def list_customers(
    session: Session,
    *,
    now: datetime,
    rep: str | None = None,
    stage: Stage | None = None,
    pool: bool = False,
    limit: int | None = None,
    search: str | None = None,
    rules: RecycleRules | None = None,
) -> list[CustomerView]:
    """Customers, filtered by owner, stage, the pool or a search text; ordered by id.

    `rules` say which contact the idle days count from (every one without). A team's
    rep sees their own book, and with `pool` the pool masked."""
    if pool and team.masked(session) and rep is None and search is None:
        return list_pool(session, now=now, limit=limit, stage=stage, by_id=True)
    query = view_select().order_by(Customer.id)
    if search is not None:
        query = query.where(search_condition(search))
    if rep is not None:
        query = query.where(Customer.owner_id == find_rep(session, rep, active=False).id)
    if pool:
        query = query.where(Customer.owner_id.is_(None))
    if stage is not None:
        query = query.where(Customer.stage == stage.value)
    if limit is not None:
        query = query.limit(limit)
    return to_views(session, query, now=now, rules=rules)


_PHONE_SEPARATORS = (" ", "-", "(", ")", ".", "+")
MIN_PHONE_DIGITS = 3  # fewer digits than this in a search text would match every phone


def search_condition(text: str) -> ColumnElement[bool]:
    """SQL: the customers `text` appears in: name, contact, e-mail, external_id, phone digits.

    Names compare on their NFKC, case-folded key; contact, e-mail and external_id on
    lower(), with the text NFKC'd and case-folded; phones on their digits (the E.164 key,
    or the stored number without separators), when the text holds 3 digits or more.
    """
    needle = text_key(text)
    if needle is None:
        raise BadInput("give some text to look for", option="search")
    conditions = [
        Customer.name_key.contains(needle, autoescape=True),
        Customer.email_key.contains(needle.replace(" ", ""), autoescape=True),
        func.lower(Customer.contact).contains(needle, autoescape=True),
        func.lower(Customer.external_id).contains(needle, autoescape=True),
    ]
    digits = "".join(ch for ch in needle if ch.isascii() and ch.isdigit())
    if len(digits) >= MIN_PHONE_DIGITS:
        bare = Customer.phone
        for sep in _PHONE_SEPARATORS:
            bare = func.replace(bare, sep, "")
        conditions += [
            Customer.phone_key.contains(digits, autoescape=True),
            bare.contains(digits, autoescape=True),
        ]
    return or_(*conditions)


def list_pool(
    session: Session,
    *,
    now: datetime,
    limit: int | None = None,
    pool: str | None = None,
    stage: Stage | None = None,
    by_id: bool = False,
) -> list[CustomerView]:
    """The pool (with `pool`, that one pool only), oldest in the pool first (the order
    `assign` hands it out). A team's rep reads it masked: no contact, phone or e-mail."""
    if team.masked(session):
        return _masked_pool(session, now=now, limit=limit, pool=pool, stage=stage, by_id=by_id)
    query = (
        view_select()
        .where(Customer.owner_id.is_(None))
        .order_by(Customer.pooled_at.is_(None), Customer.pooled_at, Customer.id)
    )
    if pool is not None:
        found = pool_named(session, pool)
        query = query.where(
            Customer.pool_id.is_(None) if found is None else Customer.pool_id == found.id
        )
    if limit is not None:
        query = query.limit(limit)
    return to_views(session, query, now=now)


def _masked_pool(
    session: Session,
    *,
    now: datetime,
    limit: int | None,
    pool: str | None,
    stage: Stage | None,
    by_id: bool,
) -> list[CustomerView]:
    conditions, params = [], {}
    if pool is not None:
        found = pool_named(session, pool)
        conditions.append("pool_id IS NULL" if found is None else "pool_id = :pool")
        params["pool"] = found.id if found is not None else None
    if stage is not None:
        conditions.append("stage = :stage")
        params["stage"] = stage.value
    # Oldest in the pool first, as assign hands it out; or by id.
    rows = team.pool_rows(
        session, " AND ".join(conditions), params, order="id" if by_id else "pooled", limit=limit
    )
    return _pool_views(session, rows, now=now)

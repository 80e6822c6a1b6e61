"""Corrections: fixing a customer's typed details, and merging two records of one customer.

Each correction is one write transaction and one event whose `detail` is JSON of
the old and new values (`{"fields": {FIELD: {"old": ..., "new": ...}}}`), so
`history` shows what was there before. Owner and stage are not edited here:
they change only through claim/assign/release/recycle/log, which leave their
own trail; a merge moves them only as far as the two records force it to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update
from sqlmodel import Session

from salespool.clock import from_db, iso, to_db
from salespool.core.customers import CustomerView, find_customer, get_view
from salespool.core.reps import find_rep
from salespool.core.routing import DEFAULT_POOL, load_pools, route_case
from salespool.core.trail import record_event, record_in_place, record_pool_move
from salespool.errors import BadInput, OwnersDiffer, Refused, SalespoolError
from salespool.keys import email_key, phone_key, text_key
from salespool.models import Customer, CustomerAlias, Deal, Event, EventKind, FollowUp, Rep
from salespool.storage.store import serialize

# The typed details `customer edit` may change, in the order they are reported.
EDITABLE = ("name", "external_id", "contact", "phone", "email", "city", "level")
# Details a merge fills on KEEP from DROP where KEEP has none.
FILLABLE = ("external_id", "contact", "phone", "email", "city", "level")
# Keys that identify one customer: two customers may share a name (two branches of
# one chain), never one of these (imports would match either of them). Each is the
# match-key column and the typed detail it comes from.
IDENTIFYING = (
    ("external_id", "external_id"),
    ("phone_key", "phone"),
    ("email_key", "email"),
)
# The lock lives in these columns; it travels as one piece.
LOCK_COLUMNS = ("locked_at", "locked_until", "lock_reason")


class NothingToChange(BadInput):
    """`edit_customer` was given no field to change (the CLI lists its flags instead)."""


@dataclass
class EditResult:
    """The customer after an edit, and what changed ({field: {"old", "new"}})."""

    customer: CustomerView
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A pool customer whose city or level changed, re-routed by the pools' rules:
    # {"from", "to"} pool names; None when it stayed (or is owned).
    pool_moved: dict[str, str] | None = None


@dataclass
class MergeResult:
    """KEEP after the merge, what DROP was, and what moved or was taken from it."""

    customer: CustomerView
    dropped: dict[str, Any]
    taken: dict[str, dict[str, Any]]
    moved: dict[str, int]


def shown(customer: Customer) -> str:
    """A customer as refusals name it: `#12 Acme Logistics`."""
    return f"#{customer.id} {customer.name}"


def referrers_of(session: Session, customer_id: int) -> list[int]:
    """The chain of who referred `customer_id`, nearest first: its referrer, theirs, ...

    One recursive query; UNION (not UNION ALL) ends it on a cycle already stored.
    """
    c = Customer.__table__.c
    start = select(c.referred_by_id.label("id"), literal(1).label("depth")).where(
        c.id == customer_id, c.referred_by_id.is_not(None)
    )
    chain = start.cte("chain", recursive=True)
    chain = chain.union(
        select(c.referred_by_id, chain.c.depth + 1).where(
            c.id == chain.c.id, c.referred_by_id.is_not(None), chain.c.depth < MAX_CHAIN
        )
    )
    rows = session.execute(select(chain.c.id, func.min(chain.c.depth)).group_by(chain.c.id))
    return [cid for cid, _depth in sorted(rows, key=lambda r: r[1])]


# How far a referral chain is followed: far past any real one, and the bound that ends the
# walk over a cycle stored before cycles were refused (depth makes each row distinct).
MAX_CHAIN = 10_000


def edit_customer(
    session: Session,
    *,
    now: datetime,
    actor: str,
    customer: str,
    changes: dict[str, str | None],
    region: str = "CN",
) -> EditResult:
    """Change a customer's typed details; the match keys follow.

    `changes` maps fields of EDITABLE to their new text (None: not given; "" clears
    the field, except the name, which every customer needs), and `referred_by` to
    the customer who referred this one (a CUSTOMER reference; "" clears it). Refused
    when nothing is given, when the new external_id, phone or e-mail already belongs
    to another customer, or when the referrer is unknown or the customer itself.
    Values equal to the stored ones change nothing and write no event.
    """
    changes = dict(changes)
    referrer = changes.pop("referred_by", None)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise BadInput(f"not an editable field: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in changes.items() if v is not None}
    if not given and referrer is None:
        raise NothingToChange(f"nothing to change: give one of {', '.join(EDITABLE)}")
    wanted = {k: _clean(v) for k, v in given.items()}
    if "name" in wanted and wanted["name"] is None:
        raise BadInput("a customer needs a name (it cannot be cleared)", option="name")
    # Imports match on these keys: no import may write them meanwhile (PostgreSQL).
    serialize(session, "import")
    found = _locked(session, find_customer(session, customer).id)
    changed = {
        k: {"old": getattr(found, k), "new": v}
        for k in EDITABLE
        if k in wanted and (v := wanted[k]) != getattr(found, k)
    }
    values: dict[str, Any] = {k: c["new"] for k, c in changed.items()}
    if referrer is not None:
        _edit_referrer(session, found, referrer, changed, values)
    if not changed:
        return EditResult(customer=get_view(session, found.id, now=now))
    if "name" in values:
        values["name_key"] = text_key(values["name"])
    if "phone" in values:
        values["phone_key"] = phone_key(values["phone"], region)
    if "email" in values:
        values["email_key"] = email_key(values["email"])
    _refuse_collisions(session, found.id, values)
    session.execute(
        update(Customer)
        .where(Customer.id == found.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    record_in_place(
        session,
        found,
        at=now,
        actor=actor,
        kind=EventKind.edited,
        reason="edited " + ", ".join(changed),
        detail={"fields": changed},
    )
    moved = None
    if found.owner_id is None and ({"city", "level"} & set(changed)):
        moved = _reroute(session, found, now=now, actor=actor, why=[*changed])
    return EditResult(
        customer=get_view(session, found.id, now=now), changed=changed, pool_moved=moved
    )


def _reroute(
    session: Session, found: Customer, *, now: datetime, actor: str, why: list[str]
) -> dict[str, str] | None:
    """Put a pool customer whose routed fields changed where the pools' rules send it now,
    with a `pool_moved` event; None when that is where it waits already."""
    pools = load_pools(session)
    target = session.execute(
        select(route_case(pools)).where(Customer.id == found.id)
    ).scalar_one_or_none()
    if target == found.pool_id:
        return None
    by_id = {p.id: p.name for p in pools}
    detail = {
        "from": by_id.get(found.pool_id, DEFAULT_POOL),  # type: ignore[arg-type]
        "to": by_id.get(target, DEFAULT_POOL),
    }
    session.execute(
        update(Customer)
        .where(Customer.id == found.id, Customer.owner_id.is_(None))
        .values(pool_id=target)
        .execution_options(synchronize_session=False)
    )
    fields = ", ".join(k for k in why if k in ("city", "level"))
    record_pool_move(
        session,
        found,
        at=now,
        actor=actor,
        reason=f"re-routed: {fields} edited",
        moved=(detail["from"], detail["to"]),
        pool=by_id.get(target) if target is not None else None,
    )
    return detail


def _edit_referrer(
    session: Session,
    found: Customer,
    text: str,
    changed: dict[str, dict[str, Any]],
    values: dict[str, Any],
) -> None:
    """Set (or with "" clear) who referred `found`, into `changed` and `values`."""
    new = None
    if text.strip():
        try:
            new = find_customer(session, text)
        except SalespoolError as exc:
            exc.option = exc.option or "referred_by"
            raise
        if new.id == found.id:
            raise BadInput(f"{shown(found)} cannot refer itself", option="referred_by")
        chain = referrers_of(session, new.id)
        if found.id in chain:
            loop = [found, new, *(session.get(Customer, i) for i in chain[: chain.index(found.id)])]
            raise BadInput(
                "a referral cycle: " + " referred by ".join(shown(c) for c in [*loop, found]),  # type: ignore[arg-type]
                option="referred_by",
            )
    new_id = new.id if new is not None else None
    if new_id == found.referred_by_id:
        return
    old = session.get(Customer, found.referred_by_id) if found.referred_by_id else None
    changed["referred_by"] = {
        "old": shown(old) if old is not None else None,
        "new": shown(new) if new is not None else None,
    }
    values["referred_by_id"] = new_id


def merge_customers(
    session: Session,
    *,
    now: datetime,
    actor: str,
    keep: str,
    drop: str,
    owner: str | None = None,
    region: str = "CN",
) -> MergeResult:
    """Merge DROP into KEEP: one customer stays, with all of both customers' history.

    Follow-ups, deals, events and aliases of DROP move to KEEP (one UPDATE each);
    DROP's row is deleted and its id becomes an alias of KEEP; one `merged` event
    on KEEP records DROP and every value KEEP took. KEEP's details win; the ones
    KEEP lacks are filled from DROP. Owner, owned_since, stage and lock come from
    the customer whose owner stays (KEEP's when both had the same owner or both
    were in the pool). Two different owners are refused unless `owner` names one
    of them.
    """
    keep_id = find_customer(session, keep).id
    drop_found = find_customer(session, drop)
    drop_id = drop_found.id
    if keep_id == drop_id:
        raise BadInput(f"KEEP and DROP are the same customer, {shown(drop_found)}")
    serialize(session, "import")
    # Row locks in id order, so two merges of the same pair cannot deadlock.
    first, second = sorted((keep_id, drop_id))
    locked = {first: _locked(session, first), second: _locked(session, second)}
    return _merge(session, now, actor, locked[keep_id], locked[drop_id], owner, region)


def _merge(
    session: Session,
    now: datetime,
    actor: str,
    keep: Customer,
    drop: Customer,
    owner: str | None,
    region: str,
) -> MergeResult:
    """Merge the locked row DROP into the locked row KEEP (see `merge_customers`)."""
    new_owner = _merged_owner(session, keep, drop, owner)

    values = _merged_values(keep, drop, new_owner)
    values["name_key"] = text_key(values["name"])
    values["phone_key"] = phone_key(values["phone"], region)
    values["email_key"] = email_key(values["email"])
    taken = {
        k: {"old": _json_value(getattr(keep, k)), "new": _json_value(v)}
        for k, v in values.items()
        if k not in ("name_key", "phone_key", "email_key", "owner_id")
        and _comparable(v) != _comparable(getattr(keep, k))
    }

    moved = {}
    for name, table in (("follow_ups", FollowUp), ("deals", Deal), ("events", Event)):
        moved[name] = session.execute(
            update(table)
            .where(table.customer_id == drop.id)
            .values(customer_id=keep.id)
            .execution_options(synchronize_session=False)
        ).rowcount
    moved["aliases"] = session.execute(
        update(CustomerAlias)
        .where(CustomerAlias.customer_id == drop.id)
        .values(customer_id=keep.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    # Customers DROP referred were referred by the company KEEP is; KEEP refers not to itself.
    session.execute(
        update(Customer)
        .where(Customer.referred_by_id == drop.id, Customer.id != keep.id)
        .values(referred_by_id=keep.id)
        .execution_options(synchronize_session=False)
    )
    if keep.referred_by_id in (None, drop.id):  # KEEP's referrer wins; DROP's fills none
        values["referred_by_id"] = (
            drop.referred_by_id if drop.referred_by_id not in (drop.id, keep.id) else None
        )
    # DROP goes before KEEP takes its external_id (a unique column).
    session.execute(
        delete(Customer).where(Customer.id == drop.id).execution_options(synchronize_session=False)
    )
    session.execute(
        update(Customer)
        .where(Customer.id == keep.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    # SQLite may give a deleted id to the next new customer (no AUTOINCREMENT): an
    # alias whose id a live customer has now is stale, and goes; so does one for DROP's
    # id left from an older reuse, before DROP's own is written.
    session.execute(
        delete(CustomerAlias)
        .where(
            select(Customer.id).where(Customer.id == CustomerAlias.id).exists()
            | (CustomerAlias.id == drop.id)
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        insert(CustomerAlias).values(id=drop.id, customer_id=keep.id, merged_at=to_db(now))
    )
    dropped = {"id": drop.id, "name": drop.name, "external_id": drop.external_id}
    record_event(
        session,
        customer_id=keep.id,
        at=now,
        kind=EventKind.merged,
        actor=actor,
        from_rep_id=keep.owner_id,
        to_rep_id=new_owner,
        from_stage=keep.stage,
        to_stage=values["stage"],
        reason=f"merged {shown(drop)}" + (f" ({drop.external_id})" if drop.external_id else ""),
        detail={"dropped": dropped, "fields": taken, "moved": moved},
    )
    return MergeResult(
        customer=get_view(session, keep.id, now=now), dropped=dropped, taken=taken, moved=moved
    )


def _merged_owner(
    session: Session, keep: Customer, drop: Customer, owner: str | None
) -> int | None:
    """Who owns the merged customer: the one owner there is, or `owner` when they differ."""
    owners = {o for o in (keep.owner_id, drop.owner_id) if o is not None}
    rows = session.execute(select(Rep.id, Rep.name).where(Rep.id.in_(owners))).all()
    names = {rep_id: name for rep_id, name in rows}
    if owner is not None:
        rep = find_rep(session, owner, active=False)
        if rep.id not in owners:
            held = " and ".join(
                f"{shown(c)} is " + (f"{names[c.owner_id]}'s" if c.owner_id else "in the pool")
                for c in (keep, drop)
            )
            raise Refused(f"{rep.name} owns neither customer ({held})", option="owner")
        return rep.id
    if len(owners) == 2:
        raise OwnersDiffer(
            f"{shown(keep)} is {names[keep.owner_id]}'s and {shown(drop)} is "
            f"{names[drop.owner_id]}'s",
            (names[keep.owner_id], names[drop.owner_id]),
        )
    return next(iter(owners), None)


def _merged_values(keep: Customer, drop: Customer, new_owner: int | None) -> dict[str, Any]:
    """KEEP's columns after the merge (times as stored, aware UTC)."""
    values: dict[str, Any] = {"name": keep.name}
    for k in FILLABLE:
        values[k] = getattr(keep, k) if getattr(keep, k) is not None else getattr(drop, k)
    values["created_at"] = _earliest(keep.created_at, drop.created_at)
    values["last_contact_at"] = _latest(keep.last_contact_at, drop.last_contact_at)
    values["owner_id"] = new_owner
    if keep.owner_id == drop.owner_id:
        # One owner (or the pool) had both: they have had the customer since the
        # earlier, and a lock either set during that ownership still holds.
        values["owned_since"] = _earliest(keep.owned_since, drop.owned_since)
        values["pooled_at"] = _earliest(keep.pooled_at, drop.pooled_at)
        values["stage"] = keep.stage
        lock_from = keep if keep.locked_at is not None else drop
    else:
        # The side whose owner stays brings what belongs to that ownership.
        side = keep if new_owner == keep.owner_id else drop
        values["owned_since"] = from_db(side.owned_since)
        values["pooled_at"] = from_db(side.pooled_at)
        values["stage"] = side.stage
        lock_from = side
    for k in LOCK_COLUMNS:
        value = getattr(lock_from, k)
        values[k] = from_db(value) if isinstance(value, datetime) else value
    return values


def _refuse_collisions(session: Session, customer_id: int, values: dict[str, Any]) -> None:
    """Refuse an external_id, phone or e-mail key that another customer already has."""
    for column, typed in IDENTIFYING:
        key = values.get(column)
        if key is None:
            continue
        other = (
            session.execute(
                select(Customer)
                .where(getattr(Customer, column) == key, Customer.id != customer_id)
                .order_by(Customer.id)
                .limit(1)
            )
            .scalars()
            .first()
        )
        if other is not None:
            same = f" ({key})" if key != values.get(typed) else ""
            hint = "" if column == "external_id" else " (one company? `customer merge` them)"
            raise Refused(
                f"{values[typed]!r}{same} is already {shown(other)}'s{hint}", option=typed
            )


def _locked(session: Session, customer_id: int) -> Customer:
    """The customer's row, locked for this transaction on PostgreSQL, read afresh."""
    return session.execute(
        select(Customer)
        .where(Customer.id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _clean(value: str) -> str | None:
    """A typed value as stored: trimmed, and empty means none (as imports store it)."""
    value = value.strip()
    return value or None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    both = [from_db(x) for x in (a, b) if x is not None]
    return min(both) if both else None


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    both = [from_db(x) for x in (a, b) if x is not None]
    return max(both) if both else None


def _comparable(value: Any) -> Any:
    return from_db(value) if isinstance(value, datetime) else value


def _json_value(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value

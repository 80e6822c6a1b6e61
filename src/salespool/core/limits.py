"""Claim limits: capacity, the daily claim limit, cooldown, and who may receive at all.

The rules come in as a `ClaimRules` value (salespool/rules.py) that config
builds (core never reads files). The checks run inside the caller's write
transaction, after `lock_reps`: on SQLite the transaction began IMMEDIATE so
writers are already serialized; on PostgreSQL the rep rows are locked
(SELECT ... FOR UPDATE), so two transactions handing customers to the same
rep count that rep's book one after the other, never both before either
writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlmodel import Session

from salespool.clock import Clock, from_db, idle_days, shown, to_db
from salespool.errors import Inactive, Refused
from salespool.models import Customer, Event, EventKind, Rep
from salespool.rules import ClaimRules
from salespool.storage import team

# Ways a customer leaves a rep that start the cooldown (a rep who left gets nothing anyway).
COOLDOWN_KINDS = (EventKind.recycled.value, EventKind.released.value)


NO_LIMITS = ClaimRules()


def ensure_can_receive(rep: Rep) -> None:
    """Refuse a rep who has left or is marked inactive."""
    if rep.left_at is not None:
        raise Refused(f"rep '{rep.name}' left on {from_db(rep.left_at):%Y-%m-%d}")
    if not rep.active:
        raise Inactive(rep.name)


def lock_reps(session: Session, *, rep_ids: Iterable[int]) -> None:
    """Lock the reps' rows until the transaction ends (PostgreSQL; a no-op on SQLite).

    Rows are locked in id order so two transactions locking overlapping sets
    cannot deadlock.
    """
    ids = sorted(set(rep_ids))
    if team.masked(session):  # a team's rep may not lock rep rows; the limits trigger does
        return
    if ids:
        session.execute(select(Rep.id).where(Rep.id.in_(ids)).order_by(Rep.id).with_for_update())


def owned_counts(
    session: Session, *, rep_ids: Iterable[int], stages: Iterable[str] | None = None
) -> dict[int, int]:
    """How many customers each rep owns right now (0 for reps owning none); with `stages`
    (`claims.capacity_counts`), only the customers in those stages."""
    ids = list(set(rep_ids))
    counts = dict.fromkeys(ids, 0)
    if ids:
        query = (
            select(Customer.owner_id, func.count())
            .where(Customer.owner_id.in_(ids))
            .group_by(Customer.owner_id)
        )
        if stages is not None:
            query = query.where(Customer.stage.in_(list(stages)))
        rows = session.execute(query)
        counts.update({owner: n for owner, n in rows})
    return counts


def check_capacity(session: Session, *, rules: ClaimRules, rep: Rep, wanted: int = 1) -> None:
    """Refuse if `rep` cannot own `wanted` more customers."""
    cap = rules.capacity_of(rep)
    if cap is None:
        return
    owned = owned_counts(session, rep_ids=[rep.id], stages=rules.capacity_stages)[rep.id]
    if owned + wanted > cap:
        raise Refused(
            f"capacity: {rep.name} owns {owned} of {rules.capacity_text(rep)} "
            f"and cannot take {wanted} more"
        )


def check_daily_limit(
    session: Session, *, now: datetime, rules: ClaimRules, rep: Rep, pool: str | None = None
) -> None:
    """Refuse a claim past the rep's daily limit (their own claims since local midnight).

    With `pool` (a pool with a daily limit of its own), only claims from that pool count.
    """
    if not rules.daily_limit:
        return
    since = Clock(now, rules.tz).today_start()
    query = (
        select(func.count())
        .select_from(Event)
        .where(
            Event.kind == EventKind.claimed.value,
            Event.to_rep_id == rep.id,
            Event.at >= to_db(since),
        )
    )
    if pool is not None:
        query = query.where(Event.pool == pool)
    claimed = session.execute(query).scalar_one()
    if claimed >= rules.daily_limit:
        where = f" from pool {pool}" if pool is not None else ""
        raise Refused(
            f"daily limit: {rep.name} claimed {claimed} of {rules.daily_limit}{where} today"
        )


def check_pool_wait(
    session: Session, *, now: datetime, rules: ClaimRules, customer: Customer
) -> None:
    """Refuse a claim of a customer recycled or released less than `pool_wait_hours` ago."""
    if not rules.pool_wait_hours:
        return
    window = timedelta(hours=rules.pool_wait_hours)
    left = session.execute(
        select(Event.kind, Event.at)
        .where(
            Event.customer_id == customer.id,
            Event.kind.in_(COOLDOWN_KINDS),
            Event.at > to_db(now - window),
        )
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(1)
    ).first()
    if left is None:
        return
    kind, at = left
    until = from_db(at) + window
    raise Refused(
        f"pool wait: '{customer.name}' was {kind} at {shown(at, rules.tz)}; "
        f"nobody may claim it until {shown(until, rules.tz)} (claims.pool_wait_hours)"
    )


def check_max_locked(session: Session, *, now: datetime, limit: int, customer: Customer) -> None:
    """Refuse locking one more customer of a rep who holds `limit` locked already (a lock
    set during the current ownership that still protects; relocking one is fine; 0 = none)."""
    if not limit or customer.owner_id is None:
        return
    held = session.execute(
        select(func.count())
        .select_from(Customer)
        .where(
            Customer.owner_id == customer.owner_id,
            Customer.id != customer.id,
            Customer.locked_at.is_not(None),
            Customer.locked_at >= Customer.owned_since,
            or_(Customer.locked_until.is_(None), Customer.locked_until > to_db(now)),
        )
    ).scalar_one()
    if held >= limit:
        owner = session.get(Rep, customer.owner_id)
        raise Refused(
            f"max locked: {owner.name} holds {held} of {limit} customers locked "
            "(claims.max_locked); unlock one first"
        )


@dataclass(frozen=True)
class Cooldown:
    """A customer that left a rep recently: the rep may not take it back until `until`."""

    customer_id: int
    customer_name: str
    rep_id: int
    rep_name: str
    kind: str
    at: datetime
    until: datetime

    def message(self, now: datetime, tz: str) -> str:
        days = idle_days(self.at, now)
        ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
        after = self.until.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")
        return (
            f"cooldown: '{self.customer_name}' was {self.kind} from {self.rep_name} {ago}; "
            f"{self.rep_name} may take it back after {after}"
        )


def cooldowns(
    session: Session,
    *,
    now: datetime,
    rules: ClaimRules,
    rep_ids: Iterable[int],
    customer_ids: Iterable[int] | None = None,
    pool_days: Mapping[int, int] | None = None,
) -> dict[tuple[int, int], Cooldown]:
    """The (customer id, rep id) pairs in cooldown, from the event trail.

    Without `customer_ids`, every pool customer is considered. `pool_days` gives the
    named pools' own cooldown_days by pool id: a customer waiting in one of them cools
    down that long instead of `rules.cooldown_days` (`assign`, which hands out from
    every pool at once).
    """
    ids = list(set(rep_ids))
    own = dict(pool_days or {})
    longest = max([rules.cooldown_days or 0, *own.values()])
    if not longest or not ids:
        return {}
    query = (
        select(
            Event.customer_id,
            Customer.name,
            Event.from_rep_id,
            Rep.name,
            Event.kind,
            Event.at,
            Customer.pool_id,
        )
        .join(Customer, Customer.id == Event.customer_id)
        .join(Rep, Rep.id == Event.from_rep_id)
        .where(
            Event.kind.in_(COOLDOWN_KINDS),
            Event.from_rep_id.in_(ids),
            Event.at > to_db(now - timedelta(days=longest)),
        )
        .order_by(Event.at, Event.id)
    )
    if customer_ids is None:
        query = query.where(Customer.owner_id.is_(None))
    else:
        query = query.where(Event.customer_id.in_(list(set(customer_ids))))
    found: dict[tuple[int, int], Cooldown] = {}
    for cid, cname, rep_id, rep_name, kind, at, pool_id in session.execute(query):
        at = from_db(at)
        window = timedelta(days=own.get(pool_id, rules.cooldown_days or 0))
        if at + window <= now:
            continue  # within the longest window, not within its own pool's
        # Ordered by time, so the latest departure wins.
        found[(cid, rep_id)] = Cooldown(cid, cname, rep_id, rep_name, kind, at, at + window)
    return found


def check_cooldown(
    session: Session, *, now: datetime, rules: ClaimRules, rep: Rep, customer_id: int
) -> None:
    """Refuse giving `rep` a customer recycled or released from them within the cooldown."""
    found = cooldowns(session, now=now, rules=rules, rep_ids=[rep.id], customer_ids=[customer_id])
    hit = found.get((customer_id, rep.id))
    if hit is not None:
        raise Refused(hit.message(now, rules.tz))

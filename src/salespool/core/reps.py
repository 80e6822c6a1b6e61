"""Reps: adding them, listing them with their books, renaming one, and a rep leaving."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.schema import CreateTable
from sqlmodel import Session

from salespool.clock import from_db, to_db
from salespool.core.team import revoke_rep_login
from salespool.core.timeline import refuse_out_of_order
from salespool.core.trail import bulk_to_pool
from salespool.errors import BadInput, Clash, NotFound, Refused
from salespool.models import Customer, EventKind, Rep, RepEvent, RepEventKind, Role
from salespool.rules import ClaimRules
from salespool.storage.team import MAX_ROLE_BYTES as MAX_LOGIN_BYTES  # a login is a role


@dataclass
class RepView:
    name: str
    role: str
    coach: str | None
    capacity: int | None
    customers: int
    hired_at: datetime | None
    left_at: datetime | None
    active: bool = True  # False for a rep who is inactive or has left
    status: str = "active"  # active, inactive or left
    # The capacity that applies: `capacity`, else the role's default (`capacity` stays None
    # then). Set by `list_reps` when given the claim rules; None otherwise.
    effective_capacity: int | None = None
    # The database login acting as this rep on a team store (`rep set NAME --login`).
    login: str | None = None


def rep_status(active: bool, left_at: datetime | None) -> str:
    """`left` once the rep has left, else `active` or `inactive` (paused)."""
    if left_at is not None:
        return "left"
    return "active" if active else "inactive"


@dataclass
class LeaveResult:
    rep: str
    released: int
    login_revoked: bool = False  # a team store: their login lost its team role


class NothingToSet(BadInput):
    """`set_rep` was given nothing to change (the CLI lists its flags instead)."""


def find_rep(session: Session, name: str, *, active: bool = True) -> Rep:
    """The rep called `name`; with `active`, refuse a rep who has left."""
    rep = session.execute(select(Rep).where(Rep.name == name.strip())).scalar_one_or_none()
    if rep is None:
        raise NotFound(f"no rep named '{name}' (see `salespool rep list`)")
    if active and rep.left_at is not None:
        raise Refused(f"rep '{rep.name}' left on {rep.left_at:%Y-%m-%d}")
    return rep


def add_rep(
    session: Session,
    *,
    now: datetime,
    name: str,
    role: Role = Role.rep,
    coach: str | None = None,
    capacity: int | None = None,
    hired_at: datetime | None = None,
    login: str | None = None,
) -> RepView:
    """Add a rep; names are unique. `login` (default: the name lower-cased, when no other
    rep has it) is the database login acting as them on a team store."""
    name = name.strip()
    if not name:
        raise BadInput("a rep needs a name")
    if login is not None:
        login = _free_login(session, login)
    if capacity is not None and capacity < 0:
        raise BadInput(f"{capacity} must be 0 or more", option="capacity")
    exists = session.execute(select(Rep.id).where(Rep.name == name)).first()
    if exists:
        raise Refused(f"rep '{name}' already exists")
    coach_id = None
    if coach:
        if coach.strip() == name:
            raise BadInput(f"'{name}' cannot coach themselves", option="coach")
        coach_id = find_rep(session, coach).id
    insert_reps(
        session,
        [
            {
                "name": name,
                "role": Role(role).value,
                "coach_id": coach_id,
                "capacity": capacity,
                "hired_at": to_db(hired_at or now),
                "login": login,
            }
        ],
    )
    return next(r for r in list_reps(session, include_left=True) if r.name == name)


def _free_login(session: Session, login: str, *, rep_id: int | None = None) -> str:
    """`login` checked: a possible PostgreSQL role name that no other rep has."""
    login = login.strip()
    if not login or len(login.encode()) > MAX_LOGIN_BYTES or any(ch.isspace() for ch in login):
        raise BadInput(
            f"'{login}' cannot be a login (1 to {MAX_LOGIN_BYTES} bytes, no spaces)",
            option="login",
        )
    holder = session.execute(select(Rep.id, Rep.name).where(Rep.login == login)).first()
    if holder is not None and holder.id != rep_id:
        raise Refused(f"the login '{login}' is {holder.name}'s already", option="login")
    return login


def insert_reps(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert reps (one dict of Rep columns each), then give the new ones without a login
    their default: the name lower-cased (fill_default_logins)."""
    session.execute(insert(Rep), rows)
    fill_default_logins(session)


def fill_default_logins(session: Session) -> None:
    """Give every rep without a login their name lower-cased, where that is no other rep's
    login and no other rep's name lower-cases alike (one set-based UPDATE)."""
    session.execute(
        text(
            "UPDATE rep SET login = lower(name) WHERE login IS NULL AND lower(name) IN "
            "(SELECT lower(name) FROM rep GROUP BY lower(name) HAVING count(*) = 1) "
            "AND lower(name) NOT IN (SELECT login FROM rep WHERE login IS NOT NULL)"
        )
    )


def list_reps(
    session: Session, *, include_left: bool = False, claims: ClaimRules | None = None
) -> list[RepView]:
    """All reps with their coach and how many customers each owns (and, given the claim
    rules, the capacity that applies to each)."""
    coach = aliased(Rep)
    owned = (
        select(Customer.owner_id, func.count().label("n"))
        .where(Customer.owner_id.is_not(None))
        .group_by(Customer.owner_id)
        .subquery()
    )
    query = (
        select(Rep, coach.name, func.coalesce(owned.c.n, 0))
        .outerjoin(coach, coach.id == Rep.coach_id)
        .outerjoin(owned, owned.c.owner_id == Rep.id)
        .order_by(Rep.name)
    )
    if not include_left:
        query = query.where(Rep.left_at.is_(None))
    return [
        RepView(
            name=rep.name,
            role=rep.role,
            coach=coach_name,
            capacity=rep.capacity,
            customers=count,
            hired_at=from_db(rep.hired_at),
            left_at=from_db(rep.left_at),
            # A rep who left keeps active=True in the row (it is the pause switch),
            # but receives nothing and is not active in any sense a reader means.
            active=rep.active and rep.left_at is None,
            status=rep_status(rep.active, rep.left_at),
            effective_capacity=claims.capacity_of(rep) if claims is not None else None,
            login=rep.login,
        )
        for rep, coach_name, count in session.execute(query)
    ]


def set_rep(
    session: Session,
    *,
    name: str,
    coach: str | None = None,
    no_coach: bool = False,
    role: Role | None = None,
    capacity: int | None = None,
    role_capacity: bool = False,
    active: bool | None = None,
    login: str | None = None,
) -> RepView:
    """Change a rep's coach, role (a qualified rookie is promoted so), capacity, activity
    or database login (`login`, unique).

    `role_capacity` clears the rep's own capacity so the role's default applies.
    A rep marked inactive keeps their book but receives no customers. `coach` with
    `no_coach`, or `capacity` with `role_capacity`, is refused.
    """
    rep = find_rep(session, name)
    if coach is not None and no_coach:
        raise Clash("coach", "no_coach")
    if capacity is not None and role_capacity:
        raise Clash("capacity", "role_capacity")
    if capacity is not None and capacity < 0:
        raise BadInput(f"{capacity} must be 0 or more", option="capacity")
    values: dict[str, object] = {}
    if coach is not None:
        mentor = find_rep(session, coach)
        if mentor.id == rep.id:
            raise BadInput(f"'{rep.name}' cannot coach themselves", option="coach")
        _refuse_coaching_cycle(session, rep, mentor)
        values["coach_id"] = mentor.id
    if no_coach:
        values["coach_id"] = None
    if role is not None:
        values["role"] = Role(role).value
    if capacity is not None or role_capacity:
        values["capacity"] = capacity  # None with role_capacity: the role's default applies
    if active is not None:
        values["active"] = active
    if login is not None:
        values["login"] = _free_login(session, login, rep_id=rep.id)
    if not values:
        raise NothingToSet(
            "nothing to set: give coach, no_coach, role, capacity, role_capacity, active or login"
        )
    session.execute(update(Rep).where(Rep.id == rep.id).values(**values))
    return next(r for r in list_reps(session) if r.name == rep.name)


def rename_rep(session: Session, *, now: datetime, actor: str, old: str, new: str) -> RepView:
    """Give a rep another name (a rep who left too); a `renamed` rep event keeps the old one.

    Everything refers to reps by id, so their book, trail, deals and coaching follow.
    Refused when another rep already has the new name exactly as typed.
    """
    rep = find_rep(session, old, active=False)
    name = new.strip()
    if not name:
        raise BadInput("NEW: a rep needs a name")
    if name == rep.name:
        raise BadInput(f"'{rep.name}' is already the rep's name: nothing to change")
    if session.execute(select(Rep.id).where(Rep.name == name)).first():
        raise Refused(f"rep '{name}' already exists (names are unique)")
    was = rep.name  # the UPDATE below also renames the loaded `rep`
    session.execute(update(Rep).where(Rep.id == rep.id).values(name=name))
    session.execute(
        insert(RepEvent).values(
            rep_id=rep.id,
            at=to_db(now),
            kind=RepEventKind.renamed.value,
            detail=json.dumps({"name": {"old": was, "new": name}}, ensure_ascii=False),
            actor=actor,
        )
    )
    return next(r for r in list_reps(session, include_left=True) if r.name == name)


def _refuse_coaching_cycle(session: Session, rep: Rep, mentor: Rep) -> None:
    """Refuse making `mentor` coach `rep` when `rep` is already up `mentor`'s coaching chain."""
    seen: set[int] = set()
    current: Rep | None = mentor
    while current is not None and current.coach_id is not None and current.id not in seen:
        seen.add(current.id)
        if current.coach_id == rep.id:
            raise Refused(
                f"{rep.name} already coaches {mentor.name} (directly or through others)",
                option="coach",
            )
        current = session.get(Rep, current.coach_id)


# The book a leaving rep hands back, chosen once with its rows locked (PostgreSQL), as
# recycle chooses its batch: the events and the owner change both read this table, so
# a release committing meanwhile can neither be moved twice nor get a `rep_left` event.
LEAVE_BATCH = Table(
    "leave_batch",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, nullable=False),
    Column("stage", String, nullable=False),
    prefixes=["TEMPORARY"],
)


def rep_leave(
    session: Session, *, now: datetime, actor: str, name: str, tz: str = "UTC"
) -> LeaveResult:
    """The rep leaves: their whole book goes to the pool, with an event per customer.

    Refused if a customer of the book already has an event after `now` (its trail
    would run backwards): the whole book goes, or none of it.
    """
    rep = find_rep(session, name)
    conn = session.connection()
    LEAVE_BATCH.drop(conn, checkfirst=True)
    conn.execute(CreateTable(LEAVE_BATCH))
    try:
        # FOR UPDATE waits for a release in flight and then skips the row it pooled.
        book = (
            select(Customer.id, Customer.owner_id, Customer.stage)
            .where(Customer.owner_id == rep.id)
            .with_for_update(of=Customer)
        )
        session.execute(insert(LEAVE_BATCH).from_select(["id", "owner_id", "stage"], book))
        b = LEAVE_BATCH.c
        refuse_out_of_order(session, Customer.id.in_(select(b.id)), at=now, what="rep leave", tz=tz)
        # Counted, not read off rowcount: psycopg reports -1 for INSERT ... SELECT.
        count = session.execute(select(func.count()).select_from(LEAVE_BATCH)).scalar_one()
        chosen = select(b.id, b.owner_id, b.stage, literal("rep left"))
        released = bulk_to_pool(session, chosen, now=now, kind=EventKind.rep_left, actor=actor)
        if released != count:  # the rows are locked: nothing may slip in between
            raise RuntimeError(f"rep leave: {count} customers chosen but {released} moved")
    finally:
        LEAVE_BATCH.drop(conn, checkfirst=True)
    session.execute(update(Rep).where(Rep.id == rep.id).values(left_at=to_db(now)))
    # On a team store their login loses its role in the same transaction as the book.
    revoked = revoke_rep_login(session, rep)
    return LeaveResult(rep=rep.name, released=released, login_revoked=bool(revoked))

"""Warnings before recycling: who hears which customers today, by the escalation ladder.

`due` (core/recycle.py) dates every owned customer's recycling with the same rules
`recycle` applies; here each customer due within the first step's days is placed on
the ladder (`recycle.warn`, farthest first: the nearest step to recycling it has
reached), the step names who hears it (`recycle.escalate`: the owner, the owner's
coach, the managers), and the customers are grouped into one message per recipient
and step. Plain data only: posting them anywhere is the caller's business
(salespool/webhooks.py for chat robots).

A warning is remembered once sent (`remember`), as customer, step, recipient and the
recycle date it warned of: the same step is never sent twice for that date, so a
cron retried the same day, or the next day within the same step, sends nothing new.
A follow-up moves the date, and the ladder starts again for the new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.recycle import DueCustomer, due
from salespool.models import Notification, Rep, Role
from salespool.rules import RecycleRules, WarningRules

OWNER, COACH, MANAGER = "owner", "coach", "manager"
# A message lists this many customers in its text (the robots cap a message's size:
# WeCom's markdown at 4,096 bytes); `customers` lists them all.
TEXT_ROWS = 20


@dataclass
class WarnedCustomer:
    """One customer in a warning: when it goes back to the pool, and by which rule."""

    id: int
    name: str
    owner: str
    recycle_at: datetime  # the moment the rules make it recyclable (due's due_at)
    recycle_date: str  # that moment's date in the team's zone
    days_left: int
    reason: str


@dataclass
class Message:
    """One warning to one person: the customers of one step they hear about."""

    recipient: str
    role: str  # why they hear it: owner, coach or manager (the owner when no one else)
    step: int  # 1-based position on the ladder
    steps: int  # how many steps the ladder has
    days_left: int  # the step's days before recycling
    date: str  # the day it is sent, in the team's zone
    customers: list[WarnedCustomer]
    title: str
    text: str  # the customers, one line each (the first TEXT_ROWS), for people
    sent: bool = False


@dataclass
class NotifyResult:
    dry_run: bool
    date: str
    warn: list[int]
    messages: list[Message] = field(default_factory=list)
    already_sent: int = 0  # warnings (customer, step, recipient) left out: sent before


@dataclass(frozen=True)
class _Person:
    id: int
    name: str
    role: str
    coach_id: int | None
    reachable: bool  # active and not gone: someone a warning can reach


def warnings(
    session: Session,
    *,
    now: datetime,
    tz: str,
    rules: RecycleRules,
    ladder: WarningRules,
    dry_run: bool = False,
) -> NotifyResult:
    """The warnings to send today, one message per recipient and step, leaving out
    those sent before; nothing is remembered here (see `remember`)."""
    today = now.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")
    result = NotifyResult(dry_run=dry_run, date=today, warn=list(ladder.warn))
    if not ladder.on:
        return result
    # A step of N days takes the customers due shows N whole days or fewer away (days_left):
    # those due before now + N + 1 days.
    candidates = [
        (d, d.warn_step)
        for d in due(session, now=now, tz=tz, within=ladder.warn[0] + 1, rules=rules, ladder=ladder)
        if d.warn_step is not None
    ]
    if not candidates:
        return result
    people = _people(session)
    by_name = {p.name: p for p in people.values()}
    managers = sorted(
        (p for p in people.values() if p.role == Role.manager.value and p.reachable),
        key=lambda p: p.name,
    )
    earliest = min(d.due_date for d, _ in candidates)
    sent = set(
        session.execute(
            select(
                Notification.customer_id,
                Notification.step,
                Notification.due_date,
                Notification.recipient_id,
            ).where(Notification.due_date >= earliest)
        ).all()
    )
    groups: dict[tuple[int, str, str], list[DueCustomer]] = {}
    for d, step in candidates:
        owner = by_name[d.owner]
        for person, role in _hearers(ladder.audience(step), owner, people, managers):
            if (d.id, step, d.due_date, person.id) in sent:
                result.already_sent += 1
                continue
            groups.setdefault((step, role, person.name), []).append(d)
    for (step, role, recipient), rows in sorted(groups.items()):
        result.messages.append(_message(ladder, step, role, recipient, today, rows))
    return result


def _people(session: Session) -> dict[int, _Person]:
    rows = session.execute(
        select(Rep.id, Rep.name, Rep.role, Rep.coach_id, Rep.active, Rep.left_at)
    )
    return {
        rid: _Person(rid, name, role, coach_id, bool(active) and left_at is None)
        for rid, name, role, coach_id, active, left_at in rows
    }


def _hearers(
    audience: str, owner: _Person, people: dict[int, _Person], managers: list[_Person]
) -> list[tuple[_Person, str]]:
    """Who hears a step, and as what; the owner when the step's audience has no one."""
    if audience == COACH:
        coach = people.get(owner.coach_id) if owner.coach_id is not None else None
        if coach is not None and coach.reachable:
            return [(coach, COACH)]
    elif audience == MANAGER and managers:
        return [(m, MANAGER) for m in managers]
    return [(owner, OWNER)]


def _message(
    ladder: WarningRules, step: int, role: str, recipient: str, today: str, rows: list[DueCustomer]
) -> Message:
    days = ladder.warn[step - 1]
    customers = [
        WarnedCustomer(
            id=d.id,
            name=d.name,
            owner=d.owner,
            recycle_at=d.due_at,
            recycle_date=d.due_date,
            days_left=d.days_left,
            reason=d.reason,
        )
        for d in rows
    ]
    count = f"{len(customers)} customer" + ("" if len(customers) == 1 else "s")
    whose = "yours" if role == OWNER else "your rookies'" if role == COACH else "the team's"
    within = f"{days} day" + ("" if days == 1 else "s")
    title = (
        f"salespool: {count} ({whose}) go back to the pool within {within} "
        f"(warning {step} of {len(ladder.warn)}, to {recipient})"
    )
    lines = [
        f"- #{c.id} {c.name} ({c.owner}): recycled {c.recycle_date}, {c.reason}"
        for c in customers[:TEXT_ROWS]
    ]
    if len(customers) > TEXT_ROWS:
        lines.append(f"- ... and {len(customers) - TEXT_ROWS} more (salespool due)")
    return Message(
        recipient=recipient,
        role=role,
        step=step,
        steps=len(ladder.warn),
        days_left=days,
        date=today,
        customers=customers,
        title=title,
        text="\n".join(lines),
    )


def remember(session: Session, *, now: datetime, messages: list[Message]) -> int:
    """Record `messages` as sent (each customer, step, recipient and recycle date), so
    `warnings` leaves them out from now on; returns how many warnings were recorded."""
    if not messages:
        return 0
    names = {m.recipient for m in messages}
    ids = dict(session.execute(select(Rep.name, Rep.id).where(Rep.name.in_(names))).all())
    rows = [
        {
            "customer_id": c.id,
            "step": m.step,
            "due_date": c.recycle_date,
            "recipient_id": ids[m.recipient],
            "sent_at": to_db(now),
        }
        for m in messages
        for c in m.customers
    ]
    session.execute(insert(Notification), rows)
    return len(rows)

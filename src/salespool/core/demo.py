"""The demo: a team's book moved into salespool, then a month of the remedy, replayed.

In time order: on MOVED_AT the team loads its book (reps, customers, and their
follow-ups and deals from before, back-dated) and the first nightly recycling
takes the customers idle 30 days or more back into the pool; then story.csv,
the month after the move (the pool handed to the rookies, their claims, calls,
offers and deals, the veterans' own work), is replayed action by action, each
at its own moment; on DEMO_NOW the morning's warnings go out (the escalation
ladder, DEMO_WARN), the morning's recycling runs again, and the report and the
coaching report are read as of then.

Before the first recycling the team sets up two pools (DEMO_POOLS): 华北 for the
rookies, taking the customers from Beijing and Tianjin, and the default pool for
the rest; every recycling routes what it takes, and the demo counts where it went.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import Session

from salespool.clock import parse_absolute
from salespool.core import activity, handover, importer, notify, pools, recycle, reps
from salespool.core.coach import CoachingReport, coaching
from salespool.core.hunting import share
from salespool.core.overview import ReportPage, report_page, rules_in_force
from salespool.core.report import Report, stage_report
from salespool.core.routing import DEFAULT_POOL
from salespool.core.staging import ImportJob
from salespool.errors import SalespoolError
from salespool.models import Channel, Customer, FollowUpKind, Pool, Role, parse_stage
from salespool.money import parse_amount
from salespool.rules import (
    CoachTargets,
    HuntingRules,
    RecycleRules,
    WarningRules,
)
from salespool.storage.lookup import TIMEZONE_KEY
from salespool.storage.store import set_meta

if TYPE_CHECKING:
    from salespool.config import Config

MOVED_AT = "2026-11-29T09:00:00+08:00"  # the book comes into salespool
DEMO_NOW = "2026-12-31T09:00:00+08:00"  # a month later: the demo's "now"
DEMO_TZ = "Asia/Shanghai"
RECYCLE_DAYS = 30  # the demo's rules: the defaults with `recycle --days 30`
# The pools the team sets up before the first recycling, in routing order (name, rule,
# members), as `pool add NAME --rule RULE --members ...` would; the data writes Beijing
# both ways, so the rule names both.
DEMO_POOLS = (("华北", "city in (北京, Beijing, 天津)", ("rookie",)),)
# The escalation ladder of the morning's warnings: `recycle.warn = [7, 3, 1]` with the
# default `recycle.escalate` (the owner, then the owner's coach, then the managers).
DEMO_WARN = WarningRules(warn=(7, 3, 1))


@dataclass
class Month:
    """What the team did from the move to the demo's morning (story.csv), and that
    morning's recycling."""

    since: datetime
    until: datetime
    claimed: int
    follow_ups: int
    deals: int
    recycled: recycle.RecycleResult
    recycled_by_owner: dict[str, int]
    recycled_by_pool: dict[str, int]  # where this morning's recycling routed them


@dataclass
class DemoPool:
    """A pool of the demo, what each recycling routed to it, and its size at the end."""

    name: str
    rule: str | None
    members: list[str]
    recycled_at_move: int
    recycled_now: int
    size: int


@dataclass
class NotifyRun:
    """The morning's warnings before the recycling: computed and remembered, as
    `salespool notify` without `--webhook` does (nothing is posted anywhere)."""

    at: datetime
    warn: list[int]
    escalate: list[str]
    messages: list[notify.Message]
    customers: int  # distinct customers warned
    remembered: int  # warnings (customer, step, recipient) recorded as sent


@dataclass
class OrderFollower:
    """A rep the report flags as an order-follower (跟单), and what the rule took back."""

    rep: str
    hunting: int  # follow-ups over the rule's periods
    farming: int
    hunting_share: float | None
    recycled_at_move: int
    recycled_now: int


@dataclass
class DemoResult:
    reps: int
    imported: importer.ImportResult
    follow_ups: int  # the book's own, replayed at the move
    deals: int
    recycled: recycle.RecycleResult  # the first recycling, at the move
    recycled_by_pool: dict[str, int]  # where the first recycling routed them
    assigned: handover.AssignResult  # the pool handed to the rookies after it
    report: Report
    moved_at: datetime
    as_of: datetime
    timezone: str
    month: Month
    order_followers: list[OrderFollower]
    coaching: CoachingReport
    pools: list[DemoPool]
    notified: NotifyRun


def examples_dir() -> Path:
    """The bundled example data: inside the installed package, else the source checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "examples", here.parent.parent / "examples"):
        if (candidate / "customers.csv").exists():
            return candidate
    raise SalespoolError("the example data is missing from this installation")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def run_demo(session: Session, *, actor: str, data: Path | None = None) -> DemoResult:
    """Move the example team's book in, live its month of remedy, recycle, report."""
    data = data or examples_dir()
    moved = parse_absolute(MOVED_AT, DEMO_TZ)
    now = parse_absolute(DEMO_NOW, DEMO_TZ)
    # A kept store reads its moments in the demo's zone, not the machine's.
    set_meta(session, TIMEZONE_KEY, DEMO_TZ)
    team = _load_team(session, data, moved)
    for name, rule, members in DEMO_POOLS:
        pools.add_pool(session, now=moved, name=name, rule=rule, members=list(members))
    job = ImportJob(file=data / "customers.csv", now=moved, tz=DEMO_TZ, actor=actor)
    imported = importer.import_customers(session, job=job)
    follow_ups = 0
    for row in _rows(data / "followups.csv"):
        _log(session, row, now=moved, actor=actor)
        follow_ups += 1
    deals = 0
    for row in _rows(data / "deals.csv"):
        _deal(session, row, now=moved, actor=actor)
        deals += 1
    rules = RecycleRules().only(RECYCLE_DAYS)
    first_run = recycle.recycle(session, now=moved, actor=actor, rules=rules)
    at_move_pools = _by_pool(session, first_run)

    handed = handover.AssignResult(dry_run=False, count=0, assigned=[])
    claimed = month_follow_ups = month_deals = 0
    for row in _rows(data / "story.csv"):
        at = parse_absolute(row["at"], DEMO_TZ)
        action = row["action"]
        if action == "assign":
            done = handover.assign(
                session, now=at, actor=actor, to=[row["rep"]], customers=[row["customer"]]
            )
            handed.count += done.count
            handed.assigned.extend(done.assigned)
        elif action == "claim":
            handover.claim(session, now=at, actor=actor, customer=row["customer"], rep=row["rep"])
            claimed += 1
        elif action == "log":
            _log(session, row, now=at, actor=actor)
            month_follow_ups += 1
        elif action == "deal":
            _deal(session, row, now=at, actor=actor)
            month_deals += 1
        else:
            raise SalespoolError(f"story.csv: unknown action {action!r}")
    notified = _notify(session, now=now, rules=rules)
    morning = recycle.recycle(session, now=now, actor=actor, rules=rules)
    now_pools = _by_pool(session, morning)

    report = stage_report(session, as_of=now, since=moved, tz=DEMO_TZ, hunting=HuntingRules())
    at_move = Counter(r.previous_owner for r in first_run.recycled)
    this_morning = Counter(r.previous_owner for r in morning.recycled)
    return DemoResult(
        reps=team,
        imported=imported,
        follow_ups=follow_ups,
        deals=deals,
        recycled=first_run,
        recycled_by_pool=at_move_pools,
        assigned=handed,
        report=report,
        moved_at=moved,
        as_of=now,
        timezone=DEMO_TZ,
        month=Month(
            since=moved,
            until=now,
            claimed=claimed,
            follow_ups=month_follow_ups,
            deals=month_deals,
            recycled=morning,
            recycled_by_owner=dict(sorted(this_morning.items())),
            recycled_by_pool=now_pools,
        ),
        order_followers=_order_followers(report, at_move, this_morning),
        coaching=coaching(session, as_of=now, targets=CoachTargets()),
        pools=[
            DemoPool(
                name=p.name,
                rule=p.rule,
                members=p.members,
                recycled_at_move=at_move_pools[p.name],
                recycled_now=now_pools[p.name],
                size=p.size,
            )
            for p in pools.list_pools(session)
        ],
        notified=notified,
    )


def _default_config() -> Config:
    """The rules at their defaults: no store's, no file's."""
    from salespool.config import Config, default_settings

    return Config(path=None, settings=default_settings())


def demo_rules(config: Config) -> dict[str, object]:
    """The rules the demo runs by, as `config show` would name them: `config`'s (the
    defaults), with its recycling days and its warning ladder."""
    settings: dict[str, object] = {s.key: s.value for s in config.rows()}
    settings["recycle.days"] = RECYCLE_DAYS
    settings["recycle.warn"] = list(DEMO_WARN.warn)
    return rules_in_force(settings)


def demo_page(session: Session, result: DemoResult) -> ReportPage:
    """The demo team's page (`report --html`), read as of the demo's morning over its month,
    with the default rules the demo runs by."""
    defaults = _default_config()
    return report_page(
        session,
        as_of=result.as_of,
        since=result.moved_at,
        tz=DEMO_TZ,
        hunting=HuntingRules(),
        targets=CoachTargets(),
        commission_rules=defaults.commission_rules(),
        rules=demo_rules(defaults),
    )


def _by_pool(session: Session, run: recycle.RecycleResult) -> dict[str, int]:
    """How many of a recycling's customers each pool holds (every pool, the default first):
    read right after the run, before anyone claims them."""
    counts = dict(
        session.execute(
            select(Pool.name, func.count(Customer.id))
            .select_from(Customer)
            .outerjoin(Pool, Pool.id == Customer.pool_id)
            .where(Customer.id.in_([r.id for r in run.recycled]))
            .group_by(Pool.name)
        ).all()
    )
    return {
        p.name: counts.get(None if p.name == DEFAULT_POOL else p.name, 0)
        for p in pools.list_pools(session)
    }


def _notify(session: Session, *, now: datetime, rules: RecycleRules) -> NotifyRun:
    """The morning's warnings by DEMO_WARN, remembered as sent (no webhook)."""
    found = notify.warnings(session, now=now, tz=DEMO_TZ, rules=rules, ladder=DEMO_WARN)
    for message in found.messages:
        message.sent = True  # as `notify` marks what it wrote, with no webhook to post to
    remembered = notify.remember(session, now=now, messages=found.messages)
    return NotifyRun(
        at=now,
        warn=list(DEMO_WARN.warn),
        escalate=list(DEMO_WARN.escalate),
        messages=found.messages,
        customers=len({c.id for m in found.messages for c in m.customers}),
        remembered=remembered,
    )


def _order_followers(
    report: Report, at_move: Counter[str], this_morning: Counter[str]
) -> list[OrderFollower]:
    """The flagged reps, with their shares over the rule's periods and what was recycled."""
    flagged = []
    for r in report.reps:
        if not r.order_follower:
            continue
        hunting = sum(p.hunting for p in r.hunting_history)
        farming = sum(p.farming for p in r.hunting_history)
        flagged.append(
            OrderFollower(
                rep=r.rep,
                hunting=hunting,
                farming=farming,
                hunting_share=share(hunting, farming),
                recycled_at_move=at_move[r.rep],
                recycled_now=this_morning[r.rep],
            )
        )
    return flagged


def _load_team(session: Session, data: Path, now: datetime) -> int:
    # Coaches before the rookies they coach.
    team = sorted(_rows(data / "reps.csv"), key=lambda r: bool(r.get("coach")))
    for row in team:
        reps.add_rep(
            session,
            now=now,
            name=row["name"],
            role=Role(row["role"]),
            coach=row.get("coach") or None,
            capacity=int(row["capacity"]) if row.get("capacity") else None,
            hired_at=parse_absolute(row["hired_at"], DEMO_TZ) if row.get("hired_at") else None,
        )
    return len(team)


def _log(session: Session, row: dict[str, str], *, now: datetime, actor: str) -> None:
    activity.log_followup(
        session,
        now=now,
        actor=actor,
        customer=row["customer"],
        rep=row["rep"],
        kind=FollowUpKind(row["kind"]),
        note=row.get("note") or None,
        at=parse_absolute(row["at"], DEMO_TZ),
        stage=parse_stage(row["stage"]) if row.get("stage") else None,
        tz=DEMO_TZ,
    )


def _deal(session: Session, row: dict[str, str], *, now: datetime, actor: str) -> None:
    activity.record_deal(
        session,
        now=now,
        actor=actor,
        customer=row["customer"],
        amount_minor=parse_amount(row["amount"]),
        channel=Channel(row["channel"]),
        at=parse_absolute(row["at"], DEMO_TZ),
        tz=DEMO_TZ,
    )

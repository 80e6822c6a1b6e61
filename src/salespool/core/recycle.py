"""Recycling by rule: customers their owner left idle, or could not convert, go back to the pool.

Every rule is one SQL condition evaluated "as of" a moment T, so the same
condition serves `recycle` (T = now), `due` (T = now + N days) and `simulate`:

- **idle**: the idleness clock (later of last contact and owned_since) is at
  least the customer's threshold old. The threshold is `recycle.level_days`
  for the customer's level when that level is listed, else
  `recycle.stage_days` for its stage, else `recycle.days` — one SQL CASE.
  `--days N` comes as rules with N alone (`RecycleRules.only`, salespool/rules.py).
- **unconverted**: never won — still `prospecting` or `negotiating` with no deal
  ever — and owned for `recycle.unconverted_days` (from owned_since), even if it
  is being called. A customer that bought, or stands in won/maintaining/
  deepening/lost, is never "unconverted". 0 turns the rule off, as `--days N`
  does (which means exactly "idle N days or more").
- **exemptions** (always apply): a deal less than `recycle.deal_exempt_days`
  ago; a lock (locked_at set, locked_until null or later than T).

A voided deal counts nowhere: not as a deal, not for the exemption.

When a customer meets both rules the reason names the idle one. Each
condition only grows true with T (idleness grows, exemptions expire), so "will
be recycled by T" is the same condition evaluated at T: `recycle` and
`simulate` evaluate `recyclable_at`, and `due` selects with it and dates each
customer from the same pieces (threshold, `never_won`, `last_live_deal`, `own_lock`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql import Select
from sqlmodel import Session

from salespool.clock import from_db, idle_days, to_db
from salespool.core.contact import ClockFrom, counting_contact, counting_kind, pick
from salespool.core.customers import idle_since
from salespool.core.reps import find_rep
from salespool.core.routing import routed_sql, with_pool_thresholds
from salespool.core.timeline import in_order
from salespool.core.trail import bulk_to_pool
from salespool.errors import BadInput
from salespool.models import Customer, Deal, EventKind, Rep, Stage
from salespool.rules import RecycleRules, WarningRules
from salespool.storage.bulk import driver_rows, tune_for_bulk

IDLE = "idle"
UNCONVERTED = "unconverted"
# The stages of a customer that was never won: the only ones the unconverted rule takes.
NEVER_WON_STAGES = (Stage.prospecting.value, Stage.negotiating.value)
# Rows of the recycled listing fetched at a time (a server-side cursor on PostgreSQL).
LISTING_BATCH = 5000


@dataclass(slots=True)  # slots: a first run over a big book lists 100,000s of them
class Recycled:
    id: int
    name: str
    previous_owner: str
    idle_days: int
    rule: str  # "idle" or "unconverted"
    reason: str  # as written in the event, e.g. "idle 30+ days (stage negotiating)"


@dataclass
class DueCustomer:
    """An owned customer the rules will recycle soon, and when."""

    id: int
    name: str
    owner: str
    stage: str
    level: str | None
    idle_days: int
    due_at: datetime  # the moment it becomes recyclable (now, if it already is)
    due_date: str  # that moment's date in the team's time zone
    days_left: int
    rule: str
    reason: str
    # The step of the warning ladder (recycle.warn) it stands at today, 1-based; None
    # before the first step, or when due was not given the ladder.
    warn_step: int | None = None
    # The contact the idleness clock runs from (recycle.clock_kinds, min_note_chars).
    clock_from: ClockFrom | None = None


@dataclass
class RecycleResult:
    dry_run: bool
    count: int
    days: int | None  # N when the rules were `--days N`'s (RecycleRules.only), else None
    recycled: list[Recycled]
    due: list[DueCustomer] | None = None  # with --warn-days: what goes next
    clock_rule: str = ""  # which contact resets the idle clock (RecycleRules.clock_text)


@dataclass
class Simulation:
    days: int
    count: int
    by_rep: dict[str, int]


@dataclass
class SimulateResult:
    as_of: datetime
    thresholds: list[Simulation]
    clock_rule: str = ""  # which contact resets the idle clock (RecycleRules.clock_text)


# The customers one run takes, chosen once: the event trail, the owner change and
# the listing all read this table rather than evaluate the rules again.
BATCH = Table(
    "recycle_batch",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("owner_id", Integer, nullable=False),
    Column("stage", String, nullable=False),
    # Plain DateTime: read back naive on SQLite, which idle_days takes as UTC.
    Column("since", DateTime(timezone=True)),
    Column("rule", String, nullable=False),
    Column("reason", String, nullable=False),
    prefixes=["TEMPORARY"],
)


# --- the rules as SQL ---------------------------------------------------------


def _thresholds(rules: RecycleRules) -> list[tuple[ColumnElement[bool], int, str]]:
    """(which customers, idle days, how the reason names it), in precedence order."""
    # A pool's own thresholds come first, for the customers its rule routes to it.
    pools = []
    for pool in rules.pools:
        routed = routed_sql(pool.routed_by)
        pools += [
            (and_(routed, Customer.stage == stage), days, f"pool {pool.name}, stage {stage}")
            for stage, days in sorted(pool.stage_days.items())
        ]
        if pool.days is not None:
            pools.append((routed, pool.days, f"pool {pool.name}"))
    levels = [
        (Customer.level == level, days, f"level {level}")
        for level, days in sorted(rules.level_days.items())
    ]
    stages = [
        (Customer.stage == stage, days, f"stage {stage}")
        for stage, days in sorted(rules.stage_days.items())
    ]
    return pools + levels + stages


def _idle_reason(days: int, label: str | None) -> str:
    return f"idle {days}+ days" + (f" ({label})" if label else "")


def _case(whens: list[tuple[ColumnElement[bool], ColumnElement]], default: ColumnElement):
    return case(*whens, else_=default) if whens else default


def _when(moment: datetime) -> ColumnElement:
    return literal(to_db(moment), Customer.owned_since.type)


def threshold(rules: RecycleRules) -> ColumnElement[int]:
    """SQL: each customer's idle threshold in days."""
    whens = [(cond, literal(days)) for cond, days, _ in _thresholds(rules)]
    return _case(whens, literal(rules.days))


def idle_reason(rules: RecycleRules) -> ColumnElement[str]:
    """SQL: the reason the idle rule writes for each customer."""
    whens = [(cond, literal(_idle_reason(days, label))) for cond, days, label in _thresholds(rules)]
    return _case(whens, literal(_idle_reason(rules.days, rules.days_key)))


def idle_at(rules: RecycleRules, at: datetime) -> ColumnElement[bool]:
    """SQL: idle for at least the customer's threshold at `at`."""
    whens = [(cond, _when(at - timedelta(days=days))) for cond, days, _ in _thresholds(rules)]
    return idle_since(rules) <= _case(whens, _when(at - timedelta(days=rules.days)))


def live_deals() -> Select:
    """SQL: the customer's deals that count (a voided deal counts nowhere)."""
    return select(Deal.id).where(Deal.customer_id == Customer.id, Deal.voided_at.is_(None))


def last_live_deal() -> ColumnElement:
    """SQL: the moment of the customer's latest deal that counts, or NULL."""
    return (
        select(func.max(Deal.at))
        .where(Deal.customer_id == Customer.id, Deal.voided_at.is_(None))
        .scalar_subquery()
    )


def never_won() -> ColumnElement[bool]:
    """SQL: still prospecting or negotiating, and no deal ever (any owner's)."""
    return and_(Customer.stage.in_(NEVER_WON_STAGES), ~live_deals().exists())


def unconverted_at(rules: RecycleRules, at: datetime) -> ColumnElement[bool]:
    """SQL: never won, and owned `unconverted_days` or more at `at`."""
    if not rules.unconverted_on:
        return false()
    owned_by = _when(at - timedelta(days=rules.unconverted_days))
    return and_(Customer.owned_since <= owned_by, never_won())


def own_lock() -> ColumnElement[bool]:
    """SQL: a lock set while the current owner had the customer (whatever its end)."""
    # A lock guards the owner who had it when it was set: one left over from an
    # earlier owner (released, rep left) does not protect the next one.
    return and_(Customer.locked_at.is_not(None), Customer.locked_at >= Customer.owned_since)


def exempt_at(rules: RecycleRules, at: datetime) -> ColumnElement[bool]:
    """SQL: protected at `at` by a lock, or by a deal less than `deal_exempt_days` before."""
    locked = and_(
        own_lock(), or_(Customer.locked_until.is_(None), Customer.locked_until > _when(at))
    )
    if not rules.deal_exempt_days:
        return locked
    since = _when(at - timedelta(days=rules.deal_exempt_days))
    return or_(locked, live_deals().where(Deal.at > since).exists())


def recyclable_at(rules: RecycleRules, at: datetime) -> ColumnElement[bool]:
    """SQL: the owned customers the rules would recycle at `at` if nothing else happened."""
    return and_(
        Customer.owner_id.is_not(None),
        or_(idle_at(rules, at), unconverted_at(rules, at)),
        ~exempt_at(rules, at),
    )


def _rule_and_reason(rules: RecycleRules, now: datetime) -> tuple[ColumnElement, ColumnElement]:
    """SQL: which rule takes each recyclable customer, and the reason it writes."""
    if not rules.unconverted_on:
        return literal(IDLE), idle_reason(rules)
    idle = idle_at(rules, now)
    return (
        case((idle, literal(IDLE)), else_=literal(UNCONVERTED)),
        case((idle, idle_reason(rules)), else_=literal(rules.unconverted_reason())),
    )


# --- the operations -------------------------------------------------------------


def recycle(
    session: Session,
    *,
    now: datetime,
    actor: str,
    rules: RecycleRules | None = None,
    dry_run: bool = False,
    warn_days: int | None = None,
    tz: str = "UTC",
    ladder: WarningRules | None = None,
) -> RecycleResult:
    """Move every customer the rules take into the pool, in bulk, each with its reason.

    `warn_days` adds the customers due within that many days after this run (with
    `ladder`, each with its warning step).
    """
    rules = with_pool_thresholds(session, rules or RecycleRules())
    conn = session.connection()
    # A first run over a big book rewrites rows across the whole customer table:
    # with SQLite's default 2 MiB cache, dirty pages spill mid-statement.
    tune_for_bulk(conn)
    BATCH.drop(conn, checkfirst=True)
    conn.execute(CreateTable(BATCH))
    try:
        count = _take_batch(session, rules, now)
        if count and not dry_run:
            b = BATCH.c
            chosen = select(b.id, b.owner_id, b.stage, b.reason)
            moved = bulk_to_pool(session, chosen, now=now, kind=EventKind.recycled, actor=actor)
            if moved != count:  # the batch's rows are locked: nothing may slip in between
                raise RuntimeError(f"recycle: {count} customers chosen but {moved} moved")
        recycled = _batch_listing(session, now)
    finally:
        BATCH.drop(conn, checkfirst=True)
    result = RecycleResult(
        dry_run=dry_run,
        count=count,
        days=rules.only_days,
        recycled=recycled,
        clock_rule=rules.clock_text(),
    )
    if warn_days is not None:
        taken = {r.id for r in recycled}
        upcoming = due(session, now=now, tz=tz, within=warn_days, rules=rules, ladder=ladder)
        result.due = [d for d in upcoming if d.id not in taken]
    return result


def _take_batch(session: Session, rules: RecycleRules, now: datetime) -> int:
    """Evaluate the rules once, over the whole book, into BATCH; how many customers it took.

    The rows are locked as they are taken (PostgreSQL), so the owner changes below
    find them exactly as chosen; on SQLite the write transaction already excludes
    every other writer.
    """
    rule, reason = _rule_and_reason(rules, now)
    chosen = (
        select(
            Customer.id,
            Customer.name,
            Customer.owner_id,
            Customer.stage,
            idle_since(rules),
            rule,
            reason,
        )
        # A customer whose trail already runs past `now` waits for a later run.
        .where(recyclable_at(rules, now), in_order(session, at=now))
        .with_for_update(of=Customer)
    )
    columns = ["id", "name", "owner_id", "stage", "since", "rule", "reason"]
    session.execute(insert(BATCH).from_select(columns, chosen))
    # Counted, not read off rowcount: psycopg reports -1 for this INSERT ... SELECT.
    return session.execute(select(func.count()).select_from(BATCH)).scalar_one()


def _batch_listing(session: Session, now: datetime) -> list[Recycled]:
    """The customers in BATCH, in id order, read in one streamed pass."""
    b = BATCH.c
    conn = session.connection()
    owners = dict(conn.execute(select(Rep.id, Rep.name)).all())
    listing = select(b.id, b.name, b.owner_id, b.since, b.rule, b.reason).order_by(b.id)
    # The driver's rows, not SQLAlchemy's: over 300,000 customers its result handling
    # cost more than the statement. PostgreSQL streams them from a server-side cursor
    # (client-side, the whole result sat beside this list: 444 MB for 673,000).
    rows = driver_rows(conn, listing, LISTING_BATCH)
    aware_now = now.astimezone(UTC)
    naive_now = aware_now.replace(tzinfo=None)
    parse = datetime.fromisoformat  # SQLite's naive UTC text, in C
    # A handful of distinct rules and reasons: one string each, not one per customer.
    words: dict[str, str] = {}
    word = words.setdefault

    def days_idle(since: str | datetime) -> int:
        # idle_days() inlined: naive UTC (SQLite's text) or aware (PostgreSQL), never
        # made aware one by one (that was a third of the listing's time).
        if type(since) is str:
            since = parse(since)
        return ((naive_now if since.tzinfo is None else aware_now) - since).days

    return [
        Recycled(
            cid,
            name,
            owners[owner_id],
            days_idle(since),
            word(rule_name, rule_name),
            word(why, why),
        )
        for cid, name, owner_id, since, rule_name, why in rows
    ]


def due(
    session: Session,
    *,
    now: datetime,
    tz: str,
    within: int,
    rep: str | None = None,
    rules: RecycleRules | None = None,
    ladder: WarningRules | None = None,
) -> list[DueCustomer]:
    """Owned customers the rules will recycle within `within` days, soonest first;
    with `ladder`, each with the warning step it stands at.

    The date assumes nothing changes meanwhile (no follow-up, deal, lock or
    unlock); a customer recyclable already is due now, at the next run.
    """
    if within < 0:
        raise BadInput(f"{within} must be 0 or more", option="within")
    rules = with_pool_thresholds(session, rules or RecycleRules())
    horizon = now + timedelta(days=within)
    query = (
        select(
            Customer.id,
            Customer.name,
            Rep.name,
            Customer.stage,
            Customer.level,
            idle_since(rules),
            Customer.owned_since,
            threshold(rules),
            idle_reason(rules),
            never_won(),
            last_live_deal(),
            own_lock(),
            Customer.locked_until,
            counting_contact(rules),
            counting_kind(rules),
        )
        .join(Rep, Rep.id == Customer.owner_id)
        .where(recyclable_at(rules, horizon))
        .order_by(Customer.id)
    )
    if rep is not None:
        query = query.where(Customer.owner_id == find_rep(session, rep, active=False).id)
    zone = ZoneInfo(tz)
    items = []
    for row in session.execute(query):
        (cid, name, owner, stage, level, since, owned, idle_limit, idle_why) = row[:9]
        unwon, deal_at, locked, locked_until, contact_at, contact_kind = row[9:]
        since, owned = from_db(since), from_db(owned)
        # The moment each SQL condition of recyclable_at turns: the same pieces, in order.
        idle_from = since + timedelta(days=idle_limit)
        fires = idle_from
        if rules.unconverted_on and unwon:
            fires = min(fires, owned + timedelta(days=rules.unconverted_days))
        # Exemptions only postpone: recyclable from the moment the last one ends.
        if rules.deal_exempt_days and deal_at is not None:
            fires = max(fires, from_db(deal_at) + timedelta(days=rules.deal_exempt_days))
        if locked and locked_until is not None:  # an open-ended lock is never due
            fires = max(fires, from_db(locked_until))
        when = max(fires, now)
        by_idle = idle_from <= when
        days_left = idle_days(now, when)
        items.append(
            DueCustomer(
                id=cid,
                name=name,
                owner=owner,
                stage=stage,
                level=level,
                idle_days=idle_days(since, now),
                due_at=when,
                due_date=when.astimezone(zone).strftime("%Y-%m-%d"),
                days_left=days_left,
                rule=IDLE if by_idle else UNCONVERTED,
                reason=idle_why if by_idle else rules.unconverted_reason(),
                warn_step=ladder.step_for(days_left) if ladder else None,
                clock_from=pick(owned, contact_at, contact_kind),
            )
        )
    items.sort(key=lambda d: (d.due_at, d.id))
    return items


def simulate(session: Session, *, now: datetime, rules: Sequence[RecycleRules]) -> SimulateResult:
    """For each of `rules` (`RecycleRules.only(N)` for `--days N`), how many customers a
    recycle run by them would take now, per rep."""
    if not rules:
        # Each of the rules is one threshold of `days`: the argument the message is about.
        raise BadInput("give at least one threshold, e.g. 15,30,45,60", option="days")
    simulations = []
    for one in (with_pool_thresholds(session, r) for r in rules):
        where = recyclable_at(one, now)
        counts = session.execute(
            select(Rep.name, func.count())
            .join(Customer, Customer.owner_id == Rep.id)
            .where(where)
            .group_by(Rep.name)
            .order_by(Rep.name)
        ).all()
        by_rep = {name: n for name, n in counts}
        simulations.append(Simulation(days=one.days, count=sum(by_rep.values()), by_rep=by_rep))
    return SimulateResult(as_of=now, thresholds=simulations, clock_rule=rules[0].clock_text())

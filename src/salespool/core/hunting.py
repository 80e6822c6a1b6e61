"""Hunting or farming: who still wins new business, and who only follows old orders (跟单).

A follow-up is *hunting* when its customer stood in `prospecting` or
`negotiating` at the time of the follow-up (the stage left by the latest event
at or before it, see core/timeline.py, stored with the follow-up when it is
written, so the report is a plain GROUP BY), or when the rep took that customer from
the pool (claimed, or assigned out of the pool) within the same window. It is
*farming* when the customer stood in `won`, `maintaining` or `deepening`.
Follow-ups on `lost` customers count as neither. The hunting share is
hunting / (hunting + farming), none without either. An import is not a take: a
customer imported to a rep is hunting or farming by its stage alone.

*New customers* in a window are those claimed by or assigned to the rep in it,
and those imported to the rep whose `created_at` (the file's creation date)
falls in it: importing a veteran's book does not make it new business.

A rep is an *order-follower* when their hunting share stays strictly under the
threshold over the last N periods (calendar weeks or months in the team's time
zone, the current one up to the report's moment included): under it over those
periods taken together, and under it in the latest period in which they logged
hunting or farming follow-ups. So one thin month (1 hunting call of 3) does not
clear a rep who has farmed for half a year, while a rep who has gone back to
hunting this period is not flagged for the past. Periods without follow-ups are
no evidence either way; a rep without any is not flagged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pendulum
from sqlalchemy import and_, func, select, union
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core.tally import Span, by_stage
from salespool.models import Customer, Event, EventKind, FollowUp, Stage
from salespool.rules import HuntingRules

HUNTING_STAGES = (Stage.prospecting.value, Stage.negotiating.value)
FARMING_STAGES = (Stage.won.value, Stage.maintaining.value, Stage.deepening.value)
# The events that bring a customer into a rep's book as new business. An import is
# not one of them: it only records a book that existed before (see `acquired_query`).
TAKEN_FROM_POOL = (EventKind.claimed.value, EventKind.assigned.value)
_HUNT, _FARM, _OTHER = "hunting", "farming", "other"
WINDOW = "window"  # the report's own window, beside the periods 0..N-1


@dataclass
class PeriodShare:
    period: str  # 2026-11, or 2026-W48 for weeks
    start: datetime
    hunting: int = 0
    farming: int = 0
    hunting_share: float | None = None


@dataclass
class Hunting:
    hunting: int = 0
    farming: int = 0
    hunting_share: float | None = None
    new_customers: int = 0
    hunting_history: list[PeriodShare] | None = None
    order_follower: bool = False


def share(hunting: int, farming: int) -> float | None:
    """hunting / (hunting + farming), to 4 places; None without any."""
    total = hunting + farming
    if total == 0:
        return None
    return float((Decimal(hunting) / Decimal(total)).quantize(Decimal("0.0001")))


def under(hunting: int, farming: int, threshold: Decimal) -> bool:
    """Whether the hunting share is strictly under the threshold (exact, no float)."""
    return Decimal(hunting) < threshold * Decimal(hunting + farming)


def period_starts(as_of: datetime, tz: str, period: str, count: int) -> list[tuple[str, datetime]]:
    """The last `count` calendar periods up to `as_of` (the current one included), oldest first."""
    local = pendulum.instance(as_of).in_timezone(tz)
    unit = "week" if period == "week" else "month"
    current = local.start_of(unit)
    starts = []
    for back in range(count - 1, -1, -1):
        start = current.subtract(weeks=back) if unit == "week" else current.subtract(months=back)
        if unit == "week":
            year, week, _ = start.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            label = f"{start.year}-{start.month:02d}"
        starts.append((label, datetime.fromtimestamp(start.timestamp(), UTC)))
    return starts


def hunting_spans(
    since: datetime, as_of: datetime, tz: str, rules: HuntingRules | None
) -> dict[str | int, Span]:
    """The report's window (key WINDOW) and, with `rules`, each period (keys 0..N-1, oldest
    first) as [start, stop) spans; the window and the current period end at `as_of`,
    included."""
    stop = as_of + timedelta(microseconds=1)
    spans: dict[str | int, Span] = {WINDOW: (since, stop)}
    if rules is None:
        return spans
    starts = [start for _, start in period_starts(as_of, tz, rules.period, rules.periods)]
    for i, (a, b) in enumerate(zip(starts, [*starts[1:], stop], strict=True)):
        spans[i] = (a, b)
    return spans


def _class_of(stage: str | None) -> str:
    """hunting / farming / other by the stage a follow-up stored (its customer's at the time)."""
    if stage in HUNTING_STAGES:
        return _HUNT
    return _FARM if stage in FARMING_STAGES else _OTHER


def classify(
    session: Session, *, rep_ids: list[int], spans: dict[str | int, Span], tally: dict
) -> dict[str | int, dict[int, Counter]]:
    """Follow-ups counted as hunting/farming/other per span and rep.

    The counts by stage come from `tally` (core/tally.py, over the same spans);
    a small statement per span then finds the follow-ups on customers the rep
    took from the pool within that span: those are hunting whatever the stage,
    so they move over from farming/other.
    """
    classes: dict[str | int, dict[int, Counter]] = {}
    for key, (start, stop) in spans.items():
        per_rep: dict[int, Counter] = defaultdict(Counter)
        for rep_id, counts in tally[key].items():
            for stage, n in by_stage(counts).items():
                per_rep[rep_id][_class_of(stage)] += n
        if rep_ids:
            for rep_id, stage, n in session.execute(_taken_in(rep_ids, to_db(start), to_db(stop))):
                kind = _class_of(stage)
                if kind != _HUNT:
                    per_rep[rep_id][kind] -= n
                    per_rep[rep_id][_HUNT] += n
        classes[key] = per_rep
    return classes


def _taken_in(rep_ids: list[int], start: datetime, stop: datetime):
    """Follow-ups in [start, stop) on customers their rep took from the pool in that span,
    by rep and stored stage (driven by the few taking events)."""
    took = aliased(Event)
    taken = (
        select(took.customer_id, took.to_rep_id)
        .where(
            took.kind.in_(TAKEN_FROM_POOL),
            took.from_rep_id.is_(None),
            took.at >= start,
            took.at < stop,
            took.to_rep_id.in_(rep_ids),
        )
        .distinct()
        .subquery()
    )
    f = FollowUp
    return (
        select(f.rep_id, f.stage, func.count())
        .join(taken, and_(taken.c.customer_id == f.customer_id, taken.c.to_rep_id == f.rep_id))
        .where(f.at >= start, f.at < stop)
        .group_by(f.rep_id, f.stage)
    )


def acquired_query(*, rep_ids: list[int], start: datetime, end: datetime):
    """(rep id, new customers) rows: per rep, the customers new between `start` and
    `end`, both included: those claimed or assigned to them then, and those imported to
    them whose `created_at` (the file's creation date) falls then. Importing a veteran's
    book makes none of it new."""
    start, end = to_db(start), to_db(end)
    taken = select(Event.to_rep_id.label("rep_id"), Event.customer_id).where(
        Event.to_rep_id.in_(rep_ids),
        Event.kind.in_(TAKEN_FROM_POOL),
        Event.at >= start,
        Event.at <= end,
    )
    created = (
        select(Event.to_rep_id, Event.customer_id)
        .join(Customer, Customer.id == Event.customer_id)
        .where(
            Event.to_rep_id.in_(rep_ids),
            Event.kind == EventKind.imported.value,
            Event.at <= end,  # a report as of a past moment knew only what was imported by then
            Customer.created_at >= start,
            Customer.created_at <= end,
        )
    )
    new = union(taken, created).subquery()  # UNION: a customer counts once per rep
    return select(new.c.rep_id, func.count()).group_by(new.c.rep_id)


def hunting_stats(
    session: Session,
    *,
    rep_ids: list[int],
    since: datetime,
    as_of: datetime,
    tz: str,
    rules: HuntingRules,
    tally: dict,
    new: dict[int, int],
) -> dict[int, Hunting]:
    """Per rep: hunting and farming in the window, new customers, the per-period history, flag.

    `tally` is tally_plan over hunting_spans(since, as_of, tz, rules), counted by
    TallyPlan.collect; `new` is the rows of acquired_query over the window, by rep.
    """
    periods = period_starts(as_of, tz, rules.period, rules.periods)
    spans = hunting_spans(since, as_of, tz, rules)
    classes = classify(session, rep_ids=rep_ids, spans=spans, tally=tally)
    window = classes[WINDOW]
    result: dict[int, Hunting] = {}
    for rid in rep_ids:
        hunt, farm = window[rid][_HUNT], window[rid][_FARM]
        shares = []
        for i, (label, start) in enumerate(periods):
            h, f = classes[i][rid][_HUNT], classes[i][rid][_FARM]
            shares.append(PeriodShare(label, start, h, f, share(h, f)))
        result[rid] = Hunting(
            hunting=hunt,
            farming=farm,
            hunting_share=share(hunt, farm),
            new_customers=new.get(rid, 0),
            hunting_history=shares,
            order_follower=order_follower(shares, rules.threshold),
        )
    return result


def order_follower(history: list[PeriodShare], threshold: Decimal) -> bool:
    """Under the threshold over all the periods together and in the latest with follow-ups."""
    active = [p for p in history if p.hunting + p.farming > 0]
    if not active:
        return False
    hunting = sum(p.hunting for p in active)
    farming = sum(p.farming for p in active)
    return under(hunting, farming, threshold) and under(
        active[-1].hunting, active[-1].farming, threshold
    )


def total_history(histories: list[list[PeriodShare]]) -> list[PeriodShare]:
    """The team's history: each period's counts summed over reps."""
    if not histories:
        return []
    summed = [PeriodShare(p.period, p.start) for p in histories[0]]
    for history in histories:
        for total, p in zip(summed, history, strict=True):
            total.hunting += p.hunting
            total.farming += p.farming
    for total in summed:
        total.hunting_share = share(total.hunting, total.farming)
    return summed

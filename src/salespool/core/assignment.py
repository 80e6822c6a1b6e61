"""Planning an assignment: which pool customer goes to which rep, and why.

Pure functions over plain values (no database), so the rules can be
property-tested: nobody goes over capacity, nobody gets a customer they are
in cooldown for, each customer is planned at most once, and the same input
always gives the same plan. `handover.assign` gathers the inputs, calls
`plan_assignment`, and writes the plan with one conditional UPDATE per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from salespool.terms import Role


class Strategy(StrEnum):
    round_robin = "round-robin"
    least_loaded = "least-loaded"
    rookie_first = "rookie-first"


@dataclass(frozen=True)
class Candidate:
    """A rep who may receive customers: how many they own and may own (None: no cap)."""

    name: str
    role: str
    owned: int
    capacity: int | None


@dataclass(frozen=True)
class PoolCustomer:
    id: int
    name: str
    stage: str


@dataclass(frozen=True)
class PlannedRow:
    customer: PoolCustomer
    rep: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    customer: PoolCustomer
    reason: str


@dataclass(frozen=True)
class Plan:
    rows: list[PlannedRow]
    skipped: list[Skipped]


def load_text(owned: int, capacity: int | None) -> str:
    """A rep's load as shown in reasons: "12 of 30"."""
    return f"{owned} of {capacity}" if capacity is not None else f"{owned}, no cap"


def plan_assignment(
    customers: Sequence[PoolCustomer],
    candidates: Sequence[Candidate],
    *,
    strategy: Strategy = Strategy.round_robin,
    blocked: Mapping[tuple[int, str], str] | None = None,
    limit: int | None = None,
) -> Plan:
    """Deal `customers` (in the order given) to `candidates` by `strategy`.

    `blocked` maps (customer id, rep name) to why that rep may not have that
    customer (cooldown). Reps are taken in name order, which breaks every tie,
    so the plan does not depend on the order the candidates come in. A
    customer no rep can take is skipped with the reason; planning stops after
    `limit` rows or when every rep is full.
    """
    blocked = blocked or {}
    reps = sorted({c.name: c for c in candidates}.values(), key=lambda c: c.name)
    owned = {r.name: r.owned for r in reps}
    dealt = {r.name: 0 for r in reps}  # customers given in this run (the round-robin turn)
    rows: list[PlannedRow] = []
    skipped: list[Skipped] = []
    seen: set[int] = set()

    def has_room(rep: Candidate) -> bool:
        return rep.capacity is None or owned[rep.name] < rep.capacity

    for customer in customers:
        if limit is not None and len(rows) >= limit:
            break
        if customer.id in seen:
            continue
        seen.add(customer.id)
        with_room = [r for r in reps if has_room(r)]
        if not with_room:
            break
        eligible = [r for r in with_room if (customer.id, r.name) not in blocked]
        if not eligible:
            skipped.append(
                Skipped(
                    customer,
                    "; ".join(blocked[(customer.id, r.name)] for r in with_room),
                )
            )
            continue
        rep, reason = _choose(strategy, eligible, owned, dealt)
        rows.append(PlannedRow(customer, rep.name, reason))
        owned[rep.name] += 1
        dealt[rep.name] += 1
    return Plan(rows=rows, skipped=skipped)


def _choose(
    strategy: Strategy,
    eligible: list[Candidate],
    owned: dict[str, int],
    dealt: dict[str, int],
) -> tuple[Candidate, str]:
    """The rep who gets the next customer, and the reason shown in the plan."""
    if strategy is Strategy.round_robin:
        # Fewest dealt this run, then name: plain round-robin that skips full reps.
        rep = min(eligible, key=lambda r: (dealt[r.name], r.name))
        return rep, (
            f"round-robin: turn {dealt[rep.name] + 1} for {rep.name} "
            f"({load_text(owned[rep.name], rep.capacity)})"
        )
    if strategy is Strategy.rookie_first:
        rookies = [r for r in eligible if r.role == Role.rookie.value]
        if rookies:
            rep = min(rookies, key=lambda r: (owned[r.name], r.name))
            return rep, f"rookie first, least loaded: {load_text(owned[rep.name], rep.capacity)}"
        rep = min(eligible, key=lambda r: (owned[r.name], r.name))
        return (
            rep,
            f"no rookie can take it; least loaded: {load_text(owned[rep.name], rep.capacity)}",
        )
    rep = min(eligible, key=lambda r: (owned[r.name], r.name))
    return rep, f"least loaded: {load_text(owned[rep.name], rep.capacity)}"

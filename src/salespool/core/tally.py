"""Follow-ups counted per rep, stage and kind over spans of time, each one read once.

A team report asks for the same follow-ups several ways: by kind over its
window, by stage over the window and over each of the last N periods. The
spans overlap, so the timeline is cut at every span's edge and each piece is
counted once, with a GROUP BY that walks the (rep_id, stage, kind, at) index
in its own order: a seek per (rep, stage, kind) and a count of index entries,
never a sort, never a table row. The spans' counts are sums of their pieces.

The pieces' queries are independent: `TallyPlan` hands them out, so a caller can
send them with its other big reads through storage.reads (side by side on a
PostgreSQL server, whose cores then share the work), and sums what comes back.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select

from salespool.clock import to_db
from salespool.models import FollowUp, FollowUpKind, Stage

K = TypeVar("K", bound=Hashable)
Span = tuple[datetime, datetime]  # [start, stop)
# Per rep id: follow-ups by (stage, kind).
Counts = dict[int, Counter[tuple[str, str]]]

# Every value, so the seeks cover the index; nothing else is ever written.
_STAGES = [s.value for s in Stage]
_KINDS = [k.value for k in FollowUpKind]


@dataclass
class TallyPlan(Generic[K]):
    """The counting query of each piece of the timeline, and the spans each piece lies in."""

    spans: Mapping[K, Span]
    statements: list[Any]
    inside: list[list[K]]

    def collect(self, results: list[list[Any]]) -> dict[K, Counts]:
        """The spans' counts from the rows of `statements` (in the same order)."""
        result: dict[K, Counts] = {key: defaultdict(Counter) for key in self.spans}
        for keys, rows in zip(self.inside, results, strict=True):
            for key in keys:
                counts = result[key]
                for rep_id, stage, kind, n in rows:
                    counts[rep_id][(stage, kind)] += n
        return result


def tally_plan(*, rep_ids: list[int], spans: Mapping[K, Span]) -> TallyPlan[K]:
    """The queries that count the follow-ups of `rep_ids` over `spans`: send them (read_all)
    and TallyPlan.collect gives, for each span, each rep's counts by (stage, kind)."""
    statements: list[Any] = []
    inside: list[list[K]] = []
    if not rep_ids:
        return TallyPlan(spans, statements, inside)
    cuts = sorted({moment for span in spans.values() for moment in span})
    for a, b in pairwise(cuts):
        keys = [key for key, (start, stop) in spans.items() if start <= a and b <= stop]
        if not keys:
            continue  # a gap between spans
        f = FollowUp
        statements.append(
            select(f.rep_id, f.stage, f.kind, func.count())
            .where(
                f.rep_id.in_(rep_ids),
                f.stage.in_(_STAGES),
                f.kind.in_(_KINDS),
                f.at >= to_db(a),
                f.at < to_db(b),
            )
            .group_by(f.rep_id, f.stage, f.kind)
        )
        inside.append(keys)
    return TallyPlan(spans, statements, inside)


def by_kind(counts: Counter[tuple[str, str]]) -> dict[str, int]:
    """One rep's counts summed over stages: {kind: n}."""
    return dict(_summed(counts, 1))


def by_stage(counts: Counter[tuple[str, str]]) -> Counter[str]:
    """One rep's counts summed over kinds: {stage: n}."""
    return _summed(counts, 0)


def _summed(counts: Counter[tuple[str, str]], part: int) -> Counter[str]:
    summed: Counter[str] = Counter()
    for key, n in counts.items():
        summed[key[part]] += n
    return summed

"""The HTML pages (`report --html`, `coach --html`): one self-contained file each.

Jinja2 templates shipped inside the package (templates/), autoescaped, with the
styles inline and the charts as hand-made SVG: the file opens offline, needs no
JavaScript, and will still open in ten years. The figures come as they are from the
core's dataclasses (the same ones `report --json` and `coach --json` print); this
module only lays them out: positions, widths, colours and the text of each number.

Colours are the Okabe-Ito palette (safe for red-green colour blindness) and a
viridis-like sequential ramp whose lightness rises with the value, so the heat map
reads in greyscale too; every coloured mark also carries its number or a pattern.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from salespool import __version__
from salespool.errors import BadInput
from salespool.files import refuse_overwrite, replaced
from salespool.terms import Stage

if TYPE_CHECKING:
    from salespool.core.coach import CoachingReport
    from salespool.core.overview import ReportPage
    from salespool.core.report import RepReport

# Okabe-Ito, one per stage; `lost` is grey. Patterns tell neighbours apart in greyscale.
STAGE_COLOURS = {
    Stage.prospecting.value: "#E69F00",
    Stage.negotiating.value: "#56B4E9",
    Stage.won.value: "#009E73",
    Stage.maintaining.value: "#0072B2",
    Stage.deepening.value: "#CC79A7",
    Stage.lost.value: "#999999",
}
STAGE_PATTERNS = {
    Stage.prospecting.value: "",
    Stage.negotiating.value: "dots",
    Stage.won.value: "",
    Stage.maintaining.value: "hatch",
    Stage.deepening.value: "cross",
    Stage.lost.value: "",
}
STAGE_LABELS = {
    Stage.prospecting.value: "prospecting 寻找客户",
    Stage.negotiating.value: "negotiating 商务谈判",
    Stage.won.value: "won 业绩合格",
    Stage.maintaining.value: "maintaining 维系客户",
    Stage.deepening.value: "deepening 深耕客户",
    Stage.lost.value: "lost 流失",
}
DIRECT, ONLINE = "#0072B2", "#E69F00"  # blue and orange: apart in every kind of vision
BEHIND, ON_TRACK, DONE = "#D55E00", "#56B4E9", "#009E73"  # vermillion, sky blue, green
# A viridis-like ramp, dark violet (0%) to yellow (100%): lightness grows with the share.
RAMP = ("#440154", "#3B528B", "#21908C", "#5DC863", "#FDE725")


def ramp(value: float) -> str:
    """The ramp's colour for a share in [0, 1], interpolated between its stops."""
    value = min(1.0, max(0.0, value))
    spot = value * (len(RAMP) - 1)
    i = min(int(spot), len(RAMP) - 2)
    t = spot - i
    a, b = RAMP[i], RAMP[i + 1]
    mixed = [round(int(a[k : k + 2], 16) * (1 - t) + int(b[k : k + 2], 16) * t) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02X}" for c in mixed)


def ink_on(value: float) -> str:
    """Black or white text, whichever reads on the ramp's colour for `value`."""
    return "#000000" if value >= 0.45 else "#FFFFFF"


def number(value: Any) -> str:
    """A number as the page shows it: thousands separated, money to the cent."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def percent(value: float | None) -> str:
    """0.2857 -> `29%`; a dash for no share."""
    return "–" if value is None else f"{round(value * 100)}%"


def raw(value: Any) -> str:
    """A number as `--json` prints it (the `data-value` the tests and scripts read)."""
    if value is None:
        return ""
    return str(value)


@dataclass
class Bar:
    """One segment of a bar chart, in the SVG's own units."""

    x: float
    width: float
    colour: str
    pattern: str
    label: str
    value: int


@dataclass
class Context:
    """What every page's frame needs: its title, the moment, the zone, the rules."""

    title: str
    as_of: str
    timezone: str
    rules: list[tuple[str, str]]
    version: str = __version__


@functools.cache
def environment():
    """The templates' environment: package templates, autoescaped everywhere."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("salespool.pages", "templates"),
        autoescape=True,  # every template: a rep named <script> stays text
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["number"] = number
    env.filters["percent"] = percent
    env.filters["raw"] = raw
    env.globals.update(
        STAGE_COLOURS=STAGE_COLOURS,
        STAGE_PATTERNS=STAGE_PATTERNS,
        STAGE_LABELS=STAGE_LABELS,
        DIRECT=DIRECT,
        ONLINE=ONLINE,
        BEHIND=BEHIND,
        ON_TRACK=ON_TRACK,
        DONE=DONE,
    )
    return env


def _local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _rules(rules: dict[str, object]) -> list[tuple[str, str]]:
    def text(value: object) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value) or "(none)"
        return str(value)

    return [(key, text(value)) for key, value in rules.items()]


# --- the report page ------------------------------------------------------------

FUNNEL_WIDTH = 200  # the per-rep bar's SVG width for the rep with the most customers
TEAM_BAR = 200  # the team funnel's longest bar: with its labels, it fits a phone unshrunk


def stage_bars(stages: dict[str, int], width: float) -> list[Bar]:
    """A stacked bar of the stages, `width` units for the whole of it."""
    total = sum(stages.values())
    bars, x = [], 0.0
    for stage in Stage:
        n = stages.get(stage.value, 0)
        if not n or not total:
            continue
        w = width * n / total
        bars.append(
            Bar(x, w, STAGE_COLOURS[stage.value], STAGE_PATTERNS[stage.value], stage.value, n)
        )
        x += w
    return bars


def funnel(page: ReportPage) -> dict[str, Any]:
    """The team's funnel (one bar per stage, longest the widest) and each rep's stacked bar."""
    totals = page.report.totals
    most = max(totals.stages.values(), default=0) or 1
    team = [
        {
            "stage": s.value,
            "label": STAGE_LABELS[s.value],
            "count": totals.stages.get(s.value, 0),
            "width": TEAM_BAR * totals.stages.get(s.value, 0) / most,
            "colour": STAGE_COLOURS[s.value],
            "pattern": STAGE_PATTERNS[s.value],
        }
        for s in Stage
    ]
    biggest = max((r.customers for r in page.report.reps), default=0) or 1
    reps = [
        {
            "rep": r,
            "bars": stage_bars(r.stages, FUNNEL_WIDTH * r.customers / biggest),
        }
        for r in page.report.reps
    ]
    return {"team": team, "reps": reps, "stages": [s.value for s in Stage]}


def drift(history) -> float | None:
    """How far the share moved from the first period with follow-ups to the latest one:
    negative when the rep drifted from hunting to farming."""
    known = [p.hunting_share for p in history if p.hunting_share is not None]
    if len(known) < 2:
        return None
    return round(known[-1] - known[0], 4)


def heatmap(page: ReportPage) -> dict[str, Any]:
    """The hunting share per rep and period, the most drifted first: order-followers on
    top, then by how far the share fell, then by the latest share."""
    rule = page.report.hunting_rule
    reps = page.report.reps

    def latest(r: RepReport) -> float:
        known = [p.hunting_share for p in r.hunting_history if p.hunting_share is not None]
        return known[-1] if known else 2.0  # no follow-ups: nothing to see, last

    def order(row: tuple[float | None, RepReport]):
        d, r = row
        return (not r.order_follower, d if d is not None else 2.0, latest(r), r.rep)

    rows = []
    for d, r in sorted(((drift(r.hunting_history), r) for r in reps), key=order):
        cells = []
        for p in r.hunting_history:
            share = p.hunting_share
            cell = {"period": p.period, "share": share, "hunting": p.hunting, "farming": p.farming}
            if share is not None:  # an empty cell is drawn without colours
                cell.update(fill=ramp(share), ink=ink_on(share))
            cells.append(cell)
        rows.append({"rep": r, "cells": cells, "drift": d})
    periods = [p.period for p in (reps[0].hunting_history if reps else [])]
    return {
        "rule": rule,
        "threshold": float(rule.threshold) if rule else None,
        "periods": periods,
        "rows": rows,
        "legend": [{"share": v / 4, "fill": ramp(v / 4), "ink": ink_on(v / 4)} for v in range(5)],
    }


def pool_chart(page: ReportPage, tz: str) -> dict[str, Any]:
    """Weekly bars: in above the axis (recycled, released), out below (claimed, assigned),
    and the pool's size as a line on its own scale."""
    weeks = page.report.pool_weeks
    height, top, bottom, left, step = 220, 20, 30, 44, 56
    inflow = [w.recycled + w.released for w in weeks]
    outflow = [w.claimed + w.assigned for w in weeks]
    peak = max([*inflow, *outflow, 1])
    mid = top + (height - top - bottom) / 2
    half = (height - top - bottom) / 2 - 4
    biggest = max([w.size for w in weeks] + [1])
    scale = half / peak
    columns, points = [], []
    for i, (w, into, out) in enumerate(zip(weeks, inflow, outflow, strict=True)):
        x = left + i * step
        columns.append(
            {
                "week": w,
                "label": w.week.split("-")[-1],
                "x": x,
                "recycled_h": w.recycled * scale,
                "released_h": w.released * scale,
                "claimed_h": w.claimed * scale,
                "assigned_h": w.assigned * scale,
                "into": into,
                "out": out,
            }
        )
        points.append((x + step / 2, top + (height - top - bottom) * (1 - w.size / biggest)))
    return {
        "weeks": [{**vars(w), "start_local": _local(w.start, tz)[:10]} for w in weeks],
        "columns": columns,
        "width": left + step * max(len(weeks), 1) + 16,
        "height": height,
        "mid": mid,
        "half": half,
        "peak": peak,
        "step": step,
        "left": left,
        "top": top,
        "bottom": bottom,
        "biggest": biggest,
        "line": " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
        "points": points,
    }


def commission_rows(page: ReportPage) -> dict[str, Any]:
    """Each rep's commission, with a bar of their deal amount split direct | online."""
    paid = page.commission
    most = max((r.amount for r in paid.reps), default=Decimal(0)) or Decimal(1)
    rows = []
    for r in paid.reps:
        direct = float(200 * r.direct_amount / most)
        online = float(200 * r.online_amount / most)
        rows.append({"rep": r, "direct_w": direct, "online_w": online})
    return {"paid": paid, "rows": rows, "override": paid.coach_override > 0}


def timelines(coaching: CoachingReport) -> list[dict[str, Any]]:
    """Per rookie: a day axis from hire, the targets as ticks and the milestones as marks,
    red where the milestone is late or its day passed without it."""
    t = coaching.targets
    rows = []
    for r in coaching.rookies:
        span = max(t.first_won_days, r.days_since_hire, 1)
        milestones = []
        for key, name, target, day in (
            ("follow_up", "first follow-up", t.first_follow_up_days, r.first_follow_up_days),
            (
                "negotiation",
                "first negotiation",
                t.first_negotiation_days,
                r.first_negotiation_days,
            ),
            ("won", "first won deal", t.first_won_days, r.first_won_days),
        ):
            missed = name in r.missed
            milestones.append(
                {
                    "key": key,
                    "name": name,
                    "target": target,
                    "day": day,
                    "missed": missed,
                    "colour": BEHIND if missed else (DONE if day is not None else ON_TRACK),
                }
            )
        rows.append({"rookie": r, "span": span, "milestones": milestones})
    return rows


def report_html(page: ReportPage) -> str:
    """The report page's HTML text."""
    tz = page.timezone
    report = page.report
    context = Context(
        title="Team report",
        as_of=_local(report.as_of, tz),
        timezone=tz,
        rules=_rules(page.rules),
    )
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            frame=context,
            report=report,
            since=_local(report.since, tz),
            funnel=funnel(page),
            heat=heatmap(page),
            pool=pool_chart(page, tz),
            paid=commission_rows(page),
            rookies=timelines(page.coaching),
            coaching=page.coaching,
        )
    )


def coach_html(coaching: CoachingReport, tz: str, rules: dict[str, object]) -> str:
    """The coaching page's HTML text: each rookie's timeline and the coaches' scorecard."""
    context = Context(
        title="Coaching",
        as_of=_local(coaching.as_of, tz),
        timezone=tz,
        rules=_rules(rules),
    )
    return (
        environment()
        .get_template("coach.html.j2")
        .render(frame=context, coaching=coaching, rookies=timelines(coaching))
    )


def write_page(path: Path, text: str, force: bool) -> None:
    """Write the page whole or not at all: a temporary file beside it, then renamed."""
    refuse_overwrite(path, force, "html")
    try:
        with replaced(path) as (fd, tmp):
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            # mkstemp makes the file private; a report is to be shared, as any new file is.
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)
    except BadInput as exc:
        # replaced() words an OSError its own way; the page's message names --html.
        cause = exc.__cause__
        if not isinstance(cause, OSError):
            raise
        raise BadInput(f"cannot write {path}: {cause.strerror or cause}", option="html") from cause

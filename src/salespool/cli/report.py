"""The stage report command."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Group

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.core.report import Report, stage_report
from salespool.models import Stage
from salespool.render import Col, Format, Output, plain, plural

DEFAULT_WINDOW_DAYS = 30
STAGE_HEADERS = {
    Stage.prospecting: "prospect",
    Stage.negotiating: "negot.",
    Stage.won: "won",
    Stage.maintaining: "maint.",
    Stage.deepening: "deepen",
    Stage.lost: "lost",
}


@app.command()
def report(
    ctx: typer.Context,
    rep: Annotated[str | None, typer.Option("--rep", help="Only this rep.")] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help=f"Start of the activity window (default {DEFAULT_WINDOW_DAYS}d ago)."
        ),
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Per rep: customers by stage now, and follow-ups, deals, claims and recycling in the window.

    Example: salespool report --rep alice --since 2026-11-01
    """
    st = state(ctx)
    start = (
        st.clock.parse(since, "--since")
        if since
        else st.clock.now - timedelta(days=DEFAULT_WINDOW_DAYS)
    )
    with st.read() as session:
        result = stage_report(session, st.clock.now, start, rep)
    out = st.output(as_json, as_csv)
    if out.fmt is Format.json:
        data = plain(result)
        out.json(data)
    elif out.fmt is Format.csv:
        rows = []
        for r in [*result.reps, result.totals]:
            row = plain(r)
            stages = row.pop("stages")
            kinds = row.pop("follow_ups_by_kind")
            row.update({f"stage_{k}": v for k, v in stages.items()})
            row.update({f"follow_ups_{k}": kinds.get(k, 0) for k in sorted(kinds)})
            rows.append(row)
        keys = list(dict.fromkeys(k for row in rows for k in row))
        out.csv(rows, keys)
    else:
        render_report(out, result)


def render_report(out: Output, result: Report) -> None:
    """The report for people: a stage funnel, the window's activity, the pool."""
    everyone = [*result.reps, result.totals] if len(result.reps) > 1 else result.reps
    funnel = out.table(
        [{"rep": r.rep, **r.stages, "customers": r.customers} for r in everyone],
        [Col("rep", "rep")]
        + [Col(s.value, STAGE_HEADERS[s], "right") for s in Stage]
        + [Col("customers", "total", "right")],
        title="Customers by stage (now)",
    )
    window = f"{out.local_date(result.since)} – {out.local_date(result.as_of)}"
    act = out.table(
        [
            {
                "rep": r.rep,
                "follow_ups": r.follow_ups,
                "kinds": ", ".join(f"{k} {n}" for k, n in sorted(r.follow_ups_by_kind.items())),
                "deals": r.deals,
                "amount": r.deal_amount,
                "claimed": r.claimed + r.assigned,
                "recycled_away": r.recycled_away,
            }
            for r in everyone
        ],
        [
            Col("rep", "rep"),
            Col("follow_ups", "follow-ups", "right"),
            Col("kinds", "by kind"),
            Col("deals", "deals", "right"),
            Col("amount", "amount", "right"),
            Col("claimed", "taken", "right"),
            Col("recycled_away", "lost to pool", "right"),
        ],
        title=f"Activity {window}",
    )
    out.console.print(Group(funnel, act))
    out.say(f"Pool: {plural(result.pool, 'customer')} waiting to be claimed.")

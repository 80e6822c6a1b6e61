"""The commission command: a month's deals and commission per rep, for payroll."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.render import Col, Format, Output, plain, plural

if TYPE_CHECKING:
    from salespool.core.commission import CommissionReport

COLUMNS = [
    Col("rep", "rep"),
    Col("deals", "deals", "right"),
    Col("direct_amount", "direct", "right"),
    Col("online_amount", "online", "right"),
    Col("amount", "amount", "right"),
    Col("commission", "commission", "right"),
]
# Shown only when commission.coach_override is on, so the table stays as it was without it.
OVERRIDE_COLUMNS = [
    Col("coach_override", "coach override", "right"),
    Col("payout", "payout", "right"),
]
OVERRIDE_LINES = [
    Col("kind", "line"),
    Col("coach", "coach"),
    Col("rookie", "rookie"),
    Col("deals", "deals", "right"),
    Col("amount", "rookie's amount", "right"),
    Col("override", "override", "right"),
]


@app.command("commission")
def commission_(
    ctx: typer.Context,
    period: Annotated[
        str, typer.Option("--period", help="The calendar month, e.g. 2026-11 (team time zone).")
    ],
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Commission per rep for a month, each deal credited to the owner then.

    The owner at the moment of a deal comes from the trail, so a customer that
    was recycled and claimed again pays each rep for their own deals; online
    deals pay the owning rep like direct ones. Rates are commission.direct and
    commission.online in the config; each deal's commission is rounded half up
    to the cent. With commission.coach_override (a share, 0 = off) each coach
    also earns that share of their rookies' deals: a "coach override" line per
    coach and rookie, and the coach's payout includes it. --csv gives one row
    per rep for payroll.

    Example: salespool commission --period 2026-11 --csv > commission-2026-11.csv
    """
    from salespool.core.commission import commission

    st = state(ctx)
    rules = st.config.commission_rules()
    with st.read() as session:
        result = commission(
            session,
            period=period,
            tz=st.clock.tz,
            rates=dict(rules.rates),
            coach_override=rules.coach_override,
        )
    out = st.output(as_json, as_csv)
    if out.fmt is Format.json:
        out.json(result)
    elif out.fmt is Format.csv:
        keys = [f.name for f in dataclasses.fields(result.totals)]
        out.csv([plain(r) for r in result.reps], keys)
    else:
        render_commission(out, result)


def render_commission(out: Output, result: CommissionReport) -> None:
    """The month for people: a table per rep with a total, and the rates used."""
    rates = ", ".join(f"{channel} {rate}" for channel, rate in result.rates.items())
    if not result.reps:
        out.say(f"No deals in {result.period}. Rates: {rates}.")
        return
    rows = [*result.reps, result.totals] if len(result.reps) > 1 else result.reps
    columns = COLUMNS + OVERRIDE_COLUMNS if result.coach_override > 0 else COLUMNS
    out.console.print(out.table(rows, columns, title=f"Commission {result.period}"))
    if result.coach_overrides:
        out.console.print(
            out.table(
                result.coach_overrides,
                OVERRIDE_LINES,
                title=f"Coach override {result.coach_override} of the rookies' deals",
            )
        )
    out.say(
        f"{plural(result.totals.deals, 'deal')}, each credited to the customer's owner at the "
        f"time. Rates: {rates}; commission rounded {result.rounding}."
    )

"""The coach command: rookies' milestones against the targets, and each coach's scorecard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.cli.report import ForceOpt, HtmlOpt, as_of_option, html_first
from salespool.render import Col, Format, Output, plain
from salespool.terms import Role

if TYPE_CHECKING:
    from salespool.core.coach import CoachingReport


def _day(value: int | None) -> str:
    return "-" if value is None else f"d{value}"


ROOKIE_COLUMNS = [
    Col("rep", "rookie"),
    Col("days_since_hire", "days", "right"),
    Col("first_follow_up_days", "f-up", "right", _day),
    Col("first_negotiation_days", "negot.", "right", _day),
    Col("first_won_days", "won", "right", _day),
    Col("deals", "deals", "right"),
    Col("deal_amount", "amount", "right"),
    Col("pool", "pool", "right"),
    Col("status", "status"),
]
CARD_COLUMNS = [
    Col("coach", "coach"),
    Col("rookies", "rookies", "right"),
    Col("qualified", "qualified", "right"),
    Col("behind", "behind", "right"),
    Col("on_track", "on track", "right"),
    Col("avg_days_to_first_deal", "avg days to 1st deal", "right"),
]


@app.command("coach")
def coach_(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="Only this coach's rookies (default: every coach).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge the rookies as they stood at this past moment."),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="The month of the coaches' override, e.g. 2026-11 (default: the current one).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    html: HtmlOpt = None,
    force: ForceOpt = False,
) -> None:
    """Each coach's rookies against the targets, and each coach's scorecard.

    Per rookie: days since hire, first follow-up, first negotiation and first
    won deal (as day numbers after hire), deals and amount, pool customers
    taken and converted, and a status: on track, behind, or qualified (ready
    for `rep set NAME --role rep`). Targets come from the config:
    coaching.first_follow_up_days, coaching.first_negotiation_days and
    coaching.first_won_days. With commission.coach_override on, the scorecard
    shows what each coach earned on their rookies' deals in the month.

    --html FILE writes the same as one HTML page, a timeline per rookie with
    the late milestones in red; an existing FILE is replaced only with --force.

    Example: salespool coach carol
    Example: salespool coach --html coaching.html
    """
    from salespool.core.coach import coaching

    st = state(ctx)
    html_first(html, force, as_json, as_csv)
    end = as_of_option(st.clock, as_of)
    with st.read() as session:
        result = coaching(
            session,
            as_of=end,
            targets=st.config.coach_targets(),
            coach=name,
            tz=st.clock.tz,
            coach_override=st.config.commission_rules().coach_override,
            period=period,
        )
    if html is not None:
        from salespool.core.overview import rules_in_force
        from salespool.pages import coach_html, write_page

        settings = {s.key: s.value for s in st.config.rows()}
        rules = rules_in_force(settings, ("coaching.", "commission."))
        write_page(html, coach_html(result, st.clock.tz, rules), force)
        st.output(False, False).say(f"Wrote the coaching report to {html}")
        return
    out = st.output(as_json, as_csv)
    if out.fmt is Format.json:
        out.json(result)
    elif out.fmt is Format.csv:
        rows = [plain(r) for r in result.rookies]
        for row in rows:
            row["missed"] = "; ".join(row["missed"])
        keys = list(rows[0]) if rows else ["rep", "coach", "status"]
        out.csv(rows, keys)
    else:
        render_coaching(out, result, name)


def render_coaching(out: Output, result: CoachingReport, name: str | None) -> None:
    """Rookies for people: their milestones as day numbers, the scorecard, who is ready."""
    from salespool.core.coach import QUALIFIED

    if not result.rookies:
        out.say(f"{name} coaches no one yet." if name else "No rep has a coach yet.")
        return
    t = result.targets
    out.say(
        f"As of {out.local_date(result.as_of)}; targets in days from hire: first follow-up "
        f"d{t.first_follow_up_days}, negotiation d{t.first_negotiation_days}, won deal "
        f"d{t.first_won_days}. pool: customers taken from the pool that became deals / taken."
    )
    tables = [
        out.table(
            [
                {**vars(r), "pool": f"{r.converted}/{r.taken_from_pool}"}
                for r in result.rookies
                if r.coach == card.coach
            ],
            ROOKIE_COLUMNS,
            title=f"Coached by {card.coach}",
        )
        for card in result.coaches
        if card.rookies
    ]
    cards = CARD_COLUMNS
    if result.override_period is not None:  # only with commission.coach_override on
        cards = [
            *CARD_COLUMNS,
            Col("coach_override", f"override {result.override_period}", "right"),
        ]
    tables.append(out.table(result.coaches, cards, title="Coaches"))
    out.console.print(Group(*tables))
    for r in result.rookies:
        if r.missed:
            out.say(f"{r.rep} is behind: missed {', '.join(r.missed)}.")
    ready = [r.rep for r in result.rookies if r.status == QUALIFIED and r.role == Role.rookie]
    for rep in ready:
        out.say(f"{rep} is qualified: salespool rep set {rep} --role rep")

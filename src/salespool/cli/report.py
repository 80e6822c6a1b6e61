"""The stage report command."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.table import Table

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.errors import BadInput
from salespool.render import Col, Format, Output, bar, fancy_chars, plain, plural, sparkline
from salespool.rules import HuntingRules
from salespool.terms import FollowUpKind, Stage

if TYPE_CHECKING:
    from salespool.clock import Clock
    from salespool.core.report import Report

DEFAULT_WINDOW_DAYS = 30
HtmlOpt = Annotated[
    Path | None,
    typer.Option(
        "--html",
        metavar="FILE",
        help="Write one self-contained HTML page (charts, no network needed) to FILE.",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing --html file.")]
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
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Run the report as it would have been at this moment, read back from the trail.",
        ),
    ] = None,
    weeks: Annotated[
        bool,
        typer.Option(
            "--pool-weeks",
            help="Add the pool's flow per calendar week: recycled and released in, claimed "
            "and assigned out, its size at each week's end (pool_weeks in --json).",
        ),
    ] = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    html: HtmlOpt = None,
    force: ForceOpt = False,
) -> None:
    """Per rep: customers by stage now, and follow-ups, deals, claims and recycling in the window.

    Also hunting (follow-ups on prospecting/negotiating customers, or on
    customers taken from the pool in the window) against farming (won,
    maintaining, deepening), new customers, the hunting share per period, and
    the order-followers (跟单): reps whose hunting share stayed under
    `hunting.threshold` over the last `hunting.periods` periods together and in
    the latest one with follow-ups. --as-of runs the report as it stood at a
    past moment: owners and stages are read back from the trail.

    --html FILE writes the manager's page instead: the funnel, the hunting-share
    heat map, the pool's weekly flow, the rookies' milestones and the month's
    commission, with the rules in force; an existing FILE is replaced only with --force.

    Example: salespool report --rep alice --since 2026-11-01
    Example: salespool report --as-of 2026-10-31 --json
    Example: salespool report --html team.html
    """
    from salespool.core.report import stage_report

    st = state(ctx)
    html_first(html, force, as_json, as_csv)
    end = as_of_option(st.clock, as_of)
    start = st.clock.parse(since, "--since") if since else end - timedelta(days=DEFAULT_WINDOW_DAYS)
    if start > end:  # core says so too, as about `since`; this is the wording people know
        raise BadInput("--since is after the report's end")
    # What the stage report and the page both read: one window, one rep, the same rules.
    window = {
        "as_of": end,
        "since": start,
        "rep": rep,
        "tz": st.clock.tz,
        "hunting": st.config.hunting_rules(),
        "reconstruct": as_of is not None,
    }
    if html is not None:
        write_report_page(st, html, force, window)
        return
    with st.read() as session:
        result = stage_report(session, **window, weekly=weeks)
    out = st.output(as_json, as_csv)
    if out.fmt is Format.json:
        data = plain(result)
        if not weeks:  # the document stays as it was unless asked for the weeks
            del data["pool_weeks"]
        out.json(data)
    elif out.fmt is Format.csv:
        rows = []
        for r in [*result.reps, result.totals]:
            row = plain(r)
            stages = row.pop("stages")
            kinds = row.pop("follow_ups_by_kind")
            history = row.pop("hunting_history")
            row.update({f"stage_{k}": v for k, v in stages.items()})
            # Every kind, 0 where none: the same columns whatever this window holds.
            row.update({f"follow_ups_{k.value}": kinds.get(k.value, 0) for k in FollowUpKind})
            row.update({f"hunting_share_{p['period']}": p["hunting_share"] for p in history})
            row.update(online_columns(row.pop("online_history")))
            rows.append(row)
        keys = list(dict.fromkeys(k for row in rows for k in row))
        out.csv(rows, keys)
    else:
        render_report(out, result)


def html_first(html: Path | None, force: bool, as_json: bool, as_csv: bool) -> None:
    """Refuse a page that cannot be written before any work: with --json/--csv, over an
    existing file without --force, into a missing folder."""
    if html is None:
        return
    if as_json or as_csv:
        raise BadInput("--html writes a file; it cannot be combined with --json or --csv")
    from salespool.files import refuse_overwrite

    refuse_overwrite(html, force, "html")


def write_report_page(st, html: Path, force: bool, window: dict[str, Any]) -> None:
    """`report --html`: the page from the same core results `report --json` prints;
    `window` holds the arguments the stage report is given (as_of, since, rep, tz,
    hunting, reconstruct)."""
    from salespool.core.overview import report_page, rules_in_force
    from salespool.pages import report_html, write_page

    config = st.config
    with st.read() as session:
        page = report_page(
            session,
            **window,
            targets=config.coach_targets(),
            commission_rules=config.commission_rules(),
            rules=rules_in_force({s.key: s.value for s in config.rows()}),
        )
    write_page(html, report_html(page), force)
    st.output(False, False).say(f"Wrote the report to {html}")


def render_report(out: Output, result: Report) -> None:
    """The report for people: a stage funnel, the window's activity, the pool."""
    everyone = [*result.reps, result.totals] if len(result.reps) > 1 else result.reps
    fancy = fancy_chars()
    most = max((r.customers for r in result.reps), default=0)
    funnel = out.table(
        [
            {
                "rep": r.rep,
                **r.stages,
                "customers": r.customers,
                # The TOTAL row has no bar: it would dwarf everyone's.
                "bar": "" if r is result.totals else bar(r.customers, most, BAR_WIDTH, fancy),
            }
            for r in everyone
        ],
        [Col("rep", "rep")]
        + [Col(s.value, STAGE_HEADERS[s], "right") for s in Stage]
        + [Col("customers", "total", "right"), Col("bar", "", no_wrap=True)],
        title=(
            f"Customers by stage (as of {out.cell(result.as_of)})"
            if result.reconstructed
            else "Customers by stage (now)"
        ),
    )
    window = f"{out.local_date(result.since)} – {out.local_date(result.as_of)}"
    act = out.table(
        [
            {
                "rep": r.rep,
                "follow_ups": r.follow_ups,
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
            Col("deals", "deals", "right"),
            Col("amount", "amount", "right", fmt=lambda v: f"{v:,.2f}"),
            Col("claimed", "taken", "right"),
            Col("recycled_away", "lost to pool", "right"),
        ],
        title=f"Activity {window}",
    )
    kinds = out.table(
        [{"rep": r.rep, **r.follow_ups_by_kind} for r in everyone],
        [Col("rep", "rep")]
        + [
            Col(kind.value, kind.value, "right", fmt=lambda v: str(v or 0)) for kind in FollowUpKind
        ],
        title="Follow-ups by kind",
    )
    parts = [funnel, act, kinds]
    reasons = _release_reasons(result.totals.released_by_reason)
    if reasons:
        released = out.table(
            [{"rep": r.rep, **r.released_by_reason} for r in everyone],
            [Col("rep", "rep")] + [Col(k, k, "right", fmt=lambda v: str(v or 0)) for k in reasons],
            title=f"Releases by reason {window}",
        )
        released.min_width = len(released.title)  # a narrow table: keep its title on one line
        parts.append(released)
    if len(result.pools) > 1:  # only the default pool: the line below says it all
        parts.append(
            out.table(
                result.pools,
                [
                    Col("pool", "pool"),
                    Col("size", "waiting", "right"),
                    Col("in", "in", "right"),
                    Col("out", "out", "right"),
                    Col("median_days_in_pool", "median days", "right", fmt=_days_text),
                ],
                title=f"Pools {window}",
            )
        )
    if result.hunting_rule is not None:
        parts.extend(hunting_tables(out, everyone, result.hunting_rule))
        parts.extend(t_model_tables(out, everyone, result.hunting_rule))
    if result.pool_weeks:
        parts.append(pool_weeks_table(out, result))
    out.console.print(Group(*parts))
    followers = [r.rep for r in result.reps if r.order_follower]
    if result.hunting_rule is not None and followers:
        threshold = percent(float(result.hunting_rule.threshold))
        rule = result.hunting_rule
        out.say(
            f"{ORDER_FOLLOWER} order-follower (跟单): hunting share under {threshold} over the "
            f"last {rule.periods} {rule.period}s and in the latest: {', '.join(followers)}"
        )
    # Names the columns as their headers spell them (the kinds' columns need no legend).
    out.say("taken: claimed or assigned from the pool; lost to pool: recycled away.")
    if result.hunting_rule is not None:
        out.say(
            "referrals: customers created in the window referred by the rep's customers; "
            "buying: customers with a deal credited to the rep; repeat: with 2 or more."
        )
    out.say(f"Pool: {plural(result.pool, 'customer')} waiting to be claimed.")


ORDER_FOLLOWER = "(!)"


def pool_weeks_table(out: Output, result: Report) -> Table:
    """--pool-weeks for people: a row per calendar week, in and out, the size at its end."""
    return out.table(
        [{**vars(w), "from": out.local_date(w.start)} for w in result.pool_weeks],
        [
            Col("week", "week", no_wrap=True),
            Col("from", "from", no_wrap=True),
            Col("recycled", "recycled", "right"),
            Col("released", "released", "right"),
            Col("claimed", "claimed", "right"),
            Col("assigned", "assigned", "right"),
            Col("size", "pool at end", "right"),
        ],
        title="Pool per week",
    )


BAR_WIDTH = 10  # the funnel's bar for the rep with the most customers, in cells


def _release_reasons(total: dict[str, int]) -> list[str]:
    """The reasons releases gave, most used first, "(no reason)" last; none when no
    release gave one (then the table would say nothing the activity table does not)."""
    from salespool.core.report import NO_REASON

    if not any(k != NO_REASON for k in total):
        return []
    return sorted(total, key=lambda k: (k == NO_REASON, -total[k], k))


def _days_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def as_of_option(clock: Clock, text: str | None) -> datetime:
    """The report's moment: now, or a past moment typed with --as-of."""
    if text is None:
        return clock.now
    moment = clock.parse(text, "--as-of")
    if moment > clock.now:
        raise BadInput(f"--as-of: {text} is in the future")
    return moment


def percent(value: float | None) -> str:
    """0.2857 -> `29%`; nothing for no share."""
    return "" if value is None else f"{round(value * 100)}%"


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def period_label(period: str) -> str:
    """A period's column header, short so that a dozen fit in 80 columns:
    2026-11 -> `Nov`, 2026-W48 -> `W48` (the table's title gives the years)."""
    _year, _, part = period.partition("-")
    if part.startswith("W"):
        return part
    return MONTHS[int(part) - 1]


def hunting_tables(out: Output, everyone: list, rule: HuntingRules) -> list[Table]:
    """Hunting against farming in the window; then the share per period, oldest first, one
    column per period headed by its month (or week). Two tables: side by side they would
    not fit 80 columns."""
    counts = out.table(
        [
            {
                "rep": name_marked(r),
                "hunting": r.hunting,
                "farming": r.farming,
                "share": percent(r.hunting_share),
                "new": r.new_customers,
            }
            for r in everyone
        ],
        [
            Col("rep", "rep"),
            Col("hunting", "hunting", "right"),
            Col("farming", "farming", "right"),
            Col("share", "share", "right"),
            Col("new", "new", "right"),
        ],
        title="Hunting vs farming",
    )
    history = everyone[0].hunting_history if everyone else []
    if not history:
        return [counts]
    fancy = fancy_chars()
    # The sparkline's header names its first and last period: one mark per column beside it.
    span = f"{period_label(history[0].period)}{'→' if fancy else '-'}"
    span += period_label(history[-1].period)
    shares = out.table(
        [
            {
                "rep": name_marked(r),
                **{
                    f"p{n}": percent(p.hunting_share) or "-"
                    for n, p in enumerate(r.hunting_history)
                },
                "trend": sparkline([p.hunting_share for p in r.hunting_history], fancy),
            }
            for r in everyone
        ],
        [
            Col("rep", "rep"),
            *(
                Col(f"p{n}", period_label(p.period), "right", no_wrap=True)
                for n, p in enumerate(history)
            ),
            Col("trend", span, no_wrap=True),
        ],
        title=f"Hunting share by {rule.period}, {history[0].period} to {history[-1].period}",
    )
    shares.min_width = len(shares.title)  # the title carries the years: never wrapped
    return [counts, shares]


def online_columns(history: list[dict]) -> dict[str, object]:
    """A rep's online history as CSV columns, one pair per period of the rule."""
    columns: dict[str, object] = {}
    for p in history:
        columns[f"online_share_{p['period']}"] = p["online_share"]
        columns[f"online_customer_share_{p['period']}"] = p["online_customer_share"]
    return columns


def t_model_tables(out: Output, everyone: list, rule: HuntingRules) -> list[Table]:
    """The T-model for people: the online share of deal amount and of trading customers per
    period (the TOTAL row is the team's trend), then referrals and repeat orders."""
    tables = []
    history = everyone[0].online_history if everyone else []
    for key, what in (("online_share", "deal amount"), ("online_customer_share", "customers")):
        if not history:
            break
        table = out.table(
            [
                {
                    "rep": r.rep,
                    **{
                        f"p{n}": percent(getattr(p, key)) or "-"
                        for n, p in enumerate(r.online_history)
                    },
                }
                for r in everyone
            ],
            [
                Col("rep", "rep"),
                *(
                    Col(f"p{n}", period_label(p.period), "right", no_wrap=True)
                    for n, p in enumerate(history)
                ),
            ],
            title=f"Online share of {what} by {rule.period}, {history[0].period} to "
            f"{history[-1].period}",
        )
        table.min_width = len(table.title)
        tables.append(table)
    tables.append(
        out.table(
            [
                {
                    "rep": r.rep,
                    "referrals": r.referrals,
                    "buying": r.buying_customers,
                    "repeat": r.repeat_customers,
                    "rate": percent(r.repeat_rate) or "-",
                }
                for r in everyone
            ],
            [
                Col("rep", "rep"),
                Col("referrals", "referrals", "right"),
                Col("buying", "buying", "right"),
                Col("repeat", "repeat", "right"),
                Col("rate", "repeat rate", "right"),
            ],
            title="Referrals and repeat orders",
        )
    )
    return tables


def name_marked(r) -> str:
    """The rep's name, marked when they are an order-follower."""
    return f"{r.rep} {ORDER_FOLLOWER}" if r.order_follower else r.rep

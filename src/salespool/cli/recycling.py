"""Commands on recycling: lock, unlock, due, agenda, simulate, recycle."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import fields
from typing import TYPE_CHECKING, Annotated

import typer

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.cli.book import CustomerArg
from salespool.render import Col, Format, Output, plain, plural

if TYPE_CHECKING:
    from salespool.core.agenda import AgendaItem
    from salespool.core.recycle import DueCustomer
    from salespool.rules import RecycleRules, WarningRules

# A first run over a big book recycles 100,000s: people see the first ones, scripts all.
TABLE_ROWS = 100
# recycle --csv's columns: every field of a recycled customer, as --json lists them.
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No human output (for cron).")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")
]

DUE_COLUMNS = [
    Col("id", "id", "right"),
    Col("name", "customer"),
    Col("owner", "owner"),
    Col("due_date", "due"),
    Col("days_left", "in days", "right"),
    Col("reason", "rule"),
]


def clock_note(out: Output, rules: RecycleRules) -> None:
    """Say which contact resets the idle clock, when the team narrowed it."""
    if not rules.every_contact_counts:
        out.say(rules.clock_text())


def render_due(
    out: Output, rows: list[DueCustomer], within: int, ladder: WarningRules | None = None
) -> None:
    """The due list for people: a table, or a sentence when nothing is due.

    With recycle.warn set, a column gives each one's warning step today and who hears it."""
    if rows:
        columns = list(DUE_COLUMNS)
        if ladder is not None and ladder.on:

            def step(n: int | None) -> str:
                return f"{n} ({ladder.audience(n)})" if n is not None else ""

            columns.append(Col("warn_step", "warning", fmt=step))
        out.console.print(out.table(rows, columns, title=f"Due within {within} days"))
    else:
        out.say(f"nothing due within {within} days")


@app.command()
def lock(
    ctx: typer.Context,
    customer: CustomerArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it must stay with its owner.")],
    until: Annotated[
        str | None,
        typer.Option("--until", help="Lock until this moment, e.g. 2026-12-31 (default: unlock)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Keep an owned customer from being recycled, until a date or until unlocked.

    A date means its midnight in the team's time zone: --until 2027-01-01 protects
    through 31 December. Past that moment the lock no longer protects. An owner
    may hold at most claims.max_locked customers locked (0 = no limit).

    Example: salespool lock C0042 --until 2026-12-31 --reason "tender decided in December"
    """
    from salespool.core import locks

    st = state(ctx)
    ends = st.clock.parse(until, "--until") if until else None
    with st.write() as session:
        view = locks.lock(
            session,
            now=st.clock.now,
            actor=st.actor,
            customer_key=customer,
            reason=reason,
            until=ends,
            tz=st.clock.tz,
            max_locked=st.config.claim_rules(st.clock.tz).max_locked,
        )
    shown = f" until {locks.shown(ends, st.clock.tz)}" if ends else ""
    st.output(as_json).record(view, f"locked '{view.name}' (#{view.id}){shown}")


@app.command()
def unlock(
    ctx: typer.Context,
    customer: CustomerArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why the lock ends.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Lift a customer's lock: the recycling rules apply to it again.

    Example: salespool unlock C0042
    """
    from salespool.core import locks

    st = state(ctx)
    with st.write() as session:
        view = locks.unlock(
            session,
            now=st.clock.now,
            actor=st.actor,
            customer_key=customer,
            reason=reason,
            tz=st.clock.tz,
        )
    st.output(as_json).record(view, f"unlocked '{view.name}' (#{view.id})")


WithinOpt = Annotated[int, typer.Option("--within", min=0, help="Look this many days ahead.")]


@app.command("due")
def due_(
    ctx: typer.Context,
    rep: Annotated[str | None, typer.Option("--rep", help="Only this rep's customers.")] = None,
    within: WithinOpt = 7,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Customers the rules will recycle within N days, with the date and the rule.

    The date assumes nothing changes meanwhile: a follow-up, a deal or a lock
    postpones it. Customers recyclable already are due today, at the next run.
    With recycle.warn set, the table, --json and --csv give each one's warning
    step today (warn_step; see `salespool notify`).

    Example: salespool due --rep alice --within 14
    """
    from salespool.core.recycle import due

    st = state(ctx)
    with st.read() as session:
        rows = due(
            session,
            now=st.clock.now,
            tz=st.clock.tz,
            within=within,
            rep=rep,
            rules=st.config.recycle_rules(),
            ladder=st.config.warning_rules(),
        )
    out = st.output(as_json, as_csv)
    if out.fmt is Format.table:
        render_due(out, rows, within, st.config.warning_rules())
        clock_note(out, st.config.recycle_rules())
    else:
        out.listing(rows, DUE_COLUMNS)


AGENDA_COLUMNS = [
    Col("when", "when", no_wrap=True),
    Col("overdue", "", fmt=lambda late: "OVERDUE" if late else ""),
    Col("what", "what", fmt=lambda what: what.replace("_", " ")),
    Col("customer_id", "id", "right"),
    Col("customer", "customer"),
    Col("note", "note"),
]


@app.command("agenda")
def agenda_(
    ctx: typer.Context,
    rep: Annotated[str | None, typer.Option("--rep", help="Only this rep's agenda.")] = None,
    within: WithinOpt = 7,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Each rep's next steps (set with `log --next`), overdue ones flagged, and the
    customers the rules will recycle within N days.

    A later follow-up closes a step. The recycling dates are `due`'s.

    Example: salespool agenda --rep alice --within 14
    """
    from salespool.core.agenda import agenda

    st = state(ctx)
    with st.read() as session:
        items = agenda(
            session,
            now=st.clock.now,
            rules=st.config.recycle_rules(),
            rep=rep,
            within=within,
            tz=st.clock.tz,
        )
    out = st.output(as_json, as_csv)
    if out.fmt is Format.table:
        render_agenda(out, items, within)
    else:
        out.listing(items, AGENDA_COLUMNS)


def render_agenda(out: Output, items: list[AgendaItem], within: int) -> None:
    """The agenda for people: one table per rep, or a sentence when there is nothing to do."""
    if not items:
        out.say(f"nothing on the agenda within {within} days")
        return
    for rep in dict.fromkeys(i.rep for i in items):
        mine = [i for i in items if i.rep == rep]
        late = sum(i.overdue for i in mine)
        out.section(f"{rep}: {plural(len(mine), 'item')}, {late} overdue", mine, AGENDA_COLUMNS)


def parse_thresholds(text: str) -> list[int]:
    """`15,30,45,60` as distinct whole numbers of days, in the order given."""
    days = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise typer.BadParameter(
                f"'{part}' is not a whole number of days, 1 or more (e.g. 15,30,45,60)",
                param_hint="--days",
            )
        days.append(int(part))
    return list(dict.fromkeys(days))


@app.command("simulate")
def simulate_(
    ctx: typer.Context,
    days: Annotated[
        str, typer.Option("--days", help="Idle thresholds to try, comma-separated: 15,30,45,60.")
    ],
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """What `recycle --days N` would take today for each N, per rep; changes nothing.

    Locks and the deal exemption apply as they would in the real run.

    Example: salespool simulate --days 15,30,45,60
    """
    from salespool.core.recycle import simulate

    thresholds = parse_thresholds(days)
    st = state(ctx)
    rules = st.config.recycle_rules()
    with st.read() as session:
        result = simulate(session, now=st.clock.now, rules=[rules.only(n) for n in thresholds])
    out = st.output(as_json, as_csv)
    if out.fmt is Format.json:
        out.json(result)
        return
    reps = sorted({rep for sim in result.thresholds for rep in sim.by_rep})
    rows = [
        {"rep": rep, **{f"days_{s.days}": s.by_rep.get(rep, 0) for s in result.thresholds}}
        for rep in reps
    ]
    rows.append({"rep": "TOTAL", **{f"days_{s.days}": s.count for s in result.thresholds}})
    columns = [Col("rep", "rep")] + [
        Col(f"days_{s.days}", f"{s.days}+ days", "right") for s in result.thresholds
    ]
    if out.fmt is Format.csv:
        out.csv(rows, [c.key for c in columns])
        return
    out.console.print(out.table(rows, columns, title="Customers recycle --days N would take now"))
    out.say(
        "nothing to recycle at any of these thresholds"
        if not reps
        else f"{plural(len(reps), 'rep')} would lose customers; nothing was changed"
    )
    clock_note(out, rules)


@app.command()
def recycle(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            help="Recycle customers idle this many days or more, instead of the rules "
            "(the unconverted rule is off then; locks and the deal exemption still apply).",
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="If another recycle is running, wait for it instead of exiting 3."
        ),
    ] = False,
    warn_days: Annotated[
        int | None,
        typer.Option("--warn-days", min=0, help="Also list the customers due within N days."),
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Move customers into the pool by the rules: idle too long, or owned long without a deal.

    Idle thresholds come from recycle.level_days (the customer's level, if
    listed), else recycle.stage_days (its stage), else recycle.days; see
    `salespool config show`. Idle time runs from the later of the last
    follow-up (or deal) and the moment the owner got the customer, so a
    customer handed over today stays today. Locked customers and those with a
    deal in the last recycle.deal_exempt_days stay. recycle.clock_kinds and
    recycle.min_note_chars say which follow-ups count as contact (--dry-run says so).

    Only one recycle runs at a time on a store: a second one exits 3
    (another run holds the lock), or waits for the first with --wait.

    --csv lists the recycled customers, one row each, with the fields of --json's
    `recycled` list.

    Example (nightly, from cron): salespool recycle --quiet
    Example: salespool recycle --dry-run --csv > would-go.csv
    """
    from salespool.core.recycle import Recycled
    from salespool.core.recycle import recycle as recycle_customers

    st = state(ctx)
    out = st.output(as_json, as_csv, quiet=quiet)  # --json with --csv is refused before any work
    rules = st.config.recycle_rules()
    # A dry run changes nothing, so it needs no run lock.
    run_lock = nullcontext() if dry_run else st.store.exclusive("recycle", wait=wait)
    with run_lock, st.write() as session:
        result = recycle_customers(
            session,
            now=st.clock.now,
            actor=st.actor,
            rules=rules if days is None else rules.only(days),
            dry_run=dry_run,
            warn_days=warn_days,
            tz=st.clock.tz,
            ladder=st.config.warning_rules(),
        )
    if out.fmt is Format.json:
        out.json(result)
        return
    if out.fmt is Format.csv:
        # One row at a time: a first run lists 100,000s, never all of them as dicts at once.
        out.csv((plain(r) for r in result.recycled), [f.name for f in fields(Recycled)])
        return
    if result.recycled and not quiet:
        out.console.print(
            out.table(
                result.recycled[:TABLE_ROWS],
                [
                    Col("id", "id", "right"),
                    Col("name", "customer"),
                    Col("previous_owner", "was with"),
                    Col("idle_days", "idle days", "right"),
                    Col("reason", "rule"),
                ],
            )
        )
        if result.count > TABLE_ROWS:
            out.say(f"... and {result.count - TABLE_ROWS} more (--json lists every one)")
    verb = "would recycle" if dry_run else "recycled"
    rule = f"idle {days}+ days" if days is not None else "by the rules"
    out.say(f"{verb} {plural(result.count, 'customer')} {rule} into the pool")
    if dry_run:
        clock_note(out, rules)
    if result.due is not None and not quiet and warn_days is not None:
        render_due(out, result.due, warn_days, st.config.warning_rules())

"""Commands on the public pool: recycle, pool, claim, assign, release."""

from __future__ import annotations

from typing import Annotated

import typer

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.cli.book import CUSTOMER_COLUMNS, CustomerArg
from salespool.core import customers, handover
from salespool.core.recycle import recycle as recycle_customers
from salespool.render import Col, Format, plural

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No human output (for cron).")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")
]


@app.command()
def recycle(
    ctx: typer.Context,
    days: Annotated[
        int, typer.Option("--days", min=1, help="Recycle customers idle this many days or more.")
    ],
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Move customers their owner has left idle into the pool.

    Idle time runs from the later of the last follow-up (or deal) and the moment
    the owner got the customer, so a customer handed over today stays today.

    Example (nightly, from cron): salespool recycle --days 30 --quiet
    """
    st = state(ctx)
    with st.write() as session:
        result = recycle_customers(session, st.clock.now, st.actor, days, dry_run)
    out = st.output(as_json, quiet=quiet)
    if out.fmt is Format.json:
        out.json(result)
        return
    if result.recycled and not quiet:
        out.console.print(
            out.table(
                result.recycled,
                [
                    Col("id", "id", "right"),
                    Col("name", "customer"),
                    Col("previous_owner", "was with"),
                    Col("idle_days", "idle days", "right"),
                ],
            )
        )
    verb = "would recycle" if dry_run else "recycled"
    out.say(f"{verb} {plural(result.count, 'customer')} idle {days}+ days into the pool")


@app.command()
def pool(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N rows.")] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """List the pool, oldest in the pool first (the order assign hands it out).

    Example: salespool pool --limit 20
    """
    st = state(ctx)
    with st.read() as session:
        rows = customers.list_pool(session, st.clock.now, limit)
    columns = [c for c in CUSTOMER_COLUMNS if c.key not in ("owner", "idle_days")]
    columns.append(Col("pooled_at", "in pool since"))
    st.output(as_json, as_csv).listing(rows, columns, empty="the pool is empty")


@app.command()
def claim(
    ctx: typer.Context,
    customer: CustomerArg,
    rep: Annotated[str, typer.Option("--rep", help="The rep taking the customer.")],
    as_json: JsonOpt = False,
) -> None:
    """A rep takes a customer from the pool (refused if someone owns it).

    Example: salespool claim C0042 --rep erin
    """
    st = state(ctx)
    with st.write() as session:
        view = handover.claim(session, st.clock.now, st.actor, customer, rep)
    st.output(as_json).record(view, f"{view.owner} claimed '{view.name}' (#{view.id})")


@app.command()
def assign(
    ctx: typer.Context,
    customer: Annotated[
        list[str] | None,
        typer.Argument(help="Pool customers to hand out (default: oldest in the pool first)."),
    ] = None,
    to: Annotated[
        list[str] | None, typer.Option("--to", help="Rep to receive customers; repeat for more.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most N customers.")
    ] = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Hand pool customers to reps, round-robin.

    Example: salespool assign --to erin --to frank --limit 20
    """
    if not to:
        raise typer.BadParameter("name at least one rep with --to", param_hint="--to")
    st = state(ctx)
    with st.write() as session:
        result = handover.assign(
            session, st.clock.now, st.actor, to, customer or None, limit, dry_run
        )
    out = st.output(as_json, as_csv)
    if out.fmt is Format.json:
        out.json(result)
        return
    columns = [Col("id", "id", "right"), Col("name", "customer"), Col("owner", "to")]
    if out.fmt is Format.csv:
        out.listing(result.assigned, columns)
        return
    if result.assigned:
        out.console.print(out.table(result.assigned, columns))
    verb = "would assign" if dry_run else "assigned"
    out.say(f"{verb} {plural(result.count, 'pool customer')} to {', '.join(dict.fromkeys(to))}")


@app.command()
def release(
    ctx: typer.Context,
    customer: CustomerArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it goes back.")] = None,
    rep: Annotated[
        str | None, typer.Option("--rep", help="Check that this rep is the owner.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The owner gives a customer back to the pool.

    Example: salespool release C0042 --reason "moved to another province"
    """
    st = state(ctx)
    with st.write() as session:
        view = handover.release(session, st.clock.now, st.actor, customer, reason, rep)
    st.output(as_json).record(view, f"'{view.name}' (#{view.id}) is back in the pool")

"""Commands on the public pool: pool, claim, assign, release (recycling is cli/recycling.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.cli.book import CUSTOMER_COLUMNS, CustomerArg
from salespool.cli.recycling import DryRunOpt
from salespool.core.assignment import Strategy
from salespool.render import Col, Format, plural
from salespool.terms import Role

# A group whose callback lists the pool when no subcommand is given, so `salespool pool
# --limit 20` works as before; the subcommands (add, list, remove, move) are cli/pools.py.
pool_app = typer.Typer(invoke_without_command=True)
app.add_typer(pool_app, name="pool")


@pool_app.callback(invoke_without_command=True)
def pool(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N rows.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Only this pool (`default`: no rule took them).")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """List the pool, oldest in the pool first (the order assign hands it out).

    With a subcommand: add, list, remove pools and move customers between them.

    Example: salespool pool --limit 20
    Example: salespool pool --name 华北 --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from salespool.core import customers

    st = state(ctx)
    with st.read() as session:
        rows = customers.list_pool(session, now=st.clock.now, limit=limit, pool=name)
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

    Refused too, naming the rule, when the rep is inactive, at capacity
    (claims.capacity.ROLE or their own), past claims.daily_limit today, or
    within claims.cooldown_days of losing this very customer.

    Example: salespool claim C0042 --rep erin
    """
    from salespool.core import handover

    st = state(ctx)
    with st.write() as session:
        view = handover.claim(
            session,
            now=st.clock.now,
            actor=st.actor,
            customer=customer,
            rep=rep,
            rules=st.config.claim_rules(st.clock.tz),
        )
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
    strategy: Annotated[
        Strategy | None,
        typer.Option(
            "--strategy",
            help="round-robin (default), least-loaded, or rookie-first (rookies, least loaded "
            "first, before others).",
        ),
    ] = None,
    role: Annotated[
        Role | None,
        typer.Option("--role", help="Without --to: hand out to the active reps of this role."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most N customers.")
    ] = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Hand pool customers to reps by a strategy, within capacity and cooldown.

    The reps are those named with --to, else the active reps of --role, else
    (with --strategy) every active rep. Ties go by rep name, so the same pool
    always gives the same plan; --dry-run shows it with the reason for each row.

    Example: salespool assign --strategy rookie-first --limit 20 --dry-run
    """
    from salespool.core import handover

    if not to and role is None and strategy is None:
        raise typer.BadParameter(
            "name reps with --to, or choose them with --role or --strategy", param_hint="--to"
        )
    if to and role is not None:
        raise typer.BadParameter("use --to or --role, not both", param_hint="--role")
    st = state(ctx)
    with st.write() as session:
        result = handover.assign(
            session,
            now=st.clock.now,
            actor=st.actor,
            to=to or None,
            customers=customer or None,
            limit=limit,
            dry_run=dry_run,
            strategy=strategy or Strategy.round_robin,
            role=role,
            rules=st.config.claim_rules(st.clock.tz),
        )
    out = st.output(as_json, as_csv)
    if out.fmt is Format.json:
        out.json(result)
        return
    columns = [Col("id", "id", "right"), Col("name", "customer"), Col("owner", "to")]
    if dry_run:
        columns.append(Col("reason", "why"))
    if out.fmt is Format.csv:
        out.listing(result.assigned, columns)
        return
    if result.assigned:
        out.console.print(out.table(result.assigned, columns))
    for skipped in result.skipped:
        out.say(f"passed over #{skipped.id}: {skipped.reason}")
    verb = "would assign" if dry_run else "assigned"
    receivers = ", ".join(dict.fromkeys(a.owner for a in result.assigned)) or "nobody"
    out.say(f"{verb} {plural(result.count, 'pool customer')} ({result.strategy}) to {receivers}")


@app.command()
def release(
    ctx: typer.Context,
    customer: CustomerArg,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why it goes back (one of release.reasons, when set)."),
    ] = None,
    rep: Annotated[
        str | None, typer.Option("--rep", help="Check that this rep is the owner.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The owner gives a customer back to the pool.

    When the rules file lists release.reasons, --reason must be one of them.

    Example: salespool release C0042 --reason "moved to another province"
    """
    from salespool.core import handover

    st = state(ctx)
    with st.write() as session:
        view = handover.release(
            session,
            now=st.clock.now,
            actor=st.actor,
            customer=customer,
            reason=reason,
            rep=rep,
            tz=st.clock.tz,
            reasons=st.config.release_reasons(),
        )
    st.output(as_json).record(view, f"'{view.name}' (#{view.id}) is back in the pool")

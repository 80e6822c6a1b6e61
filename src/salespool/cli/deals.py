"""Deals: record one (`deal CUSTOMER --amount X`), void one (`deal void ID`), list them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.cli.book import DEAL_COLUMNS, CustomerArg
from salespool.money import parse_amount, to_decimal
from salespool.render import plain
from salespool.terms import Channel

RECORD = "record"


class DealGroup(TyperGroup):
    """`deal` is a group whose first word may be a customer: `deal C1 --amount 5` records.

    Only a first argument that names a subcommand (`void`, `record`) or asks for help
    is taken as such; anything else is the customer of the `record` form, as it always
    was. A customer literally called "void" is named `#ID` or `deal record void ...`.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [RECORD, *args]
        return super().parse_args(ctx, args)


deal_app = typer.Typer(
    cls=DealGroup,
    no_args_is_help=True,
    help="Record a deal: salespool deal CUSTOMER --amount X [--channel online] [--at W]. "
    "Void one entered by mistake: salespool deal void DEAL_ID --reason T.\n\n"
    "Example: salespool deal C0042 --amount 12000.50 --channel online\n\n"
    'Example: salespool deal void 17 --reason "entered twice"',
)
app.add_typer(deal_app, name="deal")


@deal_app.command(RECORD)
def deal_record(
    ctx: typer.Context,
    customer: CustomerArg,
    amount: Annotated[
        str,
        typer.Option(
            "--amount", help="Exact amount, e.g. 12000.50 or ¥1,234,567.89 (at most 900,000,000)."
        ),
    ],
    channel: Annotated[
        Channel, typer.Option("--channel", help="direct, or online for the web shop.")
    ] = Channel.direct,
    at: Annotated[str | None, typer.Option("--at", help="When (default now).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a deal, credited to the customer's owner (online deals too); `record` may be left out.

    Example: salespool deal C0042 --amount 12000.50 --channel online
    """
    from salespool.core import activity

    st = state(ctx)
    minor = parse_amount(amount)
    when = st.clock.parse(at, "--at") if at else None
    with st.write() as session:
        result = activity.record_deal(
            session,
            now=st.clock.now,
            actor=st.actor,
            customer=customer,
            amount_minor=minor,
            channel=channel,
            at=when,
            tz=st.clock.tz,
        )
    data = plain(result.customer)
    data["deal"] = {
        "rep": result.rep,
        "amount": to_decimal(result.amount_minor),
        "channel": result.channel,
        "at": result.at,
    }
    st.output(as_json).record(
        data,
        f"deal {to_decimal(result.amount_minor)} ({result.channel}) on '{result.customer.name}', "
        f"credited to {result.rep}; stage {result.customer.stage}",
    )


@deal_app.command("void")
def deal_void(
    ctx: typer.Context,
    deal_id: Annotated[
        str, typer.Argument(help="The deal's id, as `salespool deals` shows it.", metavar="DEAL_ID")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the deal does not count.")],
    as_json: JsonOpt = False,
) -> None:
    """Void a deal entered by mistake: it stays, marked, on the trail, and counts nowhere.

    Commission, report, coach and the recycling rules leave it out; the customer's
    stage and last contact stay as they are.

    Example: salespool deal void 17 --reason "entered twice"
    """
    from salespool.core import deals

    st = state(ctx)
    number = deals.parse_deal_id(deal_id)
    with st.write() as session:
        view = deals.void_deal(
            session, now=st.clock.now, actor=st.actor, deal_id=number, reason=reason
        )
    st.output(as_json).record(
        view, f"deal #{view.id} ({view.amount} on '{view.customer}') is void: {view.void_reason}"
    )


@app.command("deals")
def deals_(
    ctx: typer.Context,
    customer: Annotated[
        str | None,
        typer.Argument(
            help="Only this customer's deals (#ID, external_id or name).", show_default=False
        ),
    ] = None,
    rep: Annotated[
        str | None, typer.Option("--rep", help="Only deals recorded for this rep.")
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Only this month, e.g. 2026-11 (team time zone).")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """List deals with their ids, oldest first; voided ones are listed, marked.

    Example: salespool deals C0042
    Example: salespool deals --rep alice --period 2026-11 --csv
    """
    from salespool.core import deals

    st = state(ctx)
    with st.read() as session:
        rows = deals.list_deals(session, tz=st.clock.tz, customer=customer, rep=rep, period=period)
    st.output(as_json, as_csv).listing(rows, DEAL_COLUMNS, empty="no deals match")

"""Commands that correct one customer: edit its details, merge two records of it."""

from __future__ import annotations

from typing import Annotated

import typer

from salespool.cli.app import JsonOpt, app, state
from salespool.cli.book import CustomerArg
from salespool.errors import BadInput
from salespool.render import plain, plural

customer_app = typer.Typer(
    help="Correct a customer: fix typed details (edit) or join two records of one company (merge).",
    no_args_is_help=True,
)
app.add_typer(customer_app, name="customer")


def _field(option: str, what: str) -> typer.Option:
    return typer.Option(option, help=f"New {what}; '' clears it.", show_default=False)


@customer_app.command("edit")
def edit(
    ctx: typer.Context,
    customer: CustomerArg,
    name: Annotated[
        str | None, typer.Option("--name", help="New name (cannot be cleared).", show_default=False)
    ] = None,
    phone: Annotated[str | None, _field("--phone", "phone")] = None,
    email: Annotated[str | None, _field("--email", "e-mail")] = None,
    contact: Annotated[str | None, _field("--contact", "contact person")] = None,
    city: Annotated[str | None, _field("--city", "city")] = None,
    level: Annotated[str | None, _field("--level", "level")] = None,
    external_id: Annotated[str | None, _field("--external-id", "external id")] = None,
    referred_by: Annotated[
        str | None,
        typer.Option(
            "--referred-by",
            help="The customer who referred this one (#ID, external id or name); '' clears it.",
            show_default=False,
        ),
    ] = None,
    no_referred_by: Annotated[
        bool, typer.Option("--no-referred-by", help="Clear who referred this customer.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fix a customer's typed details; the keys imports match on follow.

    Refused if the new external id, phone or e-mail is another customer's.
    Owner and stage are not edited here (claim, assign, release, log --stage).

    Example: salespool customer edit C0042 --phone 13800138000 --email ''
    Example: salespool customer edit C0107 --referred-by C0042
    """
    from salespool.core import corrections

    if no_referred_by and referred_by is not None:
        raise BadInput("--referred-by and --no-referred-by: choose one")
    st = state(ctx)
    changes = {
        "name": name,
        "external_id": external_id,
        "contact": contact,
        "phone": phone,
        "email": email,
        "city": city,
        "level": level,
        "referred_by": "" if no_referred_by else referred_by,
    }
    try:
        with st.write() as session:
            result = corrections.edit_customer(
                session,
                now=st.clock.now,
                actor=st.actor,
                customer=customer,
                changes=changes,
                region=st.config["phone_region"],
            )
    except corrections.NothingToChange:
        raise BadInput(
            "nothing to change: give --name, --external-id, --contact, --phone, --email, "
            "--city, --level or --referred-by"
        ) from None
    data = plain(result.customer)
    data["changed"] = result.changed
    data["pool_moved"] = result.pool_moved
    view = result.customer
    if result.changed:
        said = "; ".join(
            f"{k} {_shown(c['old'])} -> {_shown(c['new'])}" for k, c in result.changed.items()
        )
        sentence = f"edited #{view.id} {view.name}: {said}"
        if result.pool_moved:
            moved = result.pool_moved
            sentence += f"; moved from pool {moved['from']} to {moved['to']} by the pools' rules"
    else:
        sentence = f"#{view.id} {view.name}: nothing changed (the values are already so)"
    st.output(as_json).record(data, sentence)


@customer_app.command("merge")
def merge(
    ctx: typer.Context,
    keep: Annotated[str, typer.Argument(help="The customer that stays.", show_default=False)],
    drop: Annotated[
        str, typer.Argument(help="The duplicate merged into KEEP, then gone.", show_default=False)
    ],
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="When both are owned by different reps: which one keeps it."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge DROP into KEEP: follow-ups, deals and history move to KEEP; DROP's id points to it.

    KEEP's details win; the ones it lacks come from DROP.

    Example: salespool customer merge C0042 C0107 --owner alice
    """
    from salespool.core import corrections

    st = state(ctx)
    with st.write() as session:
        result = corrections.merge_customers(
            session,
            now=st.clock.now,
            actor=st.actor,
            keep=keep,
            drop=drop,
            owner=owner,
            region=st.config["phone_region"],
        )
    data = plain(result.customer)
    data["merged"] = {**result.dropped, "taken": result.taken, **result.moved}
    view, gone, moved = result.customer, result.dropped, result.moved
    st.output(as_json).record(
        data,
        f"merged #{gone['id']} {gone['name']} into #{view.id} {view.name}: "
        f"{plural(moved['follow_ups'], 'follow-up')}, {plural(moved['deals'], 'deal')}, "
        f"{plural(moved['events'], 'event')} moved; owner {view.owner or '(pool)'}, "
        f"stage {view.stage}",
    )


def _shown(value: object) -> str:
    return "(none)" if value is None else repr(value)

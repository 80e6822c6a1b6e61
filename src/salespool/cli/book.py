"""Commands on the customer book: init, reps, import, customers, log, history, show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.core.vocabulary import KINDS_SHOWN, kind_of
from salespool.errors import BadInput
from salespool.render import Col, Output, plural
from salespool.terms import FollowUpKind, Role, Stage, parse_stage

if TYPE_CHECKING:
    from salespool.core import customers, story

CUSTOMER_COLUMNS = [
    Col("id", "id", "right"),
    Col("external_id", "ext id"),
    Col("name", "name"),
    Col("owner", "owner"),
    Col("stage_shown", "stage"),  # the stage, marked "(locked)" when a lock protects it
    Col("idle_days", "idle", "right"),
    Col("last_contact_at", "last contact"),
]

CustomerArg = Annotated[
    str,
    typer.Argument(
        help="#ID (always the internal id), an external_id, a bare id, or the exact name.",
        show_default=False,
    ),
]


def stage_option(value: str | None) -> Stage | None:
    """Parse --stage, accepting the Chinese labels too."""
    if value is None:
        return None
    try:
        return parse_stage(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a stage (use one of: {', '.join(s.value for s in Stage)})"
        ) from None


def kind_option(value: str) -> FollowUpKind:
    """Parse --kind by the vocabulary's table: call, ... or 电话, 微信, ...; one line otherwise."""
    kind = kind_of(value)
    if kind is None:
        raise typer.BadParameter(
            f"'{value}' is not one of {KINDS_SHOWN}",
            param_hint="--kind",
        )
    return FollowUpKind(kind)


KindOpt = Annotated[
    str,
    typer.Option(
        "--kind",
        metavar="KIND",
        help=f"How they followed up: {KINDS_SHOWN}.",
        show_default=False,
    ),
]
StageOpt = Annotated[
    str | None,
    typer.Option(
        "--stage", help="prospecting, negotiating, won, maintaining, deepening, lost (or 中文)."
    ),
]


@app.command()
def init(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Create the store (nothing happens if it exists).

    Example: salespool --db team.db init
    """
    st = state(ctx)
    store = st.create_store()
    out = st.output(as_json)
    where = str(store.path) if store.path else store.display
    out.record(
        {"db": where, "schema_version": store.schema_version()},
        f"store ready at {where}",
    )


rep_app = typer.Typer(help="Add and list reps; a rep leaving sends their book to the pool.")
app.add_typer(rep_app, name="rep")

REP_COLUMNS = [
    Col("name", "rep"),
    Col("role", "role"),
    Col("coach", "coach"),
    Col("customers", "customers", "right"),
    Col("effective_capacity", "capacity", "right"),
    Col("status", "status"),
    Col("hired_at", "hired", date_only=True),
]  # JSON and CSV carry every field, the rep's database `login` too

LoginOpt = Annotated[
    str | None,
    typer.Option(
        "--login",
        help="The database login acting as this rep on a team store (default: the name "
        "lower-cased).",
    ),
]


@rep_app.command("add")
def rep_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rep's unique name.")],
    role: Annotated[Role, typer.Option("--role", help="rookie, rep, coach or manager.")] = Role.rep,
    coach: Annotated[str | None, typer.Option("--coach", help="The rep coaching them.")] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", min=0, help="Most customers they may own.")
    ] = None,
    hired: Annotated[str | None, typer.Option("--hired", help="Hire date (default now).")] = None,
    login: LoginOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a rep.

    Example: salespool rep add erin --role rookie --coach carol --capacity 30
    """
    from salespool.core import reps

    st = state(ctx)
    hired_at = st.clock.parse(hired, "--hired") if hired else None
    with st.write() as session:
        view = reps.add_rep(
            session,
            now=st.clock.now,
            name=name,
            role=role,
            coach=coach,
            capacity=capacity,
            hired_at=hired_at,
            login=login,
        )
    coached = f", coached by {view.coach}" if view.coach else ""
    st.output(as_json).record(view, f"added {view.role} {view.name}{coached}")


@rep_app.command("set")
def rep_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rep to change.")],
    coach: Annotated[str | None, typer.Option("--coach", help="Their new coach.")] = None,
    no_coach: Annotated[bool, typer.Option("--no-coach", help="They have no coach now.")] = False,
    role: Annotated[
        Role | None, typer.Option("--role", help="New role (promote a rookie: --role rep).")
    ] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", min=0, help="Most customers they may own.")
    ] = None,
    role_capacity: Annotated[
        bool, typer.Option("--role-capacity", help="Drop their own capacity: the role's applies.")
    ] = False,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="Inactive reps keep their book, receive nothing."),
    ] = None,
    login: LoginOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a rep's coach, role, capacity, or whether they receive customers.

    Example: salespool rep set erin --role rep --coach carol --capacity 120
    """
    from salespool.core import reps

    st = state(ctx)
    try:
        with st.write() as session:
            view = reps.set_rep(
                session,
                name=name,
                coach=coach,
                no_coach=no_coach,
                role=role,
                capacity=capacity,
                role_capacity=role_capacity,
                active=active,
                login=login,
            )
    except reps.NothingToSet:
        raise BadInput(
            "nothing to set: give --coach, --no-coach, --role, --capacity, --role-capacity, "
            "--active, --inactive or --login"
        ) from None
    status = view.status
    cap = view.capacity if view.capacity is not None else "role default"
    coached = f", coached by {view.coach}" if view.coach else ""
    st.output(as_json).record(view, f"{view.name}: {view.role}, capacity {cap}, {status}{coached}")


@rep_app.command("list")
def rep_list(
    ctx: typer.Context,
    include_left: Annotated[bool, typer.Option("--all", help="Include reps who left.")] = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Reps with their role, coach, customers owned, the capacity that applies and hire date.

    Example: salespool rep list
    """
    from salespool.core import reps

    st = state(ctx)
    with st.read() as session:
        rows = reps.list_reps(
            session, include_left=include_left, claims=st.config.claim_rules(st.clock.tz)
        )
    st.output(as_json, as_csv).listing(rows, REP_COLUMNS, empty="no reps yet")


@rep_app.command("rename")
def rep_rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="The rep's name now.")],
    new: Annotated[str, typer.Argument(help="Their new, unique name.")],
    as_json: JsonOpt = False,
) -> None:
    """Rename a rep: their book, trail and deals follow (a `renamed` rep event keeps the old name).

    Example: salespool rep rename "alice" "Alice Wang"
    """
    from salespool.core import reps

    st = state(ctx)
    with st.write() as session:
        view = reps.rename_rep(session, now=st.clock.now, actor=st.actor, old=old, new=new)
    st.output(as_json).record(view, f"renamed rep {old.strip()} to {view.name}")


@rep_app.command("leave")
def rep_leave(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rep who leaves.")],
    as_json: JsonOpt = False,
) -> None:
    """A rep leaves: their whole book goes to the pool.

    Example: salespool rep leave dave
    """
    from salespool.core import reps

    st = state(ctx)
    with st.write() as session:
        result = reps.rep_leave(
            session, now=st.clock.now, actor=st.actor, name=name, tz=st.clock.tz
        )
    st.output(as_json).record(
        result, f"{result.rep} left; {plural(result.released, 'customer')} went to the pool"
    )


@app.command("customers")
def customers_(
    ctx: typer.Context,
    rep: Annotated[str | None, typer.Option("--rep", help="Only this rep's customers.")] = None,
    stage: StageOpt = None,
    pool: Annotated[bool, typer.Option("--pool", help="Only customers in the pool.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N rows.")] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="Only customers whose name, contact, e-mail, external_id or phone digits "
            "contain this text (case and full-width insensitive).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """List customers, by id (#ID names one customer in any command).

    Example: salespool customers --rep alice --stage negotiating
    Example: salespool customers --search "138 0013"
    """
    from salespool.core import customers

    st = state(ctx)
    with st.read() as session:
        rows = customers.list_customers(
            session,
            now=st.clock.now,
            rep=rep,
            stage=stage_option(stage),
            pool=pool,
            limit=limit,
            search=search,
            rules=st.config.recycle_rules(),
        )
    st.output(as_json, as_csv).listing(rows, CUSTOMER_COLUMNS, empty="no customers match")


@app.command("log")
def log(
    ctx: typer.Context,
    customer: CustomerArg,
    rep: Annotated[str, typer.Option("--rep", help="The owner who followed up.")],
    kind: KindOpt,
    note: Annotated[str | None, typer.Option("--note", help="What was said or agreed.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When (default now).")] = None,
    stage: StageOpt = None,
    next_at: Annotated[
        str | None, typer.Option("--next", help="When to follow up next, e.g. +3d.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Log a follow-up by the customer's owner; it restarts the idleness clock.

    Example: salespool log C0042 --rep alice --kind call --note "sent offer" --stage negotiating
    """
    from salespool.core import activity

    st = state(ctx)
    when = st.clock.parse(at, "--at") if at else None
    follow = st.clock.parse(next_at, "--next") if next_at else None
    new_stage = stage_option(stage)
    how = kind_option(kind)
    with st.write() as session:
        view = activity.log_followup(
            session,
            now=st.clock.now,
            actor=st.actor,
            customer=customer,
            rep=rep,
            kind=how,
            note=note,
            at=when,
            stage=new_stage,
            next_at=follow,
            tz=st.clock.tz,
        )
    moved = f"; stage {view.stage}" if new_stage else ""
    st.output(as_json).record(view, f"logged {how.value} on '{view.name}' by {rep}{moved}")


HISTORY_COLUMNS = [
    Col("at", "at"),
    Col("kind", "event"),
    Col("from_rep", "from"),
    Col("to_rep", "to"),
    Col("to_stage", "stage"),
    Col("reason", "reason"),
    Col("actor", "by"),
]


@app.command("history")
def history_(
    ctx: typer.Context, customer: CustomerArg, as_json: JsonOpt = False, as_csv: CsvOpt = False
) -> None:
    """The customer's trail: every change of owner or stage.

    Example: salespool history C0042
    """
    from salespool.core import history

    st = state(ctx)
    with st.read() as session:
        events = history.history(session, customer=customer)
    st.output(as_json, as_csv).listing(events, HISTORY_COLUMNS, empty="no events")


FOLLOW_UP_COLUMNS = [
    Col("at", "at", no_wrap=True),
    Col("rep", "rep"),
    Col("kind", "kind"),
    Col("stage", "stage"),
    Col("note", "note"),
    Col("next_at", "next step", no_wrap=True),
]
DEAL_COLUMNS = [
    Col("id", "id", "right"),
    Col("at", "at"),
    Col("customer_id", "cust", "right"),
    Col("customer", "customer"),
    Col("rep", "rep"),
    Col("amount", "amount", "right"),
    Col("channel", "channel"),
    Col("void_reason", "void", fmt=lambda reason: f"VOID: {reason}" if reason else ""),
]
# A customer's own deals: the deal columns less the customer's.
STORY_DEAL_COLUMNS = [c for c in DEAL_COLUMNS if not c.key.startswith("customer")]


@app.command("show")
def show(ctx: typer.Context, customer: CustomerArg, as_json: JsonOpt = False) -> None:
    """A customer's whole story: details, follow-ups with notes, deals, lock and trail.

    Owner and idle days first; then each part newest first, voided deals marked.

    Example: salespool show C0042
    """
    from salespool.core import story

    st = state(ctx)
    with st.read() as session:
        found = story.customer_story(
            session,
            customer=customer,
            now=st.clock.now,
            tz=st.clock.tz,
            rules=st.config.recycle_rules(),
        )
    out = st.output(as_json)
    if as_json:
        out.json(found)
        return
    render_story(out, found)


def render_story(out: Output, found: story.CustomerStory) -> None:
    """The story for people: the details, then one table per part."""
    c = found.customer
    idle = None if c.idle_days is None else plural(c.idle_days, "day")
    out.details(
        [
            ("owner", c.owner or "(pool)"),
            ("stage", c.stage),
            ("idle", idle),
            ("owned since", c.owned_since),
            ("in pool since", c.pooled_at),
            ("last contact", c.last_contact_at),
            ("clock from", _clock(out, found)),
            ("lock", _lock(out, c)),
            ("contact", c.contact),
            ("phone", c.phone),
            ("email", c.email),
            ("city", c.city),
            ("level", c.level),
            ("referred by", f"#{c.referred_by_id} {c.referred_by}" if c.referred_by_id else None),
            ("created", c.created_at),
        ],
        title=f"#{c.id} {c.name}" + (f" ({c.external_id})" if c.external_id else ""),
    )
    out.section("Follow-ups", found.follow_ups, FOLLOW_UP_COLUMNS)
    out.section("Deals", found.deals, STORY_DEAL_COLUMNS)
    out.section("Trail", found.events, HISTORY_COLUMNS)


def _clock(out: Output, found: story.CustomerStory) -> str | None:
    """The clock line: the moment idle days count from, and what happened then."""
    clock = found.clock_from
    if clock is None:
        return None
    what = "got it" if clock.kind == "owned" else clock.kind
    return f"{out.cell(clock.at)} ({what})"


def _lock(out: Output, c: customers.CustomerView) -> str | None:
    """The lock line: whether it protects now, until when, and why."""
    if c.lock_reason is None:
        return None
    until = f" until {out.cell(c.locked_until)}" if c.locked_until else ""
    state_ = "locked" if c.locked else "expired"
    return f"{state_}{until}: {c.lock_reason}"

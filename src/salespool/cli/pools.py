"""Several pools: `pool add`, `set`, `list`, `remove` and `move` (the listing is cli/pool.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from salespool.cli.app import CsvOpt, JsonOpt, state
from salespool.cli.book import CustomerArg
from salespool.cli.pool import pool_app
from salespool.render import Col

PoolName = Annotated[str, typer.Argument(metavar="NAME", help="The pool's name.")]


def _names(values: list[str] | None) -> list[str]:
    """Repeated options and comma lists alike: --members a,b --members rookie."""
    return [n.strip() for v in values or [] for n in v.replace("，", ",").split(",") if n.strip()]


def _stage_days(values: list[str] | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for value in values or []:
        stage, sep, days = value.partition("=")
        if not sep or not days.strip().isdigit():
            raise typer.BadParameter(f"'{value}' is not STAGE=DAYS", param_hint="--stage-days")
        found[stage.strip()] = int(days)
    return found


@pool_app.command("add")
def pool_add(
    ctx: typer.Context,
    name: PoolName,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule",
            metavar="RULE",
            help="Which customers it takes: `city in (北京, 天津)`, `level = A`, `stage != won`, "
            "`city not in (...)`, joined by `and` (fields: city, level, stage).",
        ),
    ] = None,
    members: Annotated[
        list[str] | None,
        typer.Option(
            "--members",
            metavar="REP,ROLE...",
            help="Who may claim from it: rep or role names (default everyone).",
        ),
    ] = None,
    admins: Annotated[
        list[str] | None,
        typer.Option("--admins", metavar="NAME...", help="Reps who may `pool move` its customers."),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Its own recycle.days: idle days for its customers."),
    ] = None,
    stage_days: Annotated[
        list[str] | None,
        typer.Option(
            "--stage-days", metavar="STAGE=DAYS", help="Its own idle days for a stage; repeat."
        ),
    ] = None,
    daily_limit: Annotated[
        int | None,
        typer.Option("--daily-limit", min=0, help="Its own claims.daily_limit (0: none)."),
    ] = None,
    cooldown_days: Annotated[
        int | None,
        typer.Option("--cooldown-days", min=0, help="Its own claims.cooldown_days (0: none)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a pool; customers entering the pool go to the first pool whose rule they match.

    Pools are tried in the order they were added; a customer no rule takes goes
    to the default pool. Customers already waiting stay where they are.

    Example: salespool pool add 华北 --rule 'city in (北京, 天津)' --members rookie,erin
    Example: salespool pool add A级 --rule 'level = A' --days 20 --daily-limit 5
    """
    from salespool.core import pools

    st = state(ctx)
    with st.write() as session:
        view = pools.add_pool(
            session,
            now=st.clock.now,
            name=name,
            rule=rule,
            members=_names(members),
            admins=_names(admins),
            days=days,
            stage_days=_stage_days(stage_days),
            daily_limit=daily_limit,
            cooldown_days=cooldown_days,
        )
    st.output(as_json).record(
        view, f"added pool {view.name}" + (f": {view.rule}" if view.rule else "")
    )


def _changes(changed: dict[str, dict[str, object]]) -> str:
    """`days 20 -> 15; rule none -> city = 北京` for the sentence `pool set` says."""

    def shown(value: object) -> str:
        if value is None or value == [] or value == {}:
            return "none"
        if isinstance(value, list):
            return ",".join(map(str, value))
        if isinstance(value, dict):
            return ",".join(f"{k}={v}" for k, v in value.items())
        return str(value)

    return "; ".join(f"{k} {shown(v['from'])} -> {shown(v['to'])}" for k, v in changed.items())


def _clear(flag: str, what: str) -> object:
    return typer.Option(flag, help=f"Clear {what}.")


@pool_app.command("set")
def pool_set(
    ctx: typer.Context,
    name: PoolName,
    rule: Annotated[
        str | None,
        typer.Option("--rule", metavar="RULE", help="A new rule (as `pool add --rule`)."),
    ] = None,
    no_rule: Annotated[
        bool, _clear("--no-rule", "the rule: it takes customers only by move")
    ] = False,
    members: Annotated[
        list[str] | None,
        typer.Option("--members", metavar="REP,ROLE...", help="Who may claim from it (replaces)."),
    ] = None,
    no_members: Annotated[bool, _clear("--no-members", "the members: everyone may claim")] = False,
    admins: Annotated[
        list[str] | None,
        typer.Option("--admins", metavar="NAME...", help="Who may `pool move` (replaces)."),
    ] = None,
    no_admins: Annotated[bool, _clear("--no-admins", "the admins: only managers move")] = False,
    days: Annotated[int | None, typer.Option("--days", min=1, help="Its own recycle.days.")] = None,
    no_days: Annotated[bool, _clear("--no-days", "its own days: the team's apply")] = False,
    stage_days: Annotated[
        list[str] | None,
        typer.Option(
            "--stage-days",
            metavar="STAGE=DAYS",
            help="Its own idle days for a stage (adds); repeat.",
        ),
    ] = None,
    no_stage_days: Annotated[
        bool, _clear("--no-stage-days", "its own stage days (before any --stage-days)")
    ] = False,
    daily_limit: Annotated[
        int | None, typer.Option("--daily-limit", min=0, help="Its own claims.daily_limit.")
    ] = None,
    no_daily_limit: Annotated[
        bool, _clear("--no-daily-limit", "its own daily limit: the team's applies")
    ] = False,
    cooldown_days: Annotated[
        int | None, typer.Option("--cooldown-days", min=0, help="Its own claims.cooldown_days.")
    ] = None,
    no_cooldown_days: Annotated[
        bool, _clear("--no-cooldown-days", "its own cooldown: the team's applies")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a pool in place; what is not given stays. Customers waiting stay where they are.

    Example: salespool pool set 华北 --rule 'city in (北京, 天津, 河北)' --days 15
    Example: salespool pool set A级 --no-days --members rep,rookie
    """
    from salespool.core import pools

    st = state(ctx)
    with st.write() as session:
        result = pools.set_pool(
            session,
            name=name,
            rule=rule,
            no_rule=no_rule,
            members=_names(members),
            no_members=no_members,
            admins=_names(admins),
            no_admins=no_admins,
            days=days,
            no_days=no_days,
            stage_days=_stage_days(stage_days),
            no_stage_days=no_stage_days,
            daily_limit=daily_limit,
            no_daily_limit=no_daily_limit,
            cooldown_days=cooldown_days,
            no_cooldown_days=no_cooldown_days,
        )
    what = _changes(result.changed) if result.changed else "nothing changed"
    st.output(as_json).record(result, f"pool {result.pool.name}: {what}")


def _overrides(view) -> str:
    parts = [f"days {view.days}"] if view.days is not None else []
    parts += [f"{stage} {n}" for stage, n in view.stage_days.items()]
    if view.daily_limit is not None:
        parts.append(f"daily limit {view.daily_limit}")
    if view.cooldown_days is not None:
        parts.append(f"cooldown {view.cooldown_days}")
    return ", ".join(parts)


@pool_app.command("list")
def pool_list(ctx: typer.Context, as_json: JsonOpt = False, as_csv: CsvOpt = False) -> None:
    """The pools in routing order (the default pool first), with rule, members and size.

    Example: salespool pool list
    """
    from salespool.core import pools

    st = state(ctx)
    with st.read() as session:
        rows = pools.list_pools(session)
    out = st.output(as_json, as_csv)
    if out.fmt.value == "table":
        rows = [
            {
                "name": v.name,
                "rule": v.rule or ("(what no rule takes)" if v.name == "default" else ""),
                "members": ", ".join(v.members) or "everyone",
                "admins": ", ".join(v.admins),
                "overrides": _overrides(v),
                "size": v.size,
            }
            for v in rows
        ]
    columns = [
        Col("name", "pool"),
        Col("rule", "rule"),
        Col("members", "members"),
        Col("admins", "admins"),
        Col("size", "waiting", "right"),
    ]
    if out.fmt.value == "table":
        columns.insert(4, Col("overrides", "own rules"))
    out.listing(rows, columns, empty="no pools")


@pool_app.command("remove")
def pool_remove(ctx: typer.Context, name: PoolName, as_json: JsonOpt = False) -> None:
    """Remove a pool; the customers waiting in it move to the default pool (with an event).

    Example: salespool pool remove 华北
    """
    from salespool.core import pools

    st = state(ctx)
    with st.write() as session:
        result = pools.remove_pool(session, now=st.clock.now, actor=st.actor, name=name)
    moved = f"; {result.moved} customer(s) moved to the default pool" if result.moved else ""
    st.output(as_json).record(result, f"removed pool {result.name}{moved}")


@pool_app.command("move")
def pool_move(
    ctx: typer.Context,
    customer: CustomerArg,
    to: Annotated[str, typer.Option("--to", metavar="NAME", help="The pool it goes to.")],
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="NAME",
            help="The rep moving it: a manager or an admin of its pool (default SALESPOOL_ACTOR).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a pool customer to another pool (managers, and admins of the pool it is in).

    Example: salespool pool move C0042 --to 华北 --by mia
    """
    from salespool.core import pools

    st = state(ctx)
    with st.write() as session:
        view = pools.move(
            session,
            now=st.clock.now,
            actor=st.actor,
            customer=customer,
            to=to,
            by=by or st.actor,
            tz=st.clock.tz,
        )
    st.output(as_json).record(view, f"'{view.name}' (#{view.id}) is in pool {to} now")

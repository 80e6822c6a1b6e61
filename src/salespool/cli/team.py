"""`salespool team setup|grant|revoke|list`: a team on PostgreSQL, enforced by the database."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from salespool.cli.app import CsvOpt, JsonOpt, app, state
from salespool.errors import BadInput
from salespool.render import Col

team_app = typer.Typer(
    help="A team on PostgreSQL: each person logs in as themselves and the database "
    "enforces what a rep, coach or manager may see and do."
)
app.add_typer(team_app, name="team")


class TeamRole(StrEnum):
    """The team roles a login may hold (group roles PREFIX_rep, _coach, _manager)."""

    rep = "rep"
    coach = "coach"
    manager = "manager"


MEMBER_COLUMNS = [
    Col("login", "login"),
    Col("role", "role"),
    Col("rep", "rep"),
    Col("can_login", "can log in"),
]


@team_app.command("setup")
def setup(
    ctx: typer.Context,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help="Group role names: PREFIX_rep, _coach, _manager (default salespool_<database>).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the team's group roles, row-level security and limits (run it as the owner
    of the store; running it again brings it up to date).

    Example: salespool --db postgresql+psycopg://owner@db/sales team setup
    """
    from salespool.core import team

    st = state(ctx)
    with st.write() as session:
        result = team.setup(session, prefix=prefix, claims=st.config.claim_rules(st.clock.tz))
    st.output(as_json).record(
        result,
        f"team ready: roles {', '.join(result.roles)}; {result.tables} tables under the "
        "team's privileges (grant logins with: salespool team grant LOGIN --role rep)",
    )


@team_app.command("grant")
def grant(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The database login (created if missing).")],
    role: Annotated[TeamRole, typer.Option("--role", help="rep, coach or manager.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Set the login's password from the first line of stdin."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Give a login its role in the team (a rep's or coach's login is `rep set NAME --login`).

    A new login has no password: set one with --password-stdin, or ALTER ROLE ... PASSWORD.

    Example: salespool team grant alice --role rep
    Example: printf '%s\\n' "$PW" | salespool team grant carol --role coach --password-stdin
    """
    from salespool.core import team

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("--password-stdin: stdin gave no password")
    st = state(ctx)
    with st.write() as session:
        member = team.grant(session, login=login, role=role.value, password=password)
    acts = f" (rep {member.rep})" if member.rep else ""
    st.output(as_json).record(member, f"{member.login}{acts} is a {member.role} of the team")


@team_app.command("revoke")
def revoke(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The login losing its team role.")],
    as_json: JsonOpt = False,
) -> None:
    """Take a login's team role away (the login itself stays: it may serve elsewhere).

    Example: salespool team revoke dave
    """
    from salespool.core import team

    st = state(ctx)
    with st.write() as session:
        held = team.revoke(session, login=login)
    st.output(as_json).record(
        {"login": login, "revoked": held}, f"{login} is no longer a {' or '.join(held)}"
    )


@team_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False, as_csv: CsvOpt = False) -> None:
    """The logins with a role in the team, and the rep each acts as.

    Example: salespool team list --json
    """
    from salespool.core import team

    st = state(ctx)
    with st.read() as session:
        rows = team.members(session)
    st.output(as_json, as_csv).listing(rows, MEMBER_COLUMNS, empty="no logins in the team yet")

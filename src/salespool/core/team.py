"""Team mode: who is acting, and what a rep may ask of the CLI on a team store.

On PostgreSQL after `team setup` the acting person is the database login, and the
database itself refuses what a login may not do (storage/team.py). This module
refuses it first, in words: `--rep` may only name yourself unless you are a manager
(a coach may `log` for their own rookies), and the commands that change the team
(assign, recycle, rep changes, imports, corrections, rules) are a manager's.
On SQLite, and before `team setup`, nothing here refuses anything.
"""

from __future__ import annotations

from sqlmodel import Session

from salespool.errors import Refused
from salespool.models import Rep
from salespool.rules import ClaimRules
from salespool.storage import team as storage
from salespool.storage.team import Member, SetupResult, Who

# The writes a rep or coach may run on a team store; every other write is a manager's.
REP_WRITES = frozenset({"claim", "release", "log", "deal", "deal record", "lock", "unlock"})

__all__ = ["Member", "SetupResult", "Who", "acting", "ensure_acting", "ensure_may_write"]


def acting(session: Session) -> Who | None:
    """The person acting on a team store (None on SQLite or before `team setup`)."""
    return storage.who(session)


def actor(session: Session, fallback: str) -> str:
    """Who the trail names: the login on a team store, else `fallback` (SALESPOOL_ACTOR)."""
    person = acting(session)
    return person.login if person is not None else fallback


def ensure_acting(session: Session, rep: Rep, *, for_rookie: bool = False) -> None:
    """Refuse acting as `rep` unless it is yourself or you are a manager (with
    `for_rookie`, a coach may act for their own rookies)."""
    person = acting(session)
    if person is None or person.privileged or rep.id == person.rep_id:
        return
    if for_rookie and person.role == "coach" and rep.id in person.rookies:
        return
    you = person.rep or person.login
    raise Refused(
        f"you are {you} ({person.login}); only a manager may act for {rep.name}", option="rep"
    )


def ensure_may_write(session: Session, command: str) -> None:
    """Refuse a write command a rep or coach may not run on a team store."""
    person = acting(session)
    if person is None or person.privileged or command in REP_WRITES:
        return
    if person.role is None:
        raise Refused(
            f"{command}: the login {person.login} has no role in this team "
            "(a manager gives it one with `salespool team grant`)"
        )
    raise Refused(f"{command}: a {person.role} may not do this on a team store; ask a manager")


def setup(session: Session, *, prefix: str | None, claims: ClaimRules) -> SetupResult:
    """Create or refresh the team's roles and policies (see storage/team.py); the
    database enforces `claims`' capacities and max_locked where no `setting` row says."""
    rules: dict[str, str] = {
        f"claims.capacity.{role}": str(n) for role, n in claims.role_capacity.items()
    }
    rules["claims.max_locked"] = str(claims.max_locked or 0)
    rules["claims.capacity_counts"] = ",".join(claims.capacity_stages or ())
    return storage.setup(session, prefix=prefix, rules=rules)


def grant(session: Session, *, login: str, role: str, password: str | None = None) -> Member:
    """Give `login` a team role (rep, coach or manager), creating the login if missing."""
    return storage.grant(session, login=login, role=role, password=password)


def revoke(session: Session, *, login: str) -> list[str]:
    """Take every team role from `login`; returns what it had."""
    return storage.revoke(session, login=login)


def members(session: Session) -> list[Member]:
    """The logins holding a team role."""
    return storage.members(session)


def revoke_rep_login(session: Session, rep: Rep) -> list[str]:
    """A leaving rep's login loses its team roles (a no-op off a team store)."""
    if not storage.team_on(session) or not rep.login:
        return []
    return storage.revoke(session, login=rep.login, missing_ok=True)

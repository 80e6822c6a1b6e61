"""Independent read-only statements, run side by side where the backend can.

A report asks several big counting questions that do not depend on each other. A
PostgreSQL server answers each on a core of its own when they come on separate
connections; one SQLite file is read by one process anyway, so there they run in
turn on the session. Only sessions from `Store.read` (which never write) may use
other connections: a session with changes of its own must see them, so it always
runs its statements itself. Under READ COMMITTED every statement takes its own
snapshot either way, so nothing a statement can see changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from salespool.storage.plans import is_postgres

# Set in a session's `info` by Store.read: nothing uncommitted to see.
SIDE_BY_SIDE = "salespool_reads_side_by_side"
# Connections at once beyond the session's: the server has only so many cores.
MAX_AT_ONCE = 3


def read_all(
    session: Session, statements: Sequence[Executable], *, heavy: bool = True
) -> list[list[Any]]:
    """The rows of each statement, in order: concurrently on PostgreSQL read sessions.

    `heavy=False` says the statements are small (one rep's counts): then the
    connections side by side would cost more to open than they save.
    """
    side_by_side = (
        heavy
        and len(statements) > 1
        and session.info.get(SIDE_BY_SIDE, False)
        and is_postgres(session)
    )
    if not side_by_side:
        return [list(session.execute(s).all()) for s in statements]
    from concurrent.futures import ThreadPoolExecutor  # only here: not every command's start-up

    engine = session.get_bind().engine

    def one(statement: Executable) -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(statement).all())

    with ThreadPoolExecutor(min(len(statements), MAX_AT_ONCE)) as pool:
        return list(pool.map(one, statements))

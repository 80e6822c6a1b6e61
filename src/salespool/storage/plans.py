"""Which shape of a statement each backend runs best, where the two differ.

The core writes both shapes in portable SQLAlchemy and asks here which to send, so no
dialect check sits outside storage/. The backend facts storage/ itself asks about
(which backend, who owns a table) are here too, asked one way.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


def is_postgres(session: Session) -> bool:
    """Whether the session's store is on PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def owns_table(conn: Connection, table: str, mode: str) -> bool:
    """Whether this login holds the role that owns `table`, as PostgreSQL's
    `pg_has_role(current_user, owner, mode)` says: 'USAGE' to act with the owner's
    rights now, 'MEMBER' for a member at all. Always on SQLite, which has no owners."""
    if conn.dialect.name != "postgresql":
        return True
    found = conn.execute(
        text(
            "SELECT pg_has_role(current_user, relowner, CAST(:mode AS text)) FROM pg_class "
            "WHERE oid = to_regclass(:t)"
        ),
        {"t": table, "mode": mode},
    ).scalar()
    return bool(found)


def joins_over_subqueries(session: Session) -> bool:
    """Whether filling a staging table from another table is best done by a join.

    SQLite runs a correlated subquery per row as one index seek, its fastest shape.
    PostgreSQL runs it as a subplan per row too, where a join (`UPDATE ... FROM`, or
    the lookup joined into the `INSERT ... SELECT` that fills the table) is a hash
    join: for 1M follow-up keys the customer lookup went from 15.6 s to 8.5 s as an
    `UPDATE ... FROM`, and the steady stage from 15.7 s to 11.1 s.
    """
    return is_postgres(session)

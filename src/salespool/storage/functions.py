"""SQL functions whose name differs between the backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


class greatest(GenericFunction):
    """The largest of its arguments: `greatest()` on PostgreSQL, scalar `max()` on SQLite.

    The backends differ on NULL (PostgreSQL skips it, SQLite answers NULL): give it none.
    """

    inherit_cache = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Typed as its first argument unless told: a moment reads back as a datetime.
        kwargs.setdefault("type_", getattr(args[0], "type", None))
        super().__init__(*args, **kwargs)


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"

"""The PostgreSQL side of the bench: its databases and its reference (`bench.py --db URL`).

Every function here runs in a child process of its own (`bench.py --pg-admin ...` or
`bench.py --ref-sql ... --ref-db URL`), so the bench process stays small and
standard-library only; psycopg is imported inside them (salespool's PostgreSQL
driver, so it is there wherever salespool can use a server).

The reference is hand-written SQL doing the same work as each salespool command on
the same schema (a store `salespool init` made, copied from the bench's database just
before the step): the imports `COPY` the same CSV into a temporary text table and
`INSERT ... SELECT` it into salespool's tables (rep, customer and its `imported`
events; follow_up and the last contact it moves), recycle and report are the SQLite
reference's statements (reference.py) written for PostgreSQL.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from dataset import (
    CUSTOMER_COLUMNS,
    DEAL_COLUMNS,
    FOLLOWUP_COLUMNS,
    NOW_UTC,
    RECYCLE_DAYS,
    STAGES,
    vocabulary,
)
from reference import ACTOR, DEAL_EXEMPT_DAYS, REPORT_WINDOW_DAYS

COPY_BLOCK = 1 << 20  # bytes of CSV per COPY write


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq reads it (postgresql://...)."""
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest


def with_database(url: str, name: str) -> str:
    """The same server URL with another database name (the path), query kept."""
    head, sep, query = url.partition("?")
    base = head.rsplit("/", 1)[0] if head.count("/") > 2 else head
    return f"{base}/{name}" + (sep + query if sep else "")


def _connect(url: str, autocommit: bool = False):
    import psycopg

    return psycopg.connect(libpq_url(url), autocommit=autocommit)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"not a plain database name: {name!r}")
    return f'"{name}"'


# --- the databases ------------------------------------------------------------------


def admin(server: str, action: str, name: str, template: str | None = None) -> dict:
    """On the server's maintenance database: drop, create (empty or as a copy), or probe."""
    with _connect(server, autocommit=True) as con:
        if action == "version":
            row = con.execute(
                "SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                "current_setting('fsync'), current_setting('synchronous_commit'), "
                "current_setting('work_mem')"
            ).fetchone()
            assert row is not None
            keys = ("version", "shared_buffers", "fsync", "synchronous_commit", "work_mem")
            return dict(zip(keys, row, strict=True))
        if action == "exists":
            found = con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            return {"exists": found is not None}
        if action in ("drop", "create", "copy"):
            con.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
        if action == "create":
            con.execute(f"CREATE DATABASE {_ident(name)}")
        elif action == "copy":
            assert template is not None
            # A file copy: the default (WAL_LOG) writes a multi-GB database through
            # the WAL, page by page. The template must have no other session: the
            # salespool child just exited, and its backend may take a moment to go.
            for attempt in range(50):
                try:
                    con.execute(
                        f"CREATE DATABASE {_ident(name)} TEMPLATE {_ident(template)} "
                        "STRATEGY FILE_COPY"
                    )
                    break
                except Exception as exc:  # ObjectInUse while the last session closes
                    if "being accessed" not in str(exc) or attempt == 49:
                        raise
                    time.sleep(0.2)
    return {"ok": True}


# --- the reference ------------------------------------------------------------------


def _values(pairs: dict[str, str]) -> str:
    """A VALUES list (label, canonical) for a label-to-value table (quotes doubled)."""
    rows = ", ".join(
        "('{}', '{}')".format(k.replace("'", "''"), v.replace("'", "''")) for k, v in pairs.items()
    )
    return f"(VALUES {rows})"


def _copy_csv(con, table: str, columns: tuple[str, ...], path: str) -> int:
    """COPY a CSV file (with its header line) into `table`, streamed a block at a time."""
    cols = ", ".join(columns)
    with con.cursor() as cur:
        with (
            open(path, "rb") as f,
            cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while block := f.read(COPY_BLOCK):
                copy.write(block)
        return cur.rowcount


def _raw_table(con, columns: tuple[str, ...]) -> None:
    cols = ", ".join(f"{c} text" for c in columns)
    con.execute(
        f"CREATE TEMP TABLE raw (line bigint GENERATED ALWAYS AS IDENTITY, {cols}) ON COMMIT DROP"
    )


def _new_reps(con, column: str, active: bool) -> None:
    con.execute(
        f"INSERT INTO rep (name, role, hired_at, active) "
        f"SELECT DISTINCT {column}, 'rep', %s, %s FROM raw "
        f"WHERE {column} <> '' AND {column} NOT IN (SELECT name FROM rep)",
        (NOW_UTC, active),
    )


def reference_import(url: str, csv_path: str) -> dict:
    """import customers.csv by hand: COPY into a text table, INSERT ... SELECT into customer."""
    # The Chinese stage labels the data set writes (salespool reads them as aliases).
    stages = _values({label: stage for stage, label, _weight in STAGES})
    with _connect(url) as con:
        _raw_table(con, CUSTOMER_COLUMNS)
        copied = _copy_csv(con, "raw", CUSTOMER_COLUMNS, csv_path)
        _new_reps(con, "owner", True)
        inserted = con.execute(
            f"""
            INSERT INTO customer (external_id, name, contact, phone, email, city, level, stage,
                owner_id, owned_since, last_contact_at, pooled_at, created_at,
                name_key, phone_key, email_key)
            SELECT nullif(r.external_id, ''), trim(r.name), nullif(r.contact, ''),
                nullif(r.phone, ''), nullif(r.email, ''), nullif(r.city, ''),
                nullif(r.level, ''), coalesce(st.stage, lower(trim(r.stage))), rep.id,
                nullif(r.owned_since, '')::timestamptz,
                nullif(r.last_contact_at, '')::timestamptz,
                CASE WHEN rep.id IS NULL THEN %(now)s::timestamptz END,
                r.created_at::timestamptz,
                lower(normalize(trim(r.name), NFKC)),
                '+86' || nullif(regexp_replace(r.phone, '[^0-9]', '', 'g'), ''),
                lower(nullif(trim(r.email), ''))
            FROM raw r
            LEFT JOIN rep ON rep.name = r.owner
            LEFT JOIN {stages} AS st (label, stage) ON st.label = trim(r.stage)
            ORDER BY r.line
            """,
            {"now": NOW_UTC},
        ).rowcount
        con.execute(
            "INSERT INTO event (customer_id, at, kind, to_rep_id, to_stage, reason, actor) "
            "SELECT id, %s, 'imported', owner_id, stage, 'import customers.csv', %s "
            "FROM customer",
            (NOW_UTC, ACTOR),
        )
    return {"copied": copied, "inserted": inserted}


def reference_import_followups(url: str, csv_path: str) -> dict:
    """import-followups by hand: COPY, INSERT ... SELECT into follow_up, move last contact."""
    kinds = _values(vocabulary.KIND_ALIASES)
    with _connect(url) as con:
        _raw_table(con, FOLLOWUP_COLUMNS)
        copied = _copy_csv(con, "raw", FOLLOWUP_COLUMNS, csv_path)
        _new_reps(con, "rep", False)
        inserted = con.execute(
            f"""
            INSERT INTO follow_up (customer_id, rep_id, kind, note, at, stage)
            SELECT c.id, rep.id, coalesce(k.kind, 'other'), nullif(r.note, ''),
                r.at::timestamptz, c.stage
            FROM raw r
            JOIN customer c ON c.external_id = r.customer
            JOIN rep ON rep.name = r.rep
            LEFT JOIN {kinds} AS k (label, kind) ON k.label = lower(trim(r.kind))
            ORDER BY r.line
            """
        ).rowcount
        moved = con.execute(
            """
            UPDATE customer c SET last_contact_at = m.at
            FROM (SELECT customer_id, max(at) AS at FROM follow_up GROUP BY customer_id) m
            WHERE m.customer_id = c.id
              AND m.at > coalesce(c.last_contact_at, '-infinity'::timestamptz)
            """
        ).rowcount
    return {"copied": copied, "inserted": inserted, "contact_moved": moved}


def reference_import_deals(url: str, csv_path: str) -> dict:
    """The deals' reference, as on SQLite: COPY of the same CSV into a plain text table."""
    with _connect(url) as con:
        cols = ", ".join(f"{c} text" for c in DEAL_COLUMNS)
        con.execute(f"CREATE TABLE raw_deals ({cols})")
        copied = _copy_csv(con, "raw_deals", DEAL_COLUMNS, csv_path)
    return {"copied": copied}


# As reference.RECYCLE_WHERE: greatest() for SQLite's max() of two values.
RECYCLE_WHERE = """
    owner_id IS NOT NULL
    AND greatest(coalesce(last_contact_at, owned_since), owned_since) <= %(cutoff)s
    AND NOT (locked_at IS NOT NULL AND locked_at >= owned_since
             AND (locked_until IS NULL OR locked_until > %(now)s))
    AND NOT EXISTS (SELECT 1 FROM deal WHERE deal.customer_id = customer.id
                    AND deal.at > %(deal_cutoff)s)
"""


def reference_recycle(url: str) -> dict:
    """recycle --days 30 by hand: the event INSERT ... SELECT, then the UPDATE, one transaction."""
    params = {
        "now": NOW_UTC,
        "cutoff": NOW_UTC - timedelta(days=RECYCLE_DAYS),
        "deal_cutoff": NOW_UTC - timedelta(days=DEAL_EXEMPT_DAYS),
        "reason": f"idle {RECYCLE_DAYS}+ days",
        "actor": ACTOR,
    }
    with _connect(url) as con:
        events = con.execute(
            "INSERT INTO event (customer_id, at, kind, from_rep_id, from_stage, to_stage, "
            "reason, actor) SELECT id, %(now)s, 'recycled', owner_id, stage, stage, %(reason)s, "
            f"%(actor)s FROM customer WHERE {RECYCLE_WHERE}",
            params,
        ).rowcount
        count = con.execute(
            "UPDATE customer SET owner_id = NULL, owned_since = NULL, pooled_at = %(now)s "
            f"WHERE {RECYCLE_WHERE}",
            params,
        ).rowcount
    return {"count": count, "events": events}


def reference_report(url: str, rep: str | None) -> dict:
    """report [--rep R] by hand: reference.reference_report's GROUP BY queries."""
    start = NOW_UTC - timedelta(days=REPORT_WINDOW_DAYS)
    window = (start, NOW_UTC)
    with _connect(url) as con:
        if rep is None:
            reps = con.execute(
                "SELECT id, name FROM rep WHERE left_at IS NULL OR left_at >= %s ORDER BY name",
                (start,),
            ).fetchall()
        else:
            reps = con.execute("SELECT id, name FROM rep WHERE name = %s", (rep,)).fetchall()
        ids = [rid for rid, _name in reps]
        out: dict[str, Any] = {
            "stages": con.execute(
                "SELECT owner_id, stage, count(*) FROM customer WHERE owner_id = ANY(%s) "
                "GROUP BY owner_id, stage",
                (ids,),
            ).fetchall(),
            "follow_ups": con.execute(
                "SELECT rep_id, kind, count(*) FROM follow_up WHERE rep_id = ANY(%s) "
                "AND at >= %s AND at <= %s GROUP BY rep_id, kind",
                (ids, *window),
            ).fetchall(),
            "deals": con.execute(
                "SELECT rep_id, count(*), sum(amount_minor) FROM deal WHERE rep_id = ANY(%s) "
                "AND at >= %s AND at <= %s GROUP BY rep_id",
                (ids, *window),
            ).fetchall(),
            "taken": con.execute(
                "SELECT to_rep_id, kind, count(*) FROM event WHERE to_rep_id = ANY(%s) "
                "AND kind IN ('claimed', 'assigned') AND at >= %s AND at <= %s "
                "GROUP BY to_rep_id, kind",
                (ids, *window),
            ).fetchall(),
            "lost": con.execute(
                "SELECT from_rep_id, kind, count(*) FROM event WHERE from_rep_id = ANY(%s) "
                "AND kind IN ('recycled', 'released') AND at >= %s AND at <= %s "
                "GROUP BY from_rep_id, kind",
                (ids, *window),
            ).fetchall(),
            "pool": con.execute("SELECT count(*) FROM customer WHERE owner_id IS NULL").fetchone(),
        }
    return {
        "reps": len(reps),
        "customers": sum(n for *_k, n in out["stages"]),
        "follow_ups": sum(n for *_k, n in out["follow_ups"]),
        "deals": sum(n for _r, n, _a in out["deals"]),
        "recycled_away": sum(n for _r, kind, n in out["lost"] if kind == "recycled"),
        "assigned": sum(n for _r, kind, n in out["taken"] if kind == "assigned"),
        "pool": out["pool"][0],
    }


def run_child(kind: str, url: str, rep: str | None, csv_path: str | None) -> int:
    """The child side of a PostgreSQL reference run: do the SQL, print its counts as JSON."""
    if kind == "recycle":
        result = reference_recycle(url)
    elif kind == "report":
        result = reference_report(url, rep)
    else:
        assert csv_path is not None
        do = {
            "import": reference_import,
            "import-followups": reference_import_followups,
            "import-deals": reference_import_deals,
        }[kind]
        result = do(url, csv_path)
    print(json.dumps(result))
    return 0


def run_admin(server: str, action: str, name: str, template: str | None) -> int:
    """The child side of a database chore (`bench.py --pg-admin ...`)."""
    print(json.dumps(admin(server, action, name, template)))
    return 0

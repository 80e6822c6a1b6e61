"""Team mode on PostgreSQL: group roles, row-level security, and who is acting.

`setup` makes the database itself enforce what each person may see and do, so a
hand-written psql session gets no more than the CLI does:

- three group roles per database (`<prefix>_rep`, `<prefix>_coach`, `<prefix>_manager`);
  a login joins one (`grant`). A rep's login is `rep.login`.
- privileges are default-deny: every table is first revoked from the groups, then each
  gets what it needs; a table added later is closed to reps until `setup` runs again.
- row-level security on customer, follow_up, deal, event and notification: a rep sees
  their own book (a coach also their rookies'), a manager everything. The table owner
  bypasses it (it runs migrations and cron jobs).
- pool customers are not rows a rep can read in `customer`: the view `salespool_pool`
  (run with its owner's rights) shows them without contact, phone, e-mail or match keys.
  A claim is `salespool_claim(id, at)`, a SECURITY DEFINER function that can only make
  the caller the owner.
- a statement trigger holds capacity and `claims.max_locked` for every non-manager,
  whatever the route (the CLI, a raw UPDATE, the claim function); the limits come from a
  `setting` row if that table exists, else from the rules `setup` stored in `meta`.
- events are append-only: no role but the owner has UPDATE or DELETE on them, and a
  trigger writes the login as `actor`, so the trail cannot be forged.

Identity is `session_user`: the authenticated login, which no SET ROLE changes and
which SECURITY DEFINER functions and triggers still see.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlmodel import Session

from salespool.errors import BadInput, NotFound, Refused
from salespool.storage.lookup import TEAM_KEY  # meta: "on" once `team setup` has run
from salespool.storage.plans import is_postgres, owns_table  # is_postgres: kept importable here
from salespool.storage.store import set_meta

PREFIX_KEY = "team.prefix"
RULE_KEY = "team.rule."  # + a rule's name: the rules the database enforces, as setup saw them
GROUPS = ("rep", "coach", "manager")
MAX_ROLE_BYTES = 63
# Tables under row-level security: a person sees only the rows of the book they may see.
BOOK_TABLES = ("customer", "follow_up", "deal", "event", "notification")
# The trails: nobody but the owner may change or delete a row once written.
APPEND_ONLY = ("event", "rep_event", "setting_event")
# What a rep (or coach) may change in their own customers' rows: hand-overs, the clock,
# the stage, locks. Names, phones and the rest are a manager's to edit.
REP_UPDATES = (
    "owner_id",
    "owned_since",
    "pooled_at",
    "pool_id",
    "last_contact_at",
    "stage",
    "locked_at",
    "locked_until",
    "lock_reason",
)
# Event kinds a rep's own work writes; recycling, assigning and corrections are not theirs.
# (claimed and released: the claim and release functions write those, with the hand-over.)
REP_EVENT_KINDS = ("stage_changed", "locked", "unlocked")
# Pool columns a rep sees; the rest of a pool customer's row is NULL in the view.
HIDDEN = ("contact", "phone", "email", "phone_key", "email_key")
POOL_VIEW = "salespool_pool"


@dataclass(frozen=True)
class Who:
    """The person acting on a team store: their login, team role, rep and rookies."""

    login: str
    role: str | None  # owner, manager, coach, rep; None: a login the team never granted
    rep_id: int | None = None
    rep: str | None = None
    rookies: frozenset[int] = field(default_factory=frozenset)

    @property
    def privileged(self) -> bool:
        """The database owner and managers act for anyone."""
        return self.role in ("owner", "manager")


@dataclass
class SetupResult:
    prefix: str
    roles: list[str]
    tables: int


@dataclass
class Member:
    login: str
    role: str
    rep: str | None
    can_login: bool


def _meta(session_or_conn: Session | Connection, key: str) -> str | None:
    """One fact about the store: its `meta` row's value, None when the key is not there."""
    return session_or_conn.execute(
        text("SELECT value FROM meta WHERE key = :k"), {"k": key}
    ).scalar()


def team_on(session: Session) -> bool:
    """Whether `team setup` has run on this store (never on SQLite)."""
    if not is_postgres(session):
        return False
    cached = session.info.get("team_on")
    if cached is None:
        cached = session.info["team_on"] = _meta(session, TEAM_KEY) == "on"
    return cached


def who(session: Session) -> Who | None:
    """Who is acting, on a team store; None elsewhere (SQLite, or before `team setup`)."""
    if not team_on(session):
        return None
    if "team_who" in session.info:
        return session.info["team_who"]
    prefix = _prefix(session)
    row = session.execute(
        text(
            "SELECT session_user, "
            "pg_has_role(session_user, (SELECT relowner FROM pg_class "
            "  WHERE oid = 'customer'::regclass), 'MEMBER') AS owner, "
            "pg_has_role(session_user, :m, 'MEMBER') AS manager, "
            "pg_has_role(session_user, :c, 'MEMBER') AS coach, "
            "pg_has_role(session_user, :r, 'MEMBER') AS rep"
        ),
        {"m": f"{prefix}_manager", "c": f"{prefix}_coach", "r": f"{prefix}_rep"},
    ).one()
    role = next(
        (name for name, held in zip(("owner", *reversed(GROUPS)), row[1:], strict=True) if held),
        None,
    )
    rep = session.execute(
        text("SELECT id, name FROM rep WHERE login = :login"), {"login": row[0]}
    ).first()
    rookies: frozenset[int] = frozenset()
    if rep is not None:
        rookies = frozenset(
            session.execute(
                text("SELECT id FROM rep WHERE coach_id = :me"), {"me": rep.id}
            ).scalars()
        )
    found = Who(
        login=row[0],
        role=role,
        rep_id=rep.id if rep else None,
        rep=rep.name if rep else None,
        rookies=rookies,
    )
    session.info["team_who"] = found
    return found


def masked(session: Session) -> bool:
    """Whether this person reads the pool through the masked view (a team's rep or coach)."""
    person = who(session)
    return person is not None and not person.privileged


# How `pool_rows` may order the pool: by id, or oldest in the pool first (as `assign`).
POOL_ORDERS = {
    "id": "id",
    "pooled": "pooled_at IS NULL, coalesce(pooled_at, created_at), id",
}


def pool_rows(
    session: Session,
    where: str = "",
    params: Mapping[str, object] | None = None,
    *,
    order: str = "id",
    limit: int | None = None,
):
    """Rows of the masked pool view (every customer column; hidden ones NULL), in
    `order` (a POOL_ORDERS key), at most `limit` of them."""
    sql = f"SELECT * FROM {POOL_VIEW}" + (f" WHERE {where}" if where else "")
    sql += f" ORDER BY {POOL_ORDERS[order]}"
    bound = dict(params or {})
    if limit is not None:
        sql += " LIMIT :pool_rows_limit"
        bound["pool_rows_limit"] = limit
    return session.execute(text(sql), bound).mappings().all()


def pool_row(session: Session, customer_id: int):
    """One row of the masked pool view by id, or None."""
    rows = pool_rows(session, "id = :id", {"id": customer_id})
    return rows[0] if rows else None


def claim_row(session: Session, customer_id: int, at: object) -> int | None:
    """A rep's claim through the SECURITY DEFINER function, which writes its `claimed`
    event too: the customer's id if won."""
    return session.execute(
        text("SELECT salespool_claim(CAST(:id AS integer), CAST(:at AS timestamp))"),
        {"id": customer_id, "at": at},
    ).scalar()


def release_row(
    session: Session, customer_id: int, at: object, pool_id: int | None, reason: str | None
) -> bool:
    """A rep's release through the SECURITY DEFINER function (a rep cannot write a row
    into the pool they may not read), which writes its `released` event too; True if
    they owned it and it went."""
    done = session.execute(
        text(
            "SELECT salespool_release(CAST(:id AS integer), CAST(:at AS timestamp), "
            "CAST(:pool AS integer), CAST(:why AS text))"
        ),
        {"id": customer_id, "at": at, "pool": pool_id, "why": reason},
    ).scalar()
    return done is not None


def _prefix(session: Session) -> str:
    found = _meta(session, PREFIX_KEY)
    if not found:
        raise Refused("this store has no team yet: run `salespool team setup` as its owner")
    return found


def default_prefix(database: str) -> str:
    """`salespool_<database>`, as a role name can be: lower-case letters, digits, `_`."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", database.lower()).strip("_") or "db"
    return f"salespool_{cleaned}"[: MAX_ROLE_BYTES - len("_manager")]


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    """A quoted SQL string literal (standard_conforming_strings is on since 9.1)."""
    return "'" + value.replace("'", "''") + "'"


def _require_postgres(session: Session, what: str) -> None:
    if not is_postgres(session):
        raise Refused(
            f"{what} is for a PostgreSQL store; on SQLite whoever can open the file is trusted"
        )


def setup(session: Session, *, prefix: str | None, rules: Mapping[str, str]) -> SetupResult:
    """Create (or bring up to date) the team's roles, privileges, policies and triggers.

    Run by the database owner; idempotent. `rules` are the limits the database enforces
    when no `setting` table says otherwise (claims.capacity.ROLE, claims.max_locked,
    claims.capacity_counts), stored in `meta`.
    """
    _require_postgres(session, "team setup")
    conn = session.connection()
    if not owns_table(conn, "customer", "MEMBER"):
        raise Refused("team setup: run it as the owner of the store's tables")
    stored = _meta(conn, PREFIX_KEY)
    if prefix is not None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,50}", prefix):
            raise BadInput(
                f"'{prefix}' cannot prefix role names (lower-case letters, digits and _, up to 51)",
                option="prefix",
            )
        if stored and stored != prefix:
            raise Refused(f"this team's roles are {stored}_*; setup again with --prefix {stored}")
    database = conn.execute(text("SELECT current_database()")).scalar()
    prefix = prefix or stored or default_prefix(database)
    rep, coach, manager = (f"{prefix}_{g}" for g in GROUPS)
    schema = conn.execute(text("SELECT current_schema()")).scalar()
    for group in (rep, coach, manager):
        if not _role_exists(conn, group):
            conn.execute(text(f"CREATE ROLE {_q(group)} NOLOGIN"))
    # A coach works their own book as a rep does; a manager may hand both roles out.
    conn.execute(text(f"GRANT {_q(rep)} TO {_q(coach)}"))
    conn.execute(text(f"GRANT {_q(rep)}, {_q(coach)} TO {_q(manager)} WITH ADMIN OPTION"))
    conn.execute(
        text(f"GRANT CONNECT, TEMPORARY ON DATABASE {_q(database)} TO {_q(rep)}, {_q(manager)}")
    )
    conn.execute(text(f"GRANT USAGE ON SCHEMA {_q(schema)} TO {_q(rep)}, {_q(manager)}"))
    tables = list(
        conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = :s "
                "AND tablename NOT LIKE 'salespool_%' ORDER BY tablename"
            ),
            {"s": schema},
        ).scalars()
    )
    everyone = f"{_q(rep)}, {_q(coach)}, {_q(manager)}"
    for table in tables:
        # Default-deny first, so a rerun after a change of mind leaves nothing behind.
        conn.execute(text(f"REVOKE ALL ON {_q(table)} FROM {everyone}, PUBLIC"))
        conn.execute(text(f"GRANT SELECT ON {_q(table)} TO {_q(rep)}"))
        writes = "SELECT, INSERT" if table in APPEND_ONLY else "ALL"
        conn.execute(text(f"GRANT {writes} ON {_q(table)} TO {_q(manager)}"))
        conn.execute(
            text(f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON {_q(table)} FROM {_q(manager)}")
        )
    conn.execute(text(f"GRANT UPDATE ({', '.join(REP_UPDATES)}) ON customer TO {_q(rep)}"))
    conn.execute(text(f"GRANT INSERT ON follow_up, deal, event TO {_q(rep)}"))
    conn.execute(text(f"GRANT UPDATE (stage) ON follow_up TO {_q(rep)}"))
    conn.execute(
        text(
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {_q(schema)} "
            f"TO {_q(rep)}, {_q(manager)}"
        )
    )
    _functions(conn, schema, prefix)
    _policies(conn, rep, coach, manager)
    conn.execute(text(f"GRANT SELECT ON {POOL_VIEW} TO {_q(rep)}, {_q(manager)}"))
    for function in (
        "salespool_claim(integer, timestamp)",
        "salespool_release(integer, timestamp, integer, text)",
    ):
        conn.execute(text(f"GRANT EXECUTE ON FUNCTION {function} TO {_q(rep)}"))
    for key, value in {
        TEAM_KEY: "on",
        PREFIX_KEY: prefix,
        **{RULE_KEY + k: v for k, v in rules.items()},
    }.items():
        set_meta(session, key, value)
    session.info.pop("team_on", None)
    session.info.pop("team_who", None)
    return SetupResult(prefix=prefix, roles=[rep, coach, manager], tables=len(tables))


def _functions(conn, schema: str, prefix: str) -> None:
    """The helpers the policies call, the pool view, the claim function and the triggers."""
    path = f"SET search_path = {_q(schema)}, pg_temp"
    manager = _lit(f"{prefix}_manager")
    shown_columns = conn.execute(
        text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = :s "
            "AND table_name = 'customer' ORDER BY ordinal_position"
        ),
        {"s": schema},
    ).scalars()
    columns = ", ".join(f"NULL::varchar AS {c}" if c in HIDDEN else _q(c) for c in shown_columns)
    statements = [
        # Who am I, as a rep; my rookies; may I act for anyone (owner or manager).
        f"""CREATE OR REPLACE FUNCTION salespool_my_rep() RETURNS integer
            LANGUAGE sql STABLE {path}
            AS $$ SELECT id FROM rep WHERE login = session_user $$""",
        f"""CREATE OR REPLACE FUNCTION salespool_my_rookies() RETURNS SETOF integer
            LANGUAGE sql STABLE {path}
            AS $$ SELECT id FROM rep WHERE coach_id = salespool_my_rep() $$""",
        f"""CREATE OR REPLACE FUNCTION salespool_privileged() RETURNS boolean
            LANGUAGE sql STABLE {path}
            AS $$ SELECT pg_has_role(session_user, c.relowner, 'MEMBER')
                      OR pg_has_role(session_user, {manager}, 'MEMBER')
                  FROM pg_class c WHERE c.oid = 'customer'::regclass $$""",
        # A rule as the database enforces it: the store's `setting` row when that table
        # exists (the team's rules kept in the store), else what `team setup` recorded.
        f"""CREATE OR REPLACE FUNCTION salespool_rule(rule text) RETURNS text
            LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
            DECLARE found text;
            BEGIN
              IF to_regclass('setting') IS NOT NULL THEN
                BEGIN
                  EXECUTE 'SELECT value::text FROM setting WHERE key = $1' INTO found USING rule;
                EXCEPTION WHEN undefined_column OR undefined_table THEN found := NULL;
                END;
              END IF;
              IF found IS NULL THEN
                SELECT value INTO found FROM meta WHERE key = 'team.rule.' || rule;
              END IF;
              RETURN trim(both '"' from found);
            END $$""",
        # Made anew, so a column a migration added or dropped is right after a rerun
        # (CASCADE: the event policies that read it; _policies makes them again).
        f"DROP VIEW IF EXISTS {POOL_VIEW} CASCADE",
        f"""CREATE VIEW {POOL_VIEW} WITH (security_barrier) AS
            SELECT {columns} FROM customer WHERE owner_id IS NULL""",
        f"""CREATE OR REPLACE FUNCTION salespool_claim(customer_id integer, at timestamp)
            RETURNS integer LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
            DECLARE me integer; won integer; was record;
                    moment timestamp := least(at, (now() AT TIME ZONE 'UTC')::timestamp);
            BEGIN
              SELECT id INTO me FROM rep
                WHERE login = session_user AND left_at IS NULL AND active;
              IF me IS NULL THEN
                RAISE EXCEPTION 'claim: % is no active rep of this team', session_user
                  USING ERRCODE = 'insufficient_privilege';
              END IF;
              SELECT c.stage, p.name AS pool INTO was FROM customer c
                LEFT JOIN pool p ON p.id = c.pool_id
               WHERE c.id = customer_id AND c.owner_id IS NULL FOR UPDATE OF c;
              -- Never owned from the future: that would keep the customer from recycling.
              UPDATE customer SET owner_id = me, owned_since = moment,
                     pooled_at = NULL, pool_id = NULL
               WHERE id = customer_id AND owner_id IS NULL
               RETURNING id INTO won;
              IF won IS NOT NULL THEN  -- nothing changes hands without an event, by any route
                INSERT INTO event (customer_id, at, kind, to_rep_id, from_stage, to_stage, pool)
                VALUES (won, moment, 'claimed', me, was.stage, was.stage, was.pool);
              END IF;
              RETURN won;
            END $$""",
        "REVOKE ALL ON FUNCTION salespool_claim(integer, timestamp) FROM PUBLIC",
        "DROP FUNCTION IF EXISTS salespool_release(integer, timestamp, integer)",
        f"""CREATE OR REPLACE FUNCTION salespool_release(customer_id integer, at timestamp,
                                                         into_pool integer, why text)
            RETURNS integer LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
            DECLARE me integer; done integer; stage_was text;
                    moment timestamp := least(at, (now() AT TIME ZONE 'UTC')::timestamp);
            BEGIN
              SELECT id INTO me FROM rep WHERE login = session_user;
              UPDATE customer SET owner_id = NULL, owned_since = NULL, pooled_at = moment,
                     pool_id = into_pool
               WHERE id = customer_id AND owner_id = me
               RETURNING id, stage INTO done, stage_was;
              IF done IS NOT NULL THEN
                INSERT INTO event (customer_id, at, kind, from_rep_id, from_stage, to_stage,
                                   reason, pool)
                VALUES (done, moment, 'released', me, stage_was, stage_was, why,
                        (SELECT name FROM pool WHERE id = into_pool));
              END IF;
              RETURN done;
            END $$""",
        "REVOKE ALL ON FUNCTION salespool_release(integer, timestamp, integer, text) FROM PUBLIC",
        # Capacity, max_locked and no dates from the future, for everyone but managers.
        f"""CREATE OR REPLACE FUNCTION salespool_check_limits() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
            DECLARE r record; cap integer; held integer; lim integer; counted text[];
                    soon timestamp := (now() AT TIME ZONE 'UTC')::timestamp + interval '1 day';
            BEGIN
              IF salespool_privileged() THEN RETURN NULL; END IF;
              IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
                          WHERE (n.last_contact_at IS DISTINCT FROM o.last_contact_at
                                 AND n.last_contact_at > soon)
                             OR (n.owned_since IS DISTINCT FROM o.owned_since
                                 AND n.owned_since > soon)) THEN
                RAISE EXCEPTION 'a contact or ownership date in the future is not allowed'
                  USING ERRCODE = 'check_violation';
              END IF;
              counted := string_to_array(
                replace(replace(replace(replace(coalesce(
                  salespool_rule('claims.capacity_counts'), ''), '[', ''), ']', ''), '"', ''),
                  ' ', ''), ',');
              FOR r IN SELECT DISTINCT n.owner_id AS id FROM new_rows n JOIN old_rows o
                         ON o.id = n.id
                        WHERE n.owner_id IS NOT NULL AND n.owner_id IS DISTINCT FROM o.owner_id
                        ORDER BY 1 LOOP
                PERFORM 1 FROM rep WHERE id = r.id FOR UPDATE;  -- one claim at a time per rep
                SELECT coalesce(rep.capacity,
                                nullif(salespool_rule('claims.capacity.' || rep.role), '')::integer)
                  INTO cap FROM rep WHERE rep.id = r.id;
                IF cap IS NOT NULL THEN
                  SELECT count(*) INTO held FROM customer
                   WHERE owner_id = r.id
                     AND (counted IS NULL OR counted = '{{}}' OR counted = '{{""}}'
                          OR stage = ANY (counted));
                  IF held > cap THEN
                    RAISE EXCEPTION 'capacity: % would own % customers, more than %',
                      (SELECT name FROM rep WHERE id = r.id), held, cap
                      USING ERRCODE = 'check_violation';
                  END IF;
                END IF;
              END LOOP;
              lim := nullif(salespool_rule('claims.max_locked'), '')::integer;
              IF coalesce(lim, 0) > 0 THEN
                FOR r IN SELECT DISTINCT n.owner_id AS id FROM new_rows n JOIN old_rows o
                           ON o.id = n.id
                          WHERE n.owner_id IS NOT NULL AND n.locked_at IS NOT NULL
                            AND n.locked_at IS DISTINCT FROM o.locked_at LOOP
                  SELECT count(*) INTO held FROM customer
                   WHERE owner_id = r.id AND locked_at IS NOT NULL AND locked_at >= owned_since
                     AND (locked_until IS NULL
                          OR locked_until > (now() AT TIME ZONE 'UTC')::timestamp);
                  IF held > lim THEN
                    RAISE EXCEPTION 'max locked: % would hold % customers locked, more than % '
                      '(claims.max_locked)', (SELECT name FROM rep WHERE id = r.id), held, lim
                      USING ERRCODE = 'check_violation';
                  END IF;
                END LOOP;
              END IF;
              RETURN NULL;
            END $$""",
        "DROP TRIGGER IF EXISTS salespool_limits ON customer",
        """CREATE TRIGGER salespool_limits AFTER UPDATE ON customer
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION salespool_check_limits()""",
        # The trail says who did it: the login, whatever a client wrote.
        f"""CREATE OR REPLACE FUNCTION salespool_actor() RETURNS trigger
            LANGUAGE plpgsql {path} AS $$
            BEGIN NEW.actor := session_user; RETURN NEW; END $$""",
        "DROP TRIGGER IF EXISTS salespool_actor ON event",
        """CREATE TRIGGER salespool_actor BEFORE INSERT ON event
            FOR EACH ROW EXECUTE FUNCTION salespool_actor()""",
        "DROP TRIGGER IF EXISTS salespool_actor ON rep_event",
        """CREATE TRIGGER salespool_actor BEFORE INSERT ON rep_event
            FOR EACH ROW EXECUTE FUNCTION salespool_actor()""",
        "DROP TRIGGER IF EXISTS salespool_actor ON setting_event",
        """CREATE TRIGGER salespool_actor BEFORE INSERT ON setting_event
            FOR EACH ROW EXECUTE FUNCTION salespool_actor()""",
    ]
    for statement in statements:
        conn.execute(text(statement))


def _policies(conn, rep: str, coach: str, manager: str) -> None:
    """Row-level security on the book's tables (dropped and made again: idempotent)."""
    r, c, m = _q(rep), _q(coach), _q(manager)
    mine = "owner_id = salespool_my_rep()"
    rookies = "owner_id IN (SELECT salespool_my_rookies())"
    seen = "customer_id IN (SELECT id FROM customer)"  # customer's own policies apply
    in_pool = f"customer_id IN (SELECT id FROM {POOL_VIEW})"
    me_or_rookie = (
        "({col} IS NULL OR {col} = salespool_my_rep() OR {col} IN (SELECT salespool_my_rookies()))"
    )
    kinds = ", ".join(_lit(k) for k in REP_EVENT_KINDS)
    # A follow-up or deal from the future would keep the idleness clock from running.
    not_ahead = "at <= (now() AT TIME ZONE 'UTC')::timestamp + interval '1 day'"
    policies = {
        "customer": [
            ("rep_sees", f"FOR SELECT TO {r} USING ({mine})"),
            ("coach_sees", f"FOR SELECT TO {c} USING ({rookies})"),
            (
                "rep_works",
                f"FOR UPDATE TO {r} USING ({mine}) WITH CHECK ({mine} OR owner_id IS NULL)",
            ),
            # A coach's `log` for a rookie writes the rookie's customer (contact, stage).
            ("coach_logs", f"FOR UPDATE TO {c} USING ({rookies}) WITH CHECK ({rookies})"),
        ],
        "follow_up": [
            ("rep_sees", f"FOR SELECT TO {r} USING ({seen})"),
            (
                "rep_logs",
                f"FOR INSERT TO {r} WITH CHECK ({seen} AND {not_ahead} AND "
                f"{me_or_rookie.format(col='rep_id')} AND rep_id IS NOT NULL)",
            ),
            ("rep_stages", f"FOR UPDATE TO {r} USING ({seen}) WITH CHECK ({seen})"),
        ],
        "deal": [
            ("rep_sees", f"FOR SELECT TO {r} USING ({seen} OR rep_id = salespool_my_rep())"),
            (
                "rep_deals",
                f"FOR INSERT TO {r} WITH CHECK (rep_id = salespool_my_rep() AND {not_ahead} "
                "AND customer_id IN (SELECT id FROM customer WHERE owner_id = salespool_my_rep()))",
            ),
        ],
        "event": [
            # A pool customer's history of stages shows; corrections (old phones) do not.
            (
                "rep_sees",
                f"FOR SELECT TO {r} USING ({seen} OR ({in_pool} AND kind NOT IN "
                "('edited', 'merged')))",
            ),
            (
                "rep_writes",
                f"FOR INSERT TO {r} WITH CHECK (({seen} OR {in_pool}) AND kind IN ({kinds}) "
                f"AND {me_or_rookie.format(col='from_rep_id')} "
                f"AND {me_or_rookie.format(col='to_rep_id')})",
            ),
        ],
        "notification": [
            ("rep_sees", f"FOR SELECT TO {r} USING (recipient_id = salespool_my_rep())"),
        ],
    }
    for table, rules in policies.items():
        conn.execute(text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
        existing = conn.execute(
            text(
                "SELECT policyname FROM pg_policies WHERE tablename = :t "
                "AND policyname LIKE 'salespool_%'"
            ),
            {"t": table},
        ).scalars()
        for name in list(existing):
            conn.execute(text(f"DROP POLICY {_q(name)} ON {table}"))
        conn.execute(
            text(
                f"CREATE POLICY salespool_manager ON {table} FOR ALL TO {m} "
                "USING (true) WITH CHECK (true)"
            )
        )
        for name, body in rules:
            conn.execute(text(f"CREATE POLICY salespool_{name} ON {table} {body}"))


def _role_exists(conn, role: str) -> bool:
    """Whether a role (a login or a group) of that name is on the server."""
    return (
        conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        is not None
    )


def grant(session: Session, *, login: str, role: str, password: str | None = None) -> Member:
    """Give `login` (created if missing, able to log in) one team role, replacing another.

    A rep or coach login must be some rep's `login` (`rep set NAME --login LOGIN`).
    """
    _require_postgres(session, "team grant")
    if role not in GROUPS:
        raise BadInput(f"'{role}' is not one of {', '.join(GROUPS)}", option="role")
    conn = session.connection()
    prefix = _prefix(session)
    login = login.strip()
    if not login or len(login.encode()) > MAX_ROLE_BYTES:
        raise BadInput(f"'{login}' cannot be a login", option="login")
    if login.startswith(prefix + "_") and login[len(prefix) + 1 :] in GROUPS:
        raise BadInput(f"'{login}' is one of the team's group roles, not a login", option="login")
    rep = conn.execute(text("SELECT name FROM rep WHERE login = :l"), {"l": login}).scalar()
    if rep is None and role != "manager":
        raise NotFound(
            f"no rep has the login '{login}' "
            f"(give one with: salespool rep set NAME --login {login})"
        )
    if not _role_exists(conn, login):
        conn.execute(text(f"CREATE ROLE {_q(login)} LOGIN"))
    if password is not None:
        conn.execute(text(f"ALTER ROLE {_q(login)} PASSWORD {_lit(password)}"))
    held = {m.role for m in members(session) if m.login == login}
    for group in held - {role}:
        conn.execute(text(f"REVOKE {_q(f'{prefix}_{group}')} FROM {_q(login)}"))
    conn.execute(text(f"GRANT {_q(f'{prefix}_{role}')} TO {_q(login)}"))
    return next(m for m in members(session) if m.login == login)


def revoke(session: Session, *, login: str, missing_ok: bool = False) -> list[str]:
    """Take every team role from `login` (the role itself stays: it may serve elsewhere);
    returns the roles it had."""
    _require_postgres(session, "team revoke")
    conn = session.connection()
    prefix = _prefix(session)
    held = [m.role for m in members(session) if m.login == login]
    if not held:
        if missing_ok:
            return []
        raise NotFound(f"'{login}' has no role in this team (see `salespool team list`)")
    for role in held:
        conn.execute(text(f"REVOKE {_q(f'{prefix}_{role}')} FROM {_q(login)}"))
    session.info.pop("team_who", None)
    return held


def members(session: Session) -> list[Member]:
    """The logins holding a team role, with the rep each acts as."""
    _require_postgres(session, "team list")
    prefix = _prefix(session)
    rows = session.execute(
        text(
            "SELECT u.rolname, substr(g.rolname, :n), rep.name, u.rolcanlogin "
            "FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid "
            "JOIN pg_roles u ON u.oid = a.member LEFT JOIN rep ON rep.login = u.rolname "
            "WHERE g.rolname IN (:r, :c, :m) AND u.rolname NOT IN (:r, :c, :m) "
            "ORDER BY u.rolname, g.rolname"
        ),
        {
            "n": len(prefix) + 2,
            "r": f"{prefix}_rep",
            "c": f"{prefix}_coach",
            "m": f"{prefix}_manager",
        },
    )
    return [Member(login=a, role=b, rep=c, can_login=d) for a, b, c, d in rows]

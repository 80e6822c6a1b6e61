"""Team mode on PostgreSQL: each person is their database login, and the database itself
holds what a rep, coach or manager may see and do, through the CLI or a raw connection.

Runs on the PostgreSQL server of SALESPOOL_TEST_PG_URL (trust auth on 127.0.0.1: a URL
naming a login connects as it); on SQLite only the refusal of `team setup` and the
logins of reps are checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from conftest import PG_URL, Cli, drop_roles
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from salespool.cli import app

pg_only = pytest.mark.skipif(not PG_URL, reason="team mode needs PostgreSQL")


@dataclass
class Login(Cli):
    """The CLI connected as one login; snapshots and checks read as the store's owner."""

    login: str = ""
    admin: str = ""

    def snapshot(self) -> dict[str, list[tuple]]:
        return Cli(db=self.db, runner=self.runner, server_url=self.admin).snapshot()

    def raw(self, statement: str, **params) -> list[tuple]:
        """Run raw SQL on this login's own connection (committed); the rows it returns."""
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement), params)
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def refused(self, statement: str, **params) -> str:
        """Raw SQL the database must refuse; its message. Nothing is changed."""
        before = self.snapshot()
        with pytest.raises(DBAPIError) as caught:
            self.raw(statement, **params)
        assert self.snapshot() == before
        return str(caught.value.orig)


@dataclass
class Team:
    owner: Cli
    manager: Login
    alice: Login
    bob: Login


def _as(cli: Cli, login: str) -> Login:
    url = make_url(cli.url).set(username=login).render_as_string(hide_password=False)
    return Login(db=cli.db, runner=cli.runner, server_url=url, login=login, admin=cli.url)


@pytest.fixture
def team(book: Cli, tmp_path) -> Iterator[Team]:
    """The book (alice: C1, C2; bob: C3, capacity 2; C4, C5 in the pool, every customer
    with a phone) as a team: logins for a manager, alice and bob, max_locked 1."""
    if not PG_URL:
        pytest.skip("team mode needs PostgreSQL")
    tag = f"t_{uuid.uuid4().hex[:8]}"
    rules = tmp_path / "salespool.toml"
    rules.write_text("[claims]\nmax_locked = 1\ndaily_limit = 0\n", encoding="utf-8")
    # A team keeps its rules in the store: a local file is refused once setup has run.
    book("config", "load", str(rules))
    book.execute("UPDATE customer SET phone = '1380000000' || id, email = 'c' || id || '@x.cn'")
    book("rep", "set", "alice", "--login", f"{tag}_alice")
    book("rep", "set", "bob", "--login", f"{tag}_bob", "--capacity", "2")
    book("team", "setup")
    for login, role in (
        (f"{tag}_manager", "manager"),
        (f"{tag}_alice", "rep"),
        (f"{tag}_bob", "rep"),
    ):
        book("team", "grant", login, "--role", role)
    prefix = book.sql("SELECT value FROM meta WHERE key = 'team.prefix'")[0][0]
    people = {name: _as(book, f"{tag}_{name}") for name in ("manager", "alice", "bob")}
    try:
        yield Team(owner=book, **people)
    finally:
        drop_roles(
            book,
            [p.login for p in people.values()]
            + [f"{prefix}_{g}" for g in ("manager", "coach", "rep")],
        )


def names(rows: list[dict]) -> set[str]:
    return {r["name"] for r in rows}


def owner_of(cli: Cli, external_id: str):
    return cli.sql(
        "SELECT rep.name FROM customer LEFT JOIN rep ON rep.id = customer.owner_id "
        "WHERE external_id = :e",
        e=external_id,
    )[0][0]


ALICES = {"Acme Logistics", "上海华瑞科技有限公司"}


# --- SQLite and logins ------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_team_setup_is_refused_on_sqlite(cli):
    result = cli.fails("team", "setup")
    assert "PostgreSQL" in result.stderr and "trusted" in result.stderr
    cli.fails("team", "grant", "alice", "--role", "rep")


def test_a_rep_login_defaults_to_the_name_lower_cased(cli):
    cli("rep", "add", "Dave")
    cli("rep", "add", "erin", "--login", "erin_w")
    logins = {r["name"]: r["login"] for r in cli.json("rep", "list")}
    assert logins == {"Dave": "dave", "erin": "erin_w"}
    assert "dave" in cli.fails("rep", "set", "erin", "--login", "dave").stderr
    cli.fails("rep", "add", "frank", "--login", "a b")
    cli("rep", "set", "erin", "--login", "erin")
    assert {r["login"] for r in cli.json("rep", "list")} == {"dave", "erin"}


def test_imported_reps_get_their_default_login(book):
    assert {r["name"]: r["login"] for r in book.json("rep", "list")} == {
        "alice": "alice",
        "bob": "bob",
    }


def test_the_upgrade_to_schema_10_gives_existing_reps_their_login(book):
    book.execute("DROP INDEX ix_rep_login")
    book.execute("ALTER TABLE rep DROP COLUMN login")
    book.execute("DELETE FROM migration WHERE name = 'm010_rep_login'")
    book.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    result = book("rep", "list", "--json")
    assert "from schema 9 to" in result.stderr
    assert book.sql("SELECT name, login FROM rep ORDER BY name") == [
        ("alice", "alice"),
        ("bob", "bob"),
    ]


# --- who sees what ----------------------------------------------------------------------


@pg_only
def test_setup_is_idempotent_and_marks_the_store(team):
    team.owner("team", "setup")
    assert team.owner.sql("SELECT value FROM meta WHERE key = 'team'") == [("on",)]
    listed = {m["login"]: (m["role"], m["rep"]) for m in team.owner.json("team", "list")}
    assert listed == {
        team.manager.login: ("manager", None),
        team.alice.login: ("rep", "alice"),
        team.bob.login: ("rep", "bob"),
    }
    # A rep's login must be some rep's; only the owner sets the team up or makes logins.
    team.owner.fails("team", "grant", "nobody_here", "--role", "rep")
    team.owner.fails("team", "grant", team.bob.login, "--role", "boss", code=2)
    team.bob.fails("team", "setup")
    refused = team.manager.fails("team", "grant", f"{team.bob.login}_x", "--role", "manager")
    assert "refused by the database: permission denied to create role" in refused.stderr


@pg_only
def test_a_password_comes_from_stdin_only(team):
    result = team.owner.runner.invoke(
        app,
        [
            "--db",
            team.owner.url,
            "team",
            "grant",
            team.bob.login,
            "--role",
            "rep",
            "--password-stdin",
        ],
        input="s3cret\n",
    )
    assert result.exit_code == 0, result.stderr
    stored = team.owner.sql(
        "SELECT rolpassword FROM pg_authid WHERE rolname = :r", r=team.bob.login
    )
    assert stored[0][0] and "s3cret" not in stored[0][0]
    assert (
        "no password"
        in team.owner.fails(
            "team", "grant", team.bob.login, "--role", "rep", "--password-stdin"
        ).stderr
    )


@pg_only
def test_bob_sees_only_his_own_book_by_the_cli_and_by_raw_sql(team):
    assert names(team.bob.json("customers")) == {"Blue River Foods"}
    team.bob.fails("show", "C1")
    team.bob.fails("log", "C1", "--rep", "bob", "--kind", "call")
    assert team.bob.raw("SELECT name FROM customer") == [("Blue River Foods",)]
    assert team.bob.raw(
        "SELECT count(*) FROM follow_up f JOIN customer c ON c.id = f.customer_id"
    ) == [(0,)]
    assert team.bob.raw("SELECT count(*) FROM event WHERE customer_id IN (1, 2)") == [(0,)]
    # The manager sees everything.
    assert len(team.manager.json("customers")) == 5
    assert len(team.manager.raw("SELECT name FROM customer")) == 5


@pg_only
def test_bob_sees_the_pool_with_phones_hidden(team):
    pool = team.bob.json("pool")
    assert names(pool) == {"杭州云帆贸易有限公司", "Acme Trading"}
    assert {(c["phone"], c["email"], c["contact"]) for c in pool} == {(None, None, None)}
    assert names(team.bob.json("customers", "--pool")) == names(pool)
    assert team.bob.json("show", "C4")["customer"]["phone"] is None
    assert team.bob.raw("SELECT phone FROM customer WHERE owner_id IS NULL") == []
    assert set(team.bob.raw("SELECT phone, email, phone_key, email_key FROM salespool_pool")) == {
        (None, None, None, None)
    }
    assert {c["phone"] for c in team.manager.json("pool")} == {"13800000004", "13800000005"}
    # Once he claims one, its phone is his to call.
    assert team.bob.json("claim", "C4", "--rep", "bob")["phone"] == "13800000004"


# --- capacity and locks by any route ----------------------------------------------------


@pg_only
def test_bob_cannot_claim_past_his_capacity_by_any_route(team):
    team.bob("claim", "C4", "--rep", "bob")  # 2 of 2 now
    assert "capacity" in team.bob.fails("claim", "C5", "--rep", "bob").stderr
    assert "capacity" in team.bob.refused("SELECT salespool_claim(5, now()::timestamp)")
    team.bob.raw(
        "UPDATE customer SET owner_id = (SELECT id FROM rep WHERE name = 'bob') WHERE id = 5"
    )
    assert owner_of(team.owner, "C5") is None  # the pool row is not his to write
    # The manager gives him room, then can hand it over.
    team.manager("rep", "set", "bob", "--capacity", "3")
    team.manager("assign", "C5", "--to", "bob")
    assert owner_of(team.owner, "C5") == "bob"


@pg_only
def test_a_rep_cannot_lock_past_max_locked_by_any_route(team):
    team.bob("claim", "C4", "--rep", "bob")
    team.bob("lock", "C3", "--reason", "big deal coming")
    assert "max locked" in team.bob.fails("lock", "C4", "--reason", "me too").stderr
    message = team.bob.refused("UPDATE customer SET locked_at = now()::timestamp WHERE id = 4")
    assert "max locked" in message
    assert "future" in team.bob.refused(
        "UPDATE customer SET last_contact_at = '2099-01-01' WHERE id = 3"
    )


# --- what a rep may not do --------------------------------------------------------------


@pg_only
def test_bob_cannot_export_the_book(team):
    exported = team.bob("export", "customers", "--format", "json").stdout
    assert "Blue River Foods" in exported
    assert not any(name in exported for name in (*ALICES, "Acme Trading", "13800000001"))
    events = team.bob("export", "events", "--format", "json").stdout.splitlines()
    assert events and all('"customer_id": 3' in e or "Blue River" in e for e in events)
    everything = team.manager("export", "customers", "--format", "json").stdout
    assert all(name in everything for name in ALICES)


@pg_only
def test_nobody_but_the_owner_updates_or_deletes_an_event(team):
    team.bob("log", "C3", "--rep", "bob", "--kind", "call", "--stage", "negotiating")
    for person in (team.bob, team.manager):
        assert "permission denied" in person.refused("UPDATE event SET reason = 'x'")
        assert "permission denied" in person.refused("DELETE FROM event")
    # The trail names the login, whatever a client writes as actor.
    team.bob.raw(
        "INSERT INTO event (customer_id, at, kind, actor) VALUES (3, now(), 'locked', 'alice')"
    )
    actors = team.owner.sql("SELECT DISTINCT actor FROM event WHERE customer_id = 3 AND id > 5")
    assert actors == [(team.bob.login,)]
    for kind in ("recycled", "claimed", "released", "assigned"):
        assert "row-level security" in team.bob.refused(
            f"INSERT INTO event (customer_id, at, kind) VALUES (3, now(), '{kind}')"
        )
    assert "row-level security" in team.bob.refused(
        "INSERT INTO follow_up (customer_id, rep_id, kind, at) VALUES "
        "(3, (SELECT id FROM rep WHERE name = 'bob'), 'call', '2099-01-01')"
    )
    team.owner.execute("UPDATE event SET reason = 'owner may' WHERE id = 1")


@pg_only
def test_bob_cannot_change_rules_or_the_team(team):
    assert "permission denied" in team.bob.refused(
        "INSERT INTO setting (key, value, changed_at) VALUES ('claims.capacity.rep', '999', now())"
    )
    assert "permission denied" in team.bob.refused("UPDATE setting SET value = '999'")
    assert team.bob.raw("SELECT count(*) FROM setting") == [(2,)]
    team.bob.fails("config", "set", "claims.capacity.rep", "999")
    team.bob.fails("config", "unset", "claims.max_locked")
    assert "permission denied" in team.bob.refused("UPDATE rep SET capacity = 99")
    for args in (
        ("rep", "set", "bob", "--capacity", "99"),
        ("rep", "add", "mallory"),
        ("pool", "add", "mine", "--rule", "city = 北京"),
        ("assign", "--to", "bob"),
        ("recycle", "--days", "1"),
        ("team", "grant", team.alice.login, "--role", "manager"),
    ):
        team.bob.fails(*args)
    # A rule the store keeps is the one the database holds; its change is on the trail,
    # under the manager's login, and that trail is append-only.
    team.manager("config", "set", "claims.capacity.rep", "1")
    assert team.owner.sql("SELECT actor FROM setting_event WHERE key = 'claims.capacity.rep'") == [
        (team.manager.login,)
    ]
    for person in (team.bob, team.manager):
        assert "permission denied" in person.refused("UPDATE setting_event SET actor = 'x'")
        assert "permission denied" in person.refused("DELETE FROM setting_event")
    team.manager("rep", "set", "bob", "--role-capacity")
    assert "capacity" in team.bob.refused("SELECT salespool_claim(4, now()::timestamp)")
    team.manager("rep", "set", "bob", "--capacity", "5")
    team.manager("recycle", "--days", "1", "--dry-run")


@pg_only
def test_alice_cannot_act_as_bob(team):
    refused = team.alice.fails("claim", "C4", "--rep", "bob").stderr
    assert "only a manager may act for bob" in refused
    team.alice.fails("log", "C3", "--rep", "bob", "--kind", "call")
    team.alice.fails("release", "C1", "--rep", "bob")
    assert team.alice.json("log", "C1", "--rep", "alice", "--kind", "call")["owner"] == "alice"
    # The manager acts for anyone; the trail names the manager's login.
    team.manager("claim", "C4", "--rep", "bob")
    assert owner_of(team.owner, "C4") == "bob"
    assert team.owner.sql("SELECT actor FROM event WHERE kind = 'claimed'") == [
        (team.manager.login,)
    ]


@pg_only
def test_a_rep_releases_their_own_customer_into_the_pool(team):
    # Not by raw SQL: a row he may not read afterwards is not his to write into the pool.
    assert "row-level security" in team.bob.refused(
        "UPDATE customer SET owner_id = NULL WHERE owner_id IS NOT NULL"
    )
    released = team.bob.json("release", "C3", "--reason", "moved away")
    assert released["owner"] is None and released["phone"] is None
    assert owner_of(team.owner, "C3") is None
    trail = team.bob.json("history", "C3")
    assert [(e["kind"], e["reason"]) for e in trail][-1] == ("released", "moved away")


@pg_only
def test_a_claim_by_raw_sql_still_writes_the_trail(team):
    assert team.bob.raw("SELECT salespool_claim(4, now()::timestamp)") == [(4,)]
    assert team.bob.raw("SELECT salespool_claim(4, now()::timestamp)") == [(None,)]
    assert team.owner.sql(
        "SELECT kind, actor FROM event WHERE customer_id = 4 ORDER BY id DESC LIMIT 1"
    ) == [("claimed", team.bob.login)]
    assert team.owner.sql(
        "SELECT count(*) FROM event WHERE customer_id = 4 AND kind = 'claimed'"
    ) == [(1,)]


@pg_only
def test_a_coach_reads_their_rookies_book_and_logs_for_them(team):
    tag = team.manager.login.rsplit("_", 1)[0]
    coach = _as(team.owner, f"{tag}_carol")
    try:
        team.owner("rep", "add", "carol", "--role", "coach", "--login", coach.login)
        team.owner("rep", "set", "bob", "--coach", "carol")
        team.owner("team", "grant", coach.login, "--role", "coach")
        assert names(coach.json("customers")) == {"Blue River Foods"}
        coach("log", "C3", "--rep", "bob", "--kind", "call", "--note", "coached call")
        coach.fails("release", "C3", "--rep", "bob")
        coach.fails("log", "C1", "--rep", "alice", "--kind", "call")
        assert "row-level security" in coach.refused(
            "UPDATE customer SET owner_id = NULL WHERE id = 3"
        )
    finally:
        drop_roles(team.owner, [coach.login])


@pg_only
def test_rep_leave_revokes_the_login_with_the_book(team):
    result = team.manager.json("rep", "leave", "alice")
    assert result["released"] == 2 and result["login_revoked"] is True
    assert team.alice.login not in {m["login"] for m in team.owner.json("team", "list")}
    team.alice.fails("customers")
    with pytest.raises(DBAPIError):
        team.alice.raw("SELECT name FROM customer")
    team.manager("team", "grant", team.bob.login, "--role", "coach")
    assert team.owner.json("team", "revoke", team.bob.login)["revoked"] == ["coach"]
    team.owner.fails("team", "revoke", team.bob.login)


@pg_only
def test_a_manager_makes_a_big_first_load_without_owning_the_tables(team, monkeypatch):
    """Only the tables' owner may drop their indexes for a big load; a manager's import
    keeps them and goes in all the same."""
    import salespool.storage.bulk as bulk

    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
    rows = "".join(f"N{i},New Co {i},bob\n" for i in range(6))
    path = team.owner.db.parent / "big.csv"
    path.write_text("external_id,name,owner\n" + rows, encoding="utf-8")
    indexes = team.owner.sql("SELECT count(*) FROM pg_indexes WHERE tablename = 'customer'")
    team.manager("rep", "set", "bob", "--capacity", "50")
    assert team.manager.json("import", str(path))["inserted"] == 6
    assert team.owner.sql("SELECT count(*) FROM customer") == [(11,)]
    assert team.owner.sql("SELECT count(*) FROM pg_indexes WHERE tablename = 'customer'") == indexes

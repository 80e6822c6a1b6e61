"""The team's rules kept in the store: `config set`, `unset`, `load`, `history`; that a
stored rule is applied; how it meets salespool.toml; and a team store's refusal of a
local file (except for simulate and --dry-run runs)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Cli, drop_roles, taken, use_rules
from test_startup import HEAVY, loaded

from salespool.models import SCHEMA_VERSION
from salespool.storage.team import GROUPS

# The book (conftest.BOOK) at 2026-11-29 09:00 Shanghai: C1 Acme Logistics (alice,
# negotiating, idle 58 days), C2 (alice, won, idle 9 days), C3 Blue River Foods (bob,
# prospecting, idle 273 days); C4 and C5 in the pool.
# Stored, these leave every owned customer of the book with its owner.
KEEP_ALL = {
    "recycle.unconverted_days": "0",
    "recycle.stage_days.negotiating": "59",
    "recycle.stage_days.prospecting": "274",
}


def rules(cli: Cli) -> dict:
    return cli.json("config", "show")["rules"]


@pytest.fixture
def make_team_store(request: pytest.FixtureRequest) -> Callable[[Cli], None]:
    """Makes a store a team store: on PostgreSQL by `salespool team setup` (its group
    roles dropped after the test); on SQLite, where setup is refused, by the meta row
    setup leaves, so the file rules are checked on both backends."""

    def make(cli: Cli) -> None:
        if cli.is_sqlite:
            cli.execute("INSERT INTO meta (key, value) VALUES ('team', 'on')")
            return
        prefix = f"t_{uuid.uuid4().hex[:8]}"
        cli("team", "setup", "--prefix", prefix)
        request.addfinalizer(lambda: drop_roles(cli, [f"{prefix}_{g}" for g in GROUPS]))

    return make


def write_rules(cli: Cli, text: str, name: str = "salespool.toml") -> Path:
    path = cli.db.parent / name
    path.write_text(text, encoding="utf-8")
    return path


def test_set_keeps_a_rule_in_the_store_with_who_and_when(cli):
    result = cli.json("config", "set", "recycle.days", "45")
    assert result == {
        "changed": [
            {
                "at": "2026-11-29T01:00:00Z",
                "actor": "test",
                "key": "recycle.days",
                "old": None,
                "new": "45",
                "command": "config set",
            }
        ],
        "unchanged": 0,
    }
    shown = rules(cli)["recycle.days"]
    assert (shown["value"], shown["source"]) == (45, "store")
    assert cli.sql("select key, value, changed_by from setting") == [("recycle.days", "45", "test")]
    cli("config", "set", "recycle.days", "60", now="2026-11-30T10:00:00")
    history = cli.json("config", "history")
    assert [(h["at"], h["actor"], h["key"], h["old"], h["new"]) for h in history] == [
        ("2026-11-29T01:00:00Z", "test", "recycle.days", None, "45"),
        ("2026-11-30T02:00:00Z", "test", "recycle.days", "45", "60"),
    ]
    assert len(cli.json("config", "history", "recycle.days")) == 2
    assert cli.json("config", "history", "claims.daily_limit") == []
    assert "unknown key 'recycle.dys'" in cli.fails("config", "history", "recycle.dys").stderr
    table = cli("config", "history").stdout
    assert "recycle.days" in table and "(not set)" in table and "config set" in table


def test_set_reads_values_as_toml_writes_them(cli):
    cli("config", "set", "timezone", "Europe/Berlin")  # plain text: no quotes needed
    cli("config", "set", "commission.direct", '"0.07"')
    cli("config", "set", "hunting.threshold", "0.25")  # a TOML float, kept exact
    cli("config", "set", "recycle.warn", "[7, 3, 1]")
    cli("config", "set", "claims.capacity_counts", '["prospecting", "商务谈判"]')
    cli("config", "set", "recycle.level_days.VIP", "120")  # an open table: the team's levels
    assert dict(cli.sql("select key, value from setting")) == {
        "timezone": '"Europe/Berlin"',
        "commission.direct": '"0.07"',
        "hunting.threshold": '"0.25"',
        "recycle.warn": "[7, 3, 1]",
        "claims.capacity_counts": '["prospecting", "negotiating"]',
        "recycle.level_days.VIP": "120",
    }
    shown = rules(cli)
    assert shown["commission.direct"]["value"] == "0.07"
    assert shown["recycle.warn"]["value"] == [7, 3, 1]
    assert shown["recycle.level_days.VIP"] == {**shown["recycle.level_days.VIP"], "value": 120}
    assert shown["recycle.level_days.VIP"]["source"] == "store"


def test_setting_a_rule_to_what_the_store_holds_records_nothing(cli):
    cli("config", "set", "claims.daily_limit", "5")
    again = cli.json("config", "set", "claims.daily_limit", "5")
    assert again == {"changed": [], "unchanged": 1}
    assert len(cli.json("config", "history")) == 1


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("recycle.dayz", "45", "error: unknown key 'recycle.dayz' (did you mean 'recycle.days'?"),
        ("recycle.days", "0", "error: key 'recycle.days': value 0 must be a whole number of days"),
        ("recycle.days", "many", "error: key 'recycle.days': value 'many' must be a whole number"),
        ("timezone", "Mars/Base", "error: key 'timezone': value 'Mars/Base' is not a known time"),
        ("recycle.warn", "[1, 3]", "error: key 'recycle.warn': value [1, 3] must list each day"),
        ("recycle", "{days = 3}", "error: unknown key 'recycle'"),
        ("recycle.days", "-1", "error: key 'recycle.days': value -1 must be a whole number"),
    ],
)
def test_set_refuses_what_salespool_toml_refuses(cli, key, value, said):
    cli("config", "set", "claims.daily_limit", "5")
    failed = cli.fails("config", "set", key, value)
    assert failed.stderr.startswith(said), failed.stderr


def test_set_needs_a_store_and_creates_none(cli, tmp_path):
    missing = tmp_path / "nothing.db"
    result = cli.runner.invoke(
        cli_app(), ["--db", str(missing), "config", "set", "recycle.days", "45"]
    )
    assert result.exit_code == 1 and result.stderr.startswith("error: no store at")
    assert not missing.exists()


def cli_app():
    from salespool.cli import app

    return app


def test_unset_takes_a_rule_out_of_the_store(cli):
    cli("config", "set", "recycle.days", "45")
    result = cli.json("config", "unset", "recycle.days")
    assert [(c["key"], c["old"], c["new"], c["command"]) for c in result["changed"]] == [
        ("recycle.days", "45", None, "config unset")
    ]
    assert rules(cli)["recycle.days"]["source"] == "default"
    assert cli.sql("select count(*) from setting") == [(0,)]
    # A key the store does not keep: nothing to do, nothing recorded.
    assert cli.json("config", "unset", "recycle.days") == {"changed": [], "unchanged": 1}
    assert len(cli.json("config", "history")) == 2
    cli.fails("config", "unset", "recycle.dayz")


def test_load_stores_every_rule_of_a_file(cli):
    cli("config", "set", "claims.daily_limit", "5")
    path = write_rules(cli, "[recycle]\ndays = 45\nwarn = [7, 3]\n\n[claims]\ndaily_limit = 5\n")
    result = cli.json("config", "load", str(path))
    assert result["file"] == str(path) and result["unchanged"] == 1
    assert [(c["key"], c["new"], c["command"]) for c in result["changed"]] == [
        ("recycle.days", "45", f"config load {path}"),
        ("recycle.warn", "[7, 3]", f"config load {path}"),
    ]
    assert dict(cli.sql("select key, value from setting")) == {
        "claims.daily_limit": "5",
        "recycle.days": "45",
        "recycle.warn": "[7, 3]",
    }


def test_load_replace_keeps_exactly_the_files_rules(cli):
    cli("config", "set", "claims.daily_limit", "5")
    cli("config", "set", "recycle.days", "40")
    path = write_rules(cli, "[recycle]\ndays = 45\n")
    result = cli.json("config", "load", str(path), "--replace")
    assert [(c["key"], c["old"], c["new"]) for c in result["changed"]] == [
        ("claims.daily_limit", "5", None),
        ("recycle.days", "40", "45"),
    ]
    assert cli.sql("select key, value from setting") == [("recycle.days", "45")]


def test_a_bad_file_is_refused_whole_naming_file_line_and_key(cli):
    cli("config", "set", "claims.daily_limit", "5")
    path = write_rules(cli, "[recycle]\ndays = 45\nstage_days.won = -1\n", name="bad.toml")
    failed = cli.fails("config", "load", str(path))
    assert failed.stderr.startswith(f"error: {path}:3: key 'recycle.stage_days.won': value -1")
    assert cli.sql("select key from setting") == [("claims.daily_limit",)]  # not even days
    unknown = write_rules(cli, "[claims]\ndaily_limt = 3\n", name="typo.toml")
    assert (
        f"{unknown}:2: unknown key 'claims.daily_limt'"
        in cli.fails("config", "load", str(unknown)).stderr
    )
    broken = write_rules(cli, "[recycle\n", name="broken.toml")
    assert f"{broken}: not valid TOML" in cli.fails("config", "load", str(broken)).stderr
    missing = cli.db.parent / "nope.toml"
    assert cli.fails("config", "load", str(missing)).stderr == f"error: {missing}: no such file\n"


def test_a_stored_rule_changes_what_recycle_does(book):
    assert taken(book.json("recycle", "--dry-run")) == {
        "Acme Logistics": "idle 30+ days (stage negotiating)",
        "Blue River Foods": "idle 15+ days (stage prospecting)",
    }
    for key, value in KEEP_ALL.items():
        book("config", "set", key, value)
    assert book.json("recycle")["count"] == 0
    book("config", "set", "recycle.stage_days.negotiating", "58")
    assert taken(book.json("recycle")) == {"Acme Logistics": "idle 58+ days (stage negotiating)"}


def test_a_stored_time_zone_reads_typed_dates(cli):
    cli("config", "set", "timezone", "America/New_York")
    env = {"SALESPOOL_NOW": cli.now, "SALESPOOL_TZ": "", "SALESPOOL_ACTOR": "test"}
    run = cli.runner.invoke(
        cli_app(),
        ["--db", cli.url, "rep", "add", "zoe", "--hired", "2026-01-05", "--json"],
        env=env,
    )
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["hired_at"].startswith("2026-01-05T05:00:00")


def test_on_a_store_without_team_mode_the_file_wins_key_by_key(book):
    for key, value in KEEP_ALL.items():
        book("config", "set", key, value)
    use_rules(book, stage_days__negotiating=58)  # the file sets one key; the store the rest
    shown = book.json("config", "show")
    assert shown["team"] is False and shown["stored"] == 3
    assert shown["precedence"] == "salespool.toml wins over the store, key by key"
    assert shown["rules"]["recycle.stage_days.negotiating"]["source"] == f"{book.config}:2"
    assert shown["rules"]["recycle.stage_days.prospecting"]["source"] == "store"
    assert taken(book.json("recycle")) == {"Acme Logistics": "idle 58+ days (stage negotiating)"}
    # Storing a key this machine's file also sets says the file wins here.
    stored = book("config", "set", "recycle.stage_days.negotiating", "60")
    assert f"{book.config}:2 sets recycle.stage_days.negotiating too" in stored.stderr


def test_a_bad_rule_in_the_store_is_refused_and_can_be_mended(cli):
    cli.execute("INSERT INTO setting VALUES ('recycle.days', '0', '2026-11-01 00:00:00', 'x')")
    failed = cli.fails("config", "show")
    assert failed.stderr.startswith("error: store: key 'recycle.days': value 0 must be")
    cli("config", "unset", "recycle.days")
    assert rules(cli)["recycle.days"]["source"] == "default"


def test_a_team_store_refuses_a_local_rules_file(book, monkeypatch, make_team_store):
    make_team_store(book)
    use_rules(book, days=10)
    for args in (["recycle"], ["customers"], ["config", "show"], ["claim", "C4", "--rep", "bob"]):
        failed = book.fails(*args)
        assert failed.stderr.startswith(
            f"error: {book.config}: a team store takes its rules from the store"
        ), failed.stderr
    # Found in the working directory, not given: refused the same way.
    book.config = None
    monkeypatch.chdir(book.db.parent)
    assert "a team store takes its rules" in book.fails("pool").stderr


def test_a_team_store_lets_simulate_and_dry_runs_try_a_file(book, make_team_store):
    make_team_store(book)
    for key, value in KEEP_ALL.items():
        book("config", "set", key, value)
    use_rules(book, stage_days__negotiating=58)
    tried = book("recycle", "--dry-run", "--json")
    assert taken(json.loads(tried.stdout)) == {
        "Acme Logistics": "idle 58+ days (stage negotiating)"
    }
    assert "trying the rules in" in tried.stderr
    assert book.json("simulate", "--days", "58")["thresholds"]
    assert book.sql("select count(*) from event where kind = 'recycled'") == [(0,)]
    # Without the file, the store's rules alone, and nothing is due.
    book.config = None
    shown = book.json("config", "show")
    assert shown["team"] is True and shown["file"] is None
    assert shown["rules"]["recycle.stage_days.negotiating"]["source"] == "store"
    assert book.json("recycle")["count"] == 0


def test_a_team_store_takes_rules_through_config_load_even_beside_a_file(
    cli, monkeypatch, make_team_store
):
    make_team_store(cli)
    path = write_rules(cli, "[recycle]\ndays = 45\n")
    monkeypatch.chdir(cli.db.parent)  # ./salespool.toml is found, as a manager would have it
    cli("config", "load", "salespool.toml")
    cli("config", "set", "claims.daily_limit", "3")
    assert len(cli.json("config", "history")) == 2
    path.unlink()
    assert rules(cli)["recycle.days"] == {**rules(cli)["recycle.days"], "source": "store"}


def test_show_reads_the_store_without_upgrading_an_old_one(cli):
    cli("config", "set", "recycle.days", "45")
    downgrade_to_schema_9(cli)
    shown = cli.json("config", "show")
    assert shown["stored"] == 0 and shown["rules"]["recycle.days"]["source"] == "default"
    assert cli.sql("select value from meta where key = 'schema_version'") == [("9",)]
    cli("customers")  # a command that needs the store upgrades it
    assert cli.sql("select value from meta where key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]


def test_rules_that_cannot_be_read_are_never_taken_for_the_defaults(cli):
    # A server that does not answer: `config show` says so rather than show the defaults.
    down = "postgresql+psycopg://postgres@127.0.0.1:1/salespool"
    result = cli.runner.invoke(cli_app(), ["--db", down, "config", "show"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot read the team's rules in the store: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ["recycle", "--dry-run"],
        ["simulate", "--days", "30"],
        ["assign", "--to", "bob", "--dry-run"],
        ["import", "{csv}", "--dry-run"],
    ],
)
def test_every_run_that_only_tries_may_read_a_file_on_a_team_store(book, args, make_team_store):
    make_team_store(book)
    use_rules(book, days=10)
    csv = write_rules(book, "name\nNew Co\n", name="new.csv")
    before = book.snapshot()
    run = book(*[str(csv) if a == "{csv}" else a for a in args])
    assert "trying the rules in" in run.stderr
    assert book.snapshot() == before


def downgrade_to_schema_9(cli: Cli) -> None:
    """Make the store one from before rules were kept: no tables for them, stamped 9."""
    cli.execute("DROP TABLE setting_event")
    cli.execute("DROP TABLE setting")
    cli.execute("DELETE FROM migration WHERE name = 'm011_settings'")
    cli.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")


def test_help_and_config_init_neither_create_nor_upgrade_a_store(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    downgrade_to_schema_9(cli)
    cli("config", "init", "--out", str(tmp_path / "rules.toml"))
    cli("config", "set", "--help")
    assert cli.sql("select value from meta where key = 'schema_version'") == [("9",)]
    for command in ("set", "load", "history"):
        heavy = loaded("config", command, "--help", cwd=tmp_path) & set(HEAVY)
        assert heavy <= {"pydantic"}, (command, heavy)

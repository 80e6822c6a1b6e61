"""The command line itself: global options, help, the store's creation, output formats."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from salespool import __version__
from salespool.cli import app
from salespool.models import SCHEMA_VERSION

COMMANDS = [
    ["init"],
    ["rep", "add"],
    ["rep", "set"],
    ["rep", "list"],
    ["rep", "leave"],
    ["import"],
    ["import-followups"],
    ["import-deals"],
    ["customers"],
    ["log"],
    ["deal"],
    ["recycle"],
    ["due"],
    ["simulate"],
    ["lock"],
    ["unlock"],
    ["pool"],
    ["claim"],
    ["assign"],
    ["release"],
    ["report"],
    ["coach"],
    ["commission"],
    ["history"],
    ["deal", "void"],
    ["deals"],
    ["export"],
    ["backup"],
    ["restore"],
    ["config", "show"],
    ["demo"],
]


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"salespool {__version__}"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example" in result.stdout


@pytest.mark.sqlite_only
@pytest.mark.no_store
def test_init_creates_a_private_wal_store_once(cli):
    assert not cli.db.exists()
    assert cli.json("init") == {"db": str(cli.db), "schema_version": SCHEMA_VERSION}
    assert stat.S_IMODE(os.stat(cli.db).st_mode) == 0o600
    assert cli.sql("pragma journal_mode") == [("wal",)]
    before = cli.snapshot()
    cli("init")
    assert cli.snapshot() == before


def test_the_default_store_is_created_on_first_use_of_any_command(tmp_path, monkeypatch):
    # Only the default location: a --db or SALESPOOL_DB that names nothing is refused
    # (tests/test_store.py), so a typo never becomes an empty store.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("SALESPOOL_DB", raising=False)
    result = CliRunner().invoke(app, ["customers", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert (tmp_path / "data" / "salespool" / "salespool.db").is_file()


def test_default_store_lives_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("SALESPOOL_DB", raising=False)
    result = CliRunner().invoke(app, ["init", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["db"] == str(tmp_path / "data" / "salespool" / "salespool.db")


def test_db_and_now_come_from_the_environment(tmp_path):
    db = tmp_path / "env.db"
    env = {"SALESPOOL_DB": str(db), "SALESPOOL_NOW": "2026-01-02T03:04:05Z", "SALESPOOL_TZ": "UTC"}
    assert CliRunner().invoke(app, ["init"], env=env).exit_code == 0
    result = CliRunner().invoke(app, ["rep", "add", "alice", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["hired_at"] == "2026-01-02T03:04:05Z"
    assert db.exists()


def test_bad_global_options_are_one_line_errors(tmp_path):
    runner = CliRunner()
    for args, text in (
        (["--now", "soon", "init"], "--now: cannot read 'soon'"),
        (["--tz", "Mars/Base", "init"], "unknown time zone 'Mars/Base'"),
    ):
        result = runner.invoke(app, ["--db", str(tmp_path / "x.db"), *args])
        assert result.exit_code == 1 and text in result.stderr
        assert result.stderr.count("\n") == 1


def test_unopenable_database_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(app, ["--db", str(blocker / "sub" / "x.db"), "init"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_json_and_csv_together_is_a_usage_error(book):
    book.fails("customers", "--json", "--csv", code=2)


def test_every_json_output_is_exactly_one_document(book):
    for args in (
        ["customers"],
        ["pool"],
        ["rep", "list"],
        ["report"],
        ["history", "C1"],
        ["recycle", "--days", "400", "--dry-run"],
        ["assign", "C4", "--to", "bob", "--dry-run"],
        ["import", str(book.db.parent / "customers.csv"), "--dry-run"],
    ):
        json.loads(book(*args, "--json").stdout)


def test_csv_listing_has_a_header_and_a_row_per_customer(book):
    lines = book("customers", "--csv").stdout.splitlines()
    assert lines[0].startswith("id,external_id,name,owner,stage,last_contact_at")
    assert len(lines) == 6


def test_python_dash_m_runs_the_cli(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "salespool", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"salespool {__version__}"

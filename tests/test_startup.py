"""Start-up: what a command loads before it runs, and what the global options defer.

Timings live in benchmarks/ (the `startup` step); here only what can fail the same
way on every machine: which modules a command imports, and that a command which
needs no rules, clock or store reads none of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli
from typer.testing import CliRunner

from salespool.cli import app

# What `salespool --help` must not load: the database layer, the dates library, the
# file readers and the server driver load when a command needs them.
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "pendulum", "phonenumbers", "openpyxl", "psycopg")

_LOADED = """
import json, sys
from salespool.cli import app
try:
    app(sys.argv[1:], prog_name="salespool")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


def loaded(*args: str, cwd: Path) -> set[str]:
    """The top-level packages a fresh interpreter has imported after `salespool ARGS`."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *args], capture_output=True, text=True, cwd=cwd
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_help_and_version_load_nothing_heavy(args, tmp_path):
    assert not loaded(*args, cwd=tmp_path) & set(HEAVY)


@pytest.mark.parametrize(
    "command", ["report", "import", "recycle", "notify", "config init", "rep add"]
)
def test_a_commands_help_loads_no_database_layer(command, tmp_path):
    # Typer itself converts option values with pydantic once a command is chosen, so
    # pydantic is allowed here; the rest still waits for a command that runs.
    heavy = loaded(*command.split(), "--help", cwd=tmp_path) & set(HEAVY)
    assert heavy <= {"pydantic"}, heavy


def test_config_init_writes_over_a_broken_rules_file(cli: Cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "salespool.toml"
    broken.write_text("[recycle\ndays = ", encoding="utf-8")
    # Every command that reads the rules refuses the broken file, naming it...
    failed = cli.fails("config", "show")
    assert f"{broken}: not valid TOML" in failed.stderr
    # ... but the command that replaces it does not need to read it first.
    cli("config", "init", "--force")
    assert "[recycle]" in broken.read_text(encoding="utf-8")
    assert cli.json("config", "show")["rules"]["recycle.days"]["value"] == 30


def test_a_bad_clock_option_is_refused_by_a_command_that_needs_no_clock(cli: Cli):
    failed = cli.fails("--tz", "Mars/Base", "config", "init", "--out", "x.toml")
    assert failed.stderr == "error: unknown time zone 'Mars/Base'\n"
    assert not Path("x.toml").exists()


def set_store_zone(cli: Cli, zone: str) -> None:
    cli.execute("INSERT INTO meta (key, value) VALUES ('timezone', :zone)", zone=zone)


def without_zone(cli: Cli, *args: str):
    """Run with no --tz and no SALESPOOL_TZ, so the zone comes from the file, store or machine."""
    env = {"SALESPOOL_NOW": cli.now, "SALESPOOL_TZ": "", "SALESPOOL_ACTOR": "test"}
    rules = ["--config", str(cli.config)] if cli.config else []
    result = cli.runner.invoke(app, ["--db", cli.url, *rules, *args], env=env)
    assert result.exit_code == 0, result.stderr
    return result


def test_a_store_keeps_its_time_zone(cli: Cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./salespool.toml
    set_store_zone(cli, "America/New_York")
    shown = json.loads(without_zone(cli, "config", "show", "--json").stdout)
    assert shown["rules"]["timezone"] == {
        **shown["rules"]["timezone"],
        "value": "America/New_York",
        "source": "store",
    }
    # A typed date is read in the store's zone: midnight in New York is 05:00 UTC.
    added = json.loads(
        without_zone(cli, "rep", "add", "zoe", "--hired", "2026-01-05", "--json").stdout
    )
    assert added["hired_at"].startswith("2026-01-05T05:00:00")


def test_the_rules_file_and_tz_beat_the_store_zone(cli: Cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    set_store_zone(cli, "America/New_York")
    (tmp_path / "salespool.toml").write_text('timezone = "Europe/Berlin"\n', encoding="utf-8")
    shown = json.loads(without_zone(cli, "config", "show", "--json").stdout)
    assert shown["rules"]["timezone"]["value"] == "Europe/Berlin"
    assert cli.json("config", "show")["rules"]["timezone"]["source"] == "SALESPOOL_TZ"


def test_learning_the_zone_never_creates_a_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nothing-here.db"
    env = {"SALESPOOL_TZ": "", "XDG_DATA_HOME": str(tmp_path / "data")}
    result = CliRunner().invoke(app, ["--db", str(missing), "config", "show", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rules"]["timezone"]["source"] == "machine"
    assert not missing.exists() and not (tmp_path / "data").exists()

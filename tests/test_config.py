"""The rules file: found, validated with key and line, shown with sources."""

from __future__ import annotations

import json
from pathlib import Path

from salespool.cli import app


def test_defaults_without_a_file(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    shown = cli.json("config", "show")
    assert shown["file"] is None
    days = shown["rules"]["recycle.days"]
    assert (days["value"], days["source"]) == (30, "default") and "idle days" in days["help"]
    assert shown["rules"]["recycle.stage_days.prospecting"]["value"] == 15


def test_values_come_with_their_file_and_line(cli, tmp_path):
    path = tmp_path / "team.toml"
    path.write_text('timezone = "UTC"\n\n[recycle]\ndays = 20\n\n[recycle.level_days]\nA = 90\n')
    result = cli.runner.invoke(
        app, ["--db", cli.url, "--config", str(path), "config", "show", "--json"]
    )
    shown = json.loads(result.stdout)
    rules = {key: (r["value"], r["source"]) for key, r in shown["rules"].items()}
    assert rules["recycle.days"] == (20, f"{path}:4")
    assert rules["recycle.level_days.A"] == (90, f"{path}:7")
    assert rules["timezone"] == ("UTC", f"{path}:1")
    assert "level A" in shown["rules"]["recycle.level_days.A"]["help"]


def test_config_found_in_the_working_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "salespool.toml").write_text("[claims]\ndaily_limit = 5\n")
    assert cli.json("config", "show")["rules"]["claims.daily_limit"]["value"] == 5


def test_bad_files_are_refused_with_key_and_line(cli, tmp_path):
    cases = {
        "[recycle]\ndays = -3\n": ":2: key 'recycle.days': value -3 must be",
        "[recycle]\ndayz = 3\n": ":2: unknown key 'recycle.dayz'",
        "[recycle\n": "not valid TOML",
        '[commission]\nonline = "lots"\n': ":2: key 'commission.online'",
        'timezone = "Mars/Base"\n': ":1: key 'timezone'",
    }
    for text, message in cases.items():
        path = tmp_path / "bad.toml"
        path.write_text(text)
        result = cli.runner.invoke(app, ["--db", cli.url, "--config", str(path), "customers"])
        assert result.exit_code == 1, text
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    missing = cli.runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "customers"])
    assert missing.exit_code == 1 and "no file at" in missing.stderr


def test_the_example_config_sets_every_rule(cli):
    example = Path(__file__).resolve().parent.parent / "examples" / "salespool.toml"
    result = cli.runner.invoke(
        app, ["--db", cli.url, "--config", str(example), "config", "show", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    rules = json.loads(result.stdout)["rules"]
    assert [key for key, rule in rules.items() if rule["source"] == "default"] == []
    assert rules["recycle.level_days.A"]["value"] == 90

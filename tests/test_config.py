"""The rules file: found, validated with key and line, shown with sources."""

from __future__ import annotations

import json
from pathlib import Path

from salespool.cli import app
from salespool.config import RULES


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
    """examples/salespool.toml sets every rule salespool knows, each with a comment."""
    from salespool.config import RULES

    example = Path(__file__).resolve().parent.parent / "examples" / "salespool.toml"
    # timezone is the one rule the environment overrides (SALESPOOL_TZ, as --tz): unset it
    # so the file's own value shows.
    result = cli.runner.invoke(
        app,
        ["--db", cli.url, "--config", str(example), "config", "show", "--json"],
        env={"SALESPOOL_TZ": None},
    )
    assert result.exit_code == 0, result.stderr
    rules = json.loads(result.stdout)["rules"]
    assert [key for key, rule in rules.items() if rule["source"] == "default"] == []
    # Every rule of RULES, not only those config show happens to list, comes from the file.
    not_from_file = [r.key for r in RULES if not rules[r.key]["source"].startswith(f"{example}:")]
    assert not_from_file == []
    assert rules["recycle.level_days.A"]["value"] == 90
    assert rules["timezone"]["value"] == "Asia/Shanghai"
    # Each line that sets a rule says what it does.
    lines = example.read_text(encoding="utf-8").splitlines()
    bare = [line for line in lines if "=" in line.split("#")[0] and "#" not in line]
    assert bare == []


def _show(cli, tmp_path, *options: str, env: dict[str, str] | None = None):
    # A rules file deep in a long path: its file:line is the widest cell of the table.
    deep = tmp_path / "a_rather_long_directory_name_for_the_team" / "config"
    deep.mkdir(parents=True)
    path = deep / "salespool.toml"
    path.write_text('timezone = "Asia/Shanghai"\n[coaching]\nfirst_negotiation_days = 40\n')
    args = ["--db", cli.url, "--config", str(path), *options, "config", "show"]
    result = cli.runner.invoke(
        app, args, env={"COLUMNS": "80", "SALESPOOL_TZ": None, **(env or {})}
    )
    assert result.exit_code == 0, result.stderr
    return path, result.stdout


def test_config_show_never_breaks_a_key_at_80_columns(cli, tmp_path):
    path, out = _show(cli, tmp_path)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    firsts = [line.split()[0] for line in lines if line.startswith(" ") and line.split()]
    keys = json.loads(_show_json(cli, path))["rules"]
    for key in keys:
        assert key in firsts, key  # whole, on one line
    row = next(line for line in lines if "coaching.first_negotiation_days" in line)
    assert "40" in row and "salespool.toml:3" in row


def _show_json(cli, path) -> str:
    args = ["--db", cli.url, "--config", str(path), "config", "show", "--json"]
    return cli.runner.invoke(app, args, env={"SALESPOOL_TZ": None}).stdout


def test_config_show_names_the_time_zone_in_effect_and_who_chose_it(cli, tmp_path, monkeypatch):
    path, out = _show(cli, tmp_path)
    assert "Asia/Shanghai" in out and "salespool.toml:1" in out
    args = ["--db", cli.url, "--config", str(path), "config", "show", "--json"]
    cases = [
        ([], {}, ("Asia/Shanghai", f"{path}:1")),
        (["--tz", "Europe/Paris"], {"SALESPOOL_TZ": "UTC"}, ("Europe/Paris", "--tz")),
        ([], {"SALESPOOL_TZ": "UTC"}, ("UTC", "SALESPOOL_TZ")),
    ]
    for options, env, expected in cases:
        result = cli.runner.invoke(app, [*options, *args], env={"SALESPOOL_TZ": None, **env})
        zone = json.loads(result.stdout)["rules"]["timezone"]
        assert (zone["value"], zone["source"]) == expected, (options, env)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    bare = cli.runner.invoke(
        app, ["--db", cli.url, "config", "show", "--json"], env={"SALESPOOL_TZ": None}
    )
    zone = json.loads(bare.stdout)["rules"]["timezone"]
    assert zone["source"] == "machine" and zone["value"]  # the machine's zone, named


def _values(cli, *rules: str) -> dict:
    result = cli.runner.invoke(
        app, ["--db", cli.url, *rules, "config", "show", "--json"], env={"SALESPOOL_TZ": "UTC"}
    )
    assert result.exit_code == 0, result.stderr
    return {key: rule["value"] for key, rule in json.loads(result.stdout)["rules"].items()}


def test_config_init_writes_every_rule_at_its_default(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    defaults = _values(cli)
    written = cli.json("config", "init")
    path = tmp_path / "salespool.toml"
    assert written == {"file": "salespool.toml", "rules": len(defaults)}
    text = path.read_text(encoding="utf-8")
    # Every rule is in the file with its meaning: the file is made from the rule table.
    for rule in RULES:
        assert rule.help.split()[0] in text
        assert f"{rule.key.rpartition('.')[2]} = " in text, rule.key
    loaded = _values(cli, "--config", str(path))
    assert loaded == defaults
    sources = cli.json("config", "show")["rules"]
    assert sources["recycle.days"]["source"] == f"{path}:{_line(text, 'days = 30')}"
    assert sources["timezone"]["source"] != "default"  # commented out: the zone comes from env


def _line(text: str, wanted: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line == wanted)


def test_config_init_refuses_to_overwrite_without_force(cli, tmp_path):
    path = tmp_path / "team.toml"
    path.write_text("[claims]\ndaily_limit = 5\n")
    result = cli.fails("config", "init", "--out", str(path))
    assert result.stderr == f"error: {path} exists; add --force to overwrite it\n"
    assert path.read_text() == "[claims]\ndaily_limit = 5\n"
    cli("config", "init", "--out", str(path), "--force")
    assert _values(cli, "--config", str(path))["claims.daily_limit"] == 20
    assert "wrote" in cli("config", "init", "--out", str(tmp_path / "new.toml")).stdout


def test_config_init_refuses_a_folder_or_a_missing_one(cli, tmp_path):
    assert "is a directory" in cli.fails("config", "init", "--out", str(tmp_path)).stderr
    missing = cli.fails("config", "init", "--out", str(tmp_path / "no" / "x.toml"))
    assert "--out: cannot write" in missing.stderr

"""Help says what to type: `--to NAME`, a bare `--dry-run`, `CUSTOMER`; never Python types."""

from __future__ import annotations

import re

import pytest
from typer.main import get_command

from salespool.cli import app

COMMANDS = sorted(get_command(app).commands)
PYTHON_TYPES = re.compile(r"<(str|bool|int|float|list\[[^\]]*\]|path|int range)>|\{\w+\}")


def _help(runner, *words: str) -> str:
    result = runner.invoke(app, [*words, "-h"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_names_values_not_python_types(cli, command):
    shown = _help(cli.runner, *command.split())
    assert not PYTHON_TYPES.findall(shown), PYTHON_TYPES.findall(shown)
    assert all(len(line) <= 80 for line in shown.splitlines())


def test_options_say_what_they_take_and_switches_take_nothing(cli):
    shown = _help(cli.runner, "assign")
    assert re.search(r"--to\s+NAME\s", shown)
    assert re.search(r"--dry-run\s+Show what", shown)
    assert "[CUSTOMER...]" in shown
    words = " ".join(re.sub(r"[│╭╮╰╯─]", " ", shown).split())
    assert "One of: rookie, rep, coach, manager." in words
    assert re.search(r"Usage: \S+ log \[OPTIONS\] CUSTOMER\s", _help(cli.runner, "log"))

"""Shell completion through the protocol the shells speak: commands, options, choices,
stages, kinds and rep names, read from the store `--db` names without ever making one."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from salespool.cli import app
from salespool.cli.completion import STAGES
from salespool.core.vocabulary import FOLLOWUP_KINDS
from salespool.models import STAGE_ALIASES, Stage

# The real CLI under the name a shell calls it by: the completion variable follows it.
SALESPOOL = f"#!{sys.executable}\nfrom salespool.cli import main\nmain()\n"
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "pendulum", "phonenumbers", "openpyxl", "psycopg")


def bash(*words: str, env: dict[str, str | None] | None = None) -> tuple[list[str], str]:
    """What bash's TAB offers after `salespool WORDS` (the last word is the one typed so
    far; '' for a new word): the candidates and what went to stderr."""
    line = ["salespool", *words]
    result = CliRunner().invoke(
        app,
        [],
        env={
            "_SALESPOOL_COMPLETE": "complete_bash",
            "COMP_WORDS": " ".join(line),
            "COMP_CWORD": str(len(line) - 1),
            **(env or {}),
        },
    )
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result.stdout.split(), result.stderr


def offered(*words: str, env: dict[str, str | None] | None = None) -> list[str]:
    """bash's candidates after `salespool WORDS`; nothing may go to stderr."""
    candidates, stderr = bash(*words, env=env)
    assert stderr == ""
    return candidates


def shell_line(shell: str, line: str) -> str:
    """What zsh or fish (which send the line so far) get back for `line`."""
    env = {"_SALESPOOL_COMPLETE": f"complete_{shell}", "_TYPER_COMPLETE_ARGS": line}
    if shell == "fish":
        env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    result = CliRunner().invoke(app, [], env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    return result.stdout


def test_commands_and_subcommands_complete():
    assert {"report", "restore", "recycle", "release", "rep"} == set(offered("re"))
    assert {"add", "set", "list", "rename", "leave"} <= set(offered("rep", ""))


def test_options_complete():
    assert {"--rep", "--kind", "--note", "--at", "--stage", "--next"} <= set(
        offered("log", "C1", "--")
    )
    assert {"--db", "--now", "--install-completion", "--show-completion"} <= set(offered("--"))


def test_kind_completes_the_english_names():
    assert offered("log", "C1", "--kind", "") == list(FOLLOWUP_KINDS)
    assert offered("log", "C1", "--kind", "w") == ["wechat"]
    # A Chinese label typed so far completes to the name it stands for.
    assert offered("log", "C1", "--kind", "微") == ["wechat"]
    assert offered("log", "C1", "--kind", "fax") == []


def test_zsh_and_fish_show_the_chinese_label_beside_a_kind():
    assert '"wechat":"微信"' in shell_line("zsh", "salespool log C1 --kind ")
    assert "call\t电话" in shell_line("fish", "salespool log C1 --kind ").splitlines()


def test_stage_completes_names_and_chinese_labels():
    assert offered("customers", "--stage", "") == [s.value for s in Stage]
    assert offered("customers", "--stage", "ma") == ["maintaining"]
    assert offered("log", "C1", "--rep", "x", "--stage", "商务") == ["negotiating"]


def test_the_stage_list_is_the_models_own():
    assert list(STAGES) == [s.value for s in Stage]
    assert {stage.value: label for label, stage in STAGE_ALIASES.items()} == STAGES


def test_choices_complete():
    assert offered("assign", "--strategy", "") == ["round-robin", "least-loaded", "rookie-first"]
    assert offered("rep", "add", "dora", "--role", "") == ["rookie", "rep", "coach", "manager"]
    assert offered("export", "") == ["customers", "followups", "deals", "events"]


def test_rep_names_complete_from_the_store_db_names(book):
    book("rep", "add", "ann", "--role", "rookie")
    db = ["--db", book.url]
    assert offered(*db, "customers", "--rep", "") == ["alice", "ann", "bob"]
    assert offered(*db, "customers", "--rep", "al") == ["alice"]
    assert offered(*db, "log", "C1", "--rep", "b") == ["bob"]
    assert offered(*db, "assign", "--to", "alice", "--to", "") == ["alice", "ann", "bob"]
    assert offered(*db, "rep", "add", "cora", "--coach", "a") == ["alice", "ann"]
    assert offered(*db, "rep", "set", "") == ["alice", "ann", "bob"]
    assert offered(*db, "rep", "rename", "b") == ["bob"]
    assert offered(*db, "rep", "leave", "ann") == ["ann"]
    assert offered(*db, "coach", "") == ["alice", "ann", "bob"]
    assert offered(*db, "customer", "merge", "C1", "C3", "--owner", "") == ["alice", "ann", "bob"]
    # A new rep's name is theirs to make up.
    assert offered(*db, "rep", "add", "") == []
    # The store named by SALESPOOL_DB, as every command reads it.
    assert offered("claim", "C4", "--rep", "", env={"SALESPOOL_DB": book.url}) == [
        "alice",
        "ann",
        "bob",
    ]


def test_a_missing_store_gives_no_names_and_is_not_created(tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "team.db"
    assert offered("--db", str(missing), "claim", "C1", "--rep", "") == []
    assert offered("--db", f"sqlite:///{missing}", "claim", "C1", "--rep", "") == []
    assert not (tmp_path / "no").exists()
    # The default store in the user data directory is not made either.
    data = tmp_path / "data"
    home = {"XDG_DATA_HOME": str(data), "HOME": str(tmp_path / "home"), "SALESPOOL_DB": None}
    assert offered("claim", "C1", "--rep", "", env=home) == []
    assert not data.exists()
    assert not (tmp_path / "home").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.sqlite_only
def test_a_damaged_or_foreign_store_gives_no_names(book, tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all\n" * 10)
    cut = tmp_path / "cut.db"
    cut.write_bytes(book.db.read_bytes()[:4096])
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE rep (name TEXT)")
    conn.execute("INSERT INTO rep VALUES ('mallory')")
    conn.commit()
    conn.close()
    for db in (garbage, cut, foreign, tmp_path, "mysql://u@h/db", "postgresql://[bad"):
        assert offered("--db", str(db), "claim", "C1", "--rep", "") == [], db
    assert garbage.read_bytes() == b"not a database at all\n" * 10


@pytest.mark.sqlite_only
def test_a_locked_store_gives_no_names_at_once(book, tmp_path):
    locked = tmp_path / "locked.db"
    shutil.copy(book.db, locked)
    holder = sqlite3.connect(locked, isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")  # a restored copy: no WAL, readers wait
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        assert offered("--db", str(locked), "claim", "C1", "--rep", "") == []
        assert time.monotonic() - started < 5  # the short timeout, not the minute commands wait
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert offered("--db", str(locked), "claim", "C1", "--rep", "") == ["alice", "bob"]


@pytest.mark.sqlite_only
def test_reading_names_leaves_no_files_beside_the_store(book):
    before = sorted(p.name for p in book.db.parent.iterdir())
    assert offered("--db", str(book.db), "claim", "C1", "--rep", "") == ["alice", "bob"]
    assert sorted(p.name for p in book.db.parent.iterdir()) == before


@pytest.fixture
def salespool(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has a `salespool` running this checkout's code."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "salespool"
    script.write_text(SALESPOOL, encoding="utf-8")
    script.chmod(0o755)
    here = str(Path(__file__).parent.parent / "src")
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    return {
        **os.environ,
        "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": path,
        "HOME": str(tmp_path / "home"),
        # Typer's switch for naming the shell instead of detecting the one running.
        "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)


def test_show_completion_prints_each_shells_script(salespool):
    scripts = {
        "bash": "_SALESPOOL_COMPLETE=complete_bash",
        "zsh": "compdef _salespool_completion salespool",
        "fish": "complete --command salespool",
    }
    for shell, marker in scripts.items():
        result = run(salespool, "salespool", "--show-completion", shell)
        assert result.returncode == 0, result.stderr
        assert marker in result.stdout, (shell, result.stdout)


def test_install_completion_writes_the_bash_script(salespool, tmp_path):
    result = run(salespool, "salespool", "--install-completion", "bash")
    assert result.returncode == 0, result.stderr
    home = tmp_path / "home"
    assert "_SALESPOOL_COMPLETE" in (home / ".bash_completions" / "salespool.sh").read_text()
    assert "salespool.sh" in (home / ".bashrc").read_text()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_through_the_script_it_installs(salespool, book):
    # What bash does on TAB: the script's function fills COMPREPLY by running salespool.
    line = f"salespool --db {book.url} claim C4 --rep "
    script = f"""
source <(salespool --show-completion bash)
read -ra COMP_WORDS <<< '{line}'
COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_salespool_completion salespool
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    result = run(salespool, "bash", "--norc", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["alice", "bob"]
    assert result.stderr == ""


@pytest.mark.sqlite_only
def test_the_name_lookup_loads_no_database_library(book):
    # The rest of a TAB press's imports are the CLI's own, which `--help` checks.
    code = (
        "import sys\n"
        "from salespool.storage.lookup import rep_names\n"
        f"assert rep_names({str(book.db)!r}) == ['alice', 'bob']\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

"""The rooms of the package and the one direction their imports go.

cli/ parses, calls and renders; core/ holds the rules over a session; storage/
is the only room that knows SQLite from PostgreSQL. models and the helpers
beside them (keys, clock, money, config, errors, rules) reach neither core nor cli.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "salespool"
DRIVERS = ("sqlite3", "psycopg", "psycopg2")
BESIDE = ("keys", "clock", "money", "config", "errors", "models", "files", "rules")
# What each room may not import (prefixes of module names).
FORBIDDEN = {
    "core": ("salespool.cli", "typer", "rich", "salespool.render"),
    "storage": ("salespool.core", "salespool.cli", "typer", "rich", "salespool.render"),
    **{name: ("salespool.core", "salespool.cli", "salespool.storage", "typer") for name in BESIDE},
    # The HTML pages lay out the core's results: they never reach the database or the CLI.
    "pages": ("salespool.cli", "salespool.storage", "typer", "rich", "sqlalchemy", "sqlmodel"),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _room_files(room: str) -> list[Path]:
    folder = PACKAGE / room
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{room}.py"]


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_no_import_goes_against_the_layering(room):
    wrong = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _room_files(room)
        for name in sorted(_imports(path))
        if name.startswith(FORBIDDEN[room])
    ]
    assert not wrong, wrong


def test_only_storage_tells_sqlite_from_postgresql():
    outside = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        if "storage" not in path.parts
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.Attribute) and node.attr in ("dialect", "is_sqlite"))
        or (isinstance(node, ast.Import) and any(a.name in DRIVERS for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in DRIVERS)
    ]
    assert not outside, outside


# Core messages name arguments (`option=`), never the flags of the CLI that shows them.
FLAG = re.compile(r"--[a-z]")
FLAG_FREE = [*_room_files("core"), PACKAGE / "money.py", PACKAGE / "clock.py"]
# Not messages: what an event records as the command that was run (`import X --take-owner`).
RECORDED = {" --take-owner"}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are docstrings (of the module, classes, functions)."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def test_no_core_string_names_a_command_line_flag():
    named = []
    for path in FLAG_FREE:
        where = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(), str(path))
        docstrings = _docstrings(tree)
        named += [
            f"{where}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and FLAG.search(node.value)
            and node.value not in RECORDED
        ]
    assert not named, named

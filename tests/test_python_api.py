"""The README's "Use it from Python" example runs as written, so it cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def _example() -> str:
    """The python code block of the README's "Use it from Python" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Use it from Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, "the section holds one python example"
    return blocks[0]


def test_the_readme_example_runs_against_a_store(book, monkeypatch, capsys):
    monkeypatch.setenv("SALESPOOL_DB", book.url)
    exec(compile(_example(), str(README), "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert printed.startswith("rookie erin ['杭州云帆贸易有限公司'] [")
    assert "'claimed'" in printed
    owned = book.json("customers", "--rep", "erin")
    assert [c["external_id"] for c in owned] == ["C4"]
    assert [e["kind"] for e in book.json("history", "C4")][-1] == "claimed"

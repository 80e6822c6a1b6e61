"""The report's small charts in the terminal: a bar per rep in the funnel, a sparkline of
the hunting share per period; block characters on a terminal, plain ASCII otherwise."""

from __future__ import annotations

import io

import pytest

from salespool import render
from salespool.render import bar, fancy_chars, sparkline


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_block_characters_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(render.sys, "stdout", Tty())
    assert fancy_chars()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not fancy_chars()
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(render.sys, "stdout", io.StringIO())  # piped
    assert not fancy_chars()


def test_a_bar_is_as_long_as_its_share_of_the_longest():
    assert bar(10, 10, 10, fancy=False) == "#" * 10
    assert bar(5, 10, 10, fancy=False) == "#" * 5
    assert bar(0.1, 10, 10, fancy=False) == "#"  # something shows as at least a sliver
    assert bar(0, 10, 10, fancy=False) == ""
    assert bar(10, 10, 10, fancy=True) == "█" * 10
    assert bar(2.5, 10, 10, fancy=True) == "██▌"
    assert bar(0.01, 10, 10, fancy=True) == "▏"


@pytest.mark.parametrize(("fancy", "expected"), [(True, "▁ ▅█"), (False, "_ =#")])
def test_a_sparkline_has_a_mark_per_period_and_a_gap_for_none(fancy, expected):
    assert sparkline([0.0, None, 0.5, 1.0], fancy) == expected


def _lines_between(out: str, title: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    block = []
    for line in lines[start + 1 :]:
        if not line.strip() and block:
            break
        block.append(line)
    return block


def test_piped_report_draws_the_funnel_bars_in_ascii(cli, write_csv):
    rows = [f"A{n},alice" for n in range(4)] + ["B0,bob"]
    cli("import", str(write_csv("name,owner\n" + "\n".join(rows) + "\n")))
    out = cli("report").stdout
    funnel = _lines_between(out, "Customers by stage")
    alice = next(line for line in funnel if line.startswith(" alice"))
    bob = next(line for line in funnel if line.startswith(" bob"))
    total = next(line for line in funnel if line.startswith(" TOTAL"))
    assert alice.split()[-1] == "#" * 10  # the rep with the most customers: the full bar
    assert bob.split()[-1] == "#" * 2  # a quarter of it, rounded
    assert "#" not in total
    # The charts are plain characters (the table's own rule is rich's, as before).
    assert all(line.replace("─", "").isascii() for line in funnel)

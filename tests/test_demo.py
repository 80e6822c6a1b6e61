"""The demo runs the whole workflow on the bundled example team."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from salespool.cli import app


def test_demo_loads_works_recycles_assigns_and_reports(tmp_path):
    kept = tmp_path / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--keep", str(kept), "--json"])
    assert result.exit_code == 0, result.stderr
    demo = json.loads(result.stdout)
    assert demo["imported"]["inserted"] == 200
    assert demo["follow_ups"] == 600 and demo["deals"] == 150
    assert demo["recycled"]["count"] == 40
    assert {a["owner"] for a in demo["assigned"]["assigned"]} == {"erin", "frank"}
    reps = {r["rep"]: r for r in demo["report"]["reps"]}
    assert reps["erin"]["customers"] == 10 and reps["frank"]["customers"] == 10
    assert kept.exists()


def test_demo_human_output_ends_with_the_report(tmp_path):
    result = CliRunner().invoke(app, ["demo"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    assert "Nightly recycling (--days 30) took 40 idle customers" in result.stdout
    assert "Customers by stage" in result.stdout and "Pool: 60 customers" in result.stdout


def test_demo_refuses_to_overwrite_a_file(tmp_path):
    existing = tmp_path / "x.db"
    existing.write_text("precious")
    result = CliRunner().invoke(app, ["demo", "--keep", str(existing)])
    assert result.exit_code == 2 and existing.read_text() == "precious"


def test_the_demo_shows_who_is_still_hunting():
    """The headline of the tool: the hunting vs farming split and the order-followers."""
    shown = CliRunner().invoke(app, ["demo"], env={"NO_COLOR": "1"})
    assert shown.exit_code == 0, shown.stderr
    assert "Hunting vs farming" in shown.stdout
    assert "order-follower (跟单)" in shown.stdout and "alice, bob" in shown.stdout
    data = CliRunner().invoke(app, ["demo", "--json"])
    reps = {r["rep"]: r for r in json.loads(data.stdout)["report"]["reps"]}
    assert reps["alice"]["order_follower"] and reps["bob"]["order_follower"]
    assert not reps["dave"]["order_follower"]

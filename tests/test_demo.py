"""The demo moves the example team's book in and lives a month of the remedy, in time order."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from salespool.cli import app

DEMO_NOW = "2026-12-31T09:00+08:00"


@pytest.fixture(scope="module")
def kept(tmp_path_factory) -> tuple[Path, dict]:
    """One demo run kept in a file, with its JSON (the demo takes half a minute)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--keep", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    return path, json.loads(result.stdout)


@pytest.fixture(scope="module")
def told(tmp_path_factory) -> tuple[Path, str]:
    """One demo run as people read it, kept too (for the closing line)."""
    path = tmp_path_factory.mktemp("told") / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--keep", str(path)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    # Sentences wrap at the terminal's width: compare them as one line.
    return path, " ".join(result.stdout.split())


def test_the_book_comes_in_and_the_idle_go_to_the_pool_then_to_the_rookies(kept):
    _path, demo = kept
    assert demo["imported"]["inserted"] == 200
    assert demo["follow_ups"] == 600 and demo["deals"] == 150
    assert demo["moved_at"].startswith("2026-11-29T01:00:00")  # 09:00 in Shanghai, in UTC
    assert demo["recycled"]["count"] == 40
    assert demo["assigned"]["count"] == 20
    owners = [a["owner"] for a in demo["assigned"]["assigned"]]
    assert owners.count("erin") == 10 and owners.count("frank") == 10


def test_the_month_after_the_move_is_replayed(kept):
    _path, demo = kept
    month = demo["month"]
    assert (month["claimed"], month["follow_ups"], month["deals"]) == (3, 315, 25)
    # Nobody calls a lost customer, and frank never called 7 of his 10.
    assert month["recycled"]["count"] == 17
    assert month["recycled_by_owner"] == {"alice": 4, "bob": 5, "carol": 1, "frank": 7}
    reps = {r["rep"]: r for r in demo["report"]["reps"]}
    assert (reps["erin"]["customers"], reps["frank"]["customers"]) == (13, 3)
    assert (reps["erin"]["claimed"], reps["erin"]["assigned"]) == (3, 10)
    assert demo["report"]["pool"] == 74


def test_the_order_followers_are_flagged_and_lose_their_idle_customers(kept):
    _path, demo = kept
    flagged = {f["rep"]: f for f in demo["order_followers"]}
    assert sorted(flagged) == ["alice", "bob"]
    assert (flagged["alice"]["recycled_at_move"], flagged["alice"]["recycled_now"]) == (15, 4)
    assert (flagged["bob"]["recycled_at_move"], flagged["bob"]["recycled_now"]) == (13, 5)
    assert all(f["hunting_share"] < 0.3 for f in flagged.values())
    reps = {r["rep"]: r for r in demo["report"]["reps"]}
    assert not reps["dave"]["order_follower"] and not reps["erin"]["order_follower"]


def test_one_rookie_qualifies_and_one_falls_behind(kept):
    _path, demo = kept
    rookies = {r["rep"]: r for r in demo["coaching"]["rookies"]}
    erin, frank = rookies["erin"], rookies["frank"]
    assert erin["coach"] == frank["coach"] == "carol"
    assert erin["status"] == "qualified"
    days = (erin["first_follow_up_days"], erin["first_negotiation_days"], erin["first_won_days"])
    assert days == (6, 14, 27)
    assert (erin["deals"], erin["taken_from_pool"], erin["converted"]) == (2, 13, 2)
    assert frank["status"] == "behind"
    assert frank["missed"] == ["first follow-up", "first negotiation"]
    assert (frank["first_follow_up_days"], frank["first_negotiation_days"]) == (17, None)
    assert frank["deals"] == 0
    card = demo["coaching"]["coaches"][0]
    assert (card["coach"], card["qualified"], card["behind"]) == ("carol", 1, 1)


def test_a_kept_store_keeps_the_time_zone_and_goes_on(kept):
    path, demo = kept
    assert demo["timezone"] == "Asia/Shanghai"
    with sqlite3.connect(path) as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["timezone"] == "Asia/Shanghai"
    # The kept store answers as the demo did, at the demo's moment.
    result = CliRunner().invoke(
        app, ["--db", str(path), "--now", DEMO_NOW, "coach", "--json"], env={"NO_COLOR": "1"}
    )
    assert result.exit_code == 0, result.stderr
    statuses = {r["rep"]: r["status"] for r in json.loads(result.stdout)["rookies"]}
    assert statuses == {"erin": "qualified", "frank": "behind"}


def test_the_demo_tells_the_story_in_a_few_lines_then_reports(told):
    path, out = told
    assert "Nightly recycling (--days 30) took 40 idle customers back into the pool" in out
    assert "20 pool customers went to the rookies (erin, frank)" in out
    assert (
        "this morning's recycling took 17 more idle customers (alice 4, bob 5, carol 1, frank 7): "
        "3 to 华北 and 14 to default." in out
    )
    assert "alice and bob are flagged as order-followers (跟单)" in out
    assert "the rule took 15 and 13 of their idle customers back at the move, 4 and 5 more" in out
    assert "erin (coached by carol, hired 2026-11-24) closed a first deal on 2026-12-21" in out
    assert "and qualified" in out and "salespool rep set erin --role rep" in out
    assert (
        "frank (coached by carol, hired 2026-11-16) is behind: missed first follow-up "
        "(day 17, due by day 7) and first negotiation (none by day 45, due by day 30); "
        "7 of their 10 pool customers went back to the pool this morning" in out
    )
    assert (
        "Pools, set up before that recycling: 华北 (rule city in (北京, Beijing, 天津), members "
        "rookie) and the default pool; it routed 6 to 华北 and 34 to default." in out
    )
    assert (
        "This morning, before the recycling, the warnings went out (warn 7, 3 and 1 days "
        "before; owner → coach → manager): 7 messages about 28 customers, remembered in the "
        "store (no webhook), so a second run today sends nothing: "
        "warning 1 of 3, 7 days before: to the owners alice 2, bob 2 and carol 1 "
        "warning 2 of 3, 3 days before: to the owners alice 2, bob 1 and dave 1 "
        "(no coach above them) "
        "warning 3 of 3, 1 day before: to the managers grace 19 (alice 6, bob 5, carol 1, "
        "frank 7) Then this morning's recycling" in out
    )
    # The story comes before the report, which ends as before.
    assert out.index("frank (coached") < out.index("Customers by stage")
    assert "Hunting vs farming" in out and "Pool: 74 customers" in out
    # It ends with the kept store, then where its HTML report is.
    assert out.endswith(
        f"The demo store is in {path} (time zone Asia/Shanghai, kept in the store): try "
        f"salespool --db {path} --now {DEMO_NOW} coach (the demo's clock; its rules are the "
        "defaults with recycle --days 30) The team's report as a page: "
        f"{path.with_suffix('.html')} (open it in a browser, or print it)"
    )


def test_the_demo_shows_who_is_still_hunting(told):
    """The headline of the tool: the hunting vs farming split and the order-followers."""
    _path, out = told
    assert "Hunting vs farming" in out
    assert "order-follower (跟单)" in out and "alice, bob" in out


def test_two_pools_take_the_recycled_customers_by_city(kept):
    """华北 (for the rookies) is set up before the first recycling; each run routes its take."""
    path, demo = kept
    assert demo["recycled_by_pool"] == {"default": 34, "华北": 6}
    assert sum(demo["recycled_by_pool"].values()) == demo["recycled"]["count"]
    assert demo["month"]["recycled_by_pool"] == {"default": 14, "华北": 3}
    assert sum(demo["month"]["recycled_by_pool"].values()) == demo["month"]["recycled"]["count"]
    pools = {p["name"]: p for p in demo["pools"]}
    assert [p["name"] for p in demo["pools"]] == ["default", "华北"]
    north = pools["华北"]
    assert (north["rule"], north["members"]) == ("city in (北京, Beijing, 天津)", ["rookie"])
    assert (north["recycled_at_move"], north["recycled_now"]) == (6, 3)
    assert (pools["default"]["rule"], pools["default"]["members"]) == (None, [])
    # The pools together are the pool the report counts, and the report shows each one.
    assert (pools["default"]["size"], north["size"]) == (63, 11)
    assert sum(p["size"] for p in demo["pools"]) == demo["report"]["pool"] == 74
    assert {p["pool"]: p["size"] for p in demo["report"]["pools"]} == {"default": 63, "华北": 11}
    # The kept store has the pool, and routed by city: every 华北 customer is from Beijing.
    result = CliRunner().invoke(app, ["--db", str(path), "pool", "list", "--json"])
    assert result.exit_code == 0, result.stderr
    listed = {p["name"]: p["size"] for p in json.loads(result.stdout)}
    assert listed == {"default": 63, "华北": 11}
    with sqlite3.connect(path) as conn:
        cities = {
            city
            for (city,) in conn.execute(
                "SELECT c.city FROM customer c JOIN pool p ON p.id = c.pool_id"
            )
        }
    assert cities and cities <= {"北京", "Beijing", "天津"}


def test_the_warnings_go_out_before_the_morning_recycling(kept):
    path, demo = kept
    run = demo["notified"]
    assert run["at"].startswith("2026-12-31T01:00:00")
    assert (run["warn"], run["escalate"]) == ([7, 3, 1], ["owner", "coach", "manager"])
    assert (run["customers"], run["remembered"]) == (28, 28)
    got = [(m["step"], m["role"], m["recipient"], len(m["customers"])) for m in run["messages"]]
    assert got == [
        (1, "owner", "alice", 2),
        (1, "owner", "bob", 2),
        (1, "owner", "carol", 1),
        (2, "owner", "alice", 2),
        (2, "owner", "bob", 1),
        (2, "owner", "dave", 1),
        (3, "manager", "grace", 19),
    ]
    assert all(m["sent"] and m["date"] == "2026-12-31" for m in run["messages"])
    # The last step reached the manager with every customer this morning's run took.
    last = run["messages"][-1]["customers"]
    recycled = {r["id"] for r in demo["month"]["recycled"]["recycled"]}
    assert recycled <= {c["id"] for c in last}
    assert all(c["days_left"] <= 1 for c in last)
    # Remembered in the kept store, as `notify` remembers what it wrote: one row a customer,
    # step and recipient, for the recycle date it warned of.
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT n.step, r.name, count(*) FROM notification n "
            "JOIN rep r ON r.id = n.recipient_id GROUP BY n.step, r.name ORDER BY n.step, r.name"
        ).fetchall()
    assert rows == [(step, who, n) for step, _role, who, n in got]


def test_demo_refuses_to_overwrite_a_file(tmp_path):
    existing = tmp_path / "x.db"
    existing.write_text("precious")
    result = CliRunner().invoke(app, ["demo", "--keep", str(existing)])
    assert result.exit_code == 2 and existing.read_text() == "precious"


def test_the_demo_ends_with_its_html_report_beside_the_kept_store(kept, told):
    path, demo = kept
    page = path.with_suffix(".html")
    assert demo["html"] == str(page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and 'id="funnel"' in text
    told_path, story = told
    assert f"The team's report as a page: {told_path.with_suffix('.html')}" in story
    assert told_path.with_suffix(".html").exists()


def test_the_demo_without_keep_writes_its_page_into_a_folder_of_its_own(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = CliRunner().invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.stderr
    page = Path(json.loads(result.stdout)["html"])
    assert page.name == "report.html" and page.parent.parent == tmp_path
    assert page.parent.name.startswith("salespool-demo-")
    assert [p.name for p in page.parent.iterdir()] == ["report.html"]  # the store is gone


def test_demo_refuses_to_overwrite_a_page_beside_the_kept_store(tmp_path):
    existing = tmp_path / "x.html"
    existing.write_text("precious")
    result = CliRunner().invoke(app, ["demo", "--keep", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and existing.read_text() == "precious"
    assert not (tmp_path / "x.db").exists()

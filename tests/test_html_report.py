"""`report --html` and `coach --html`: one self-contained page whose numbers are those of
`report --json`, `coach --json` and `commission --json`, with every name escaped."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import html5lib
import pytest
from conftest import Cli

NS = {"h": "http://www.w3.org/1999/xhtml"}
EVIL = "<script>alert(1)</script>"
BOOK = f"""external_id,name,owner,stage,created_at
C1,北京星河贸易,张伟,prospecting,2026-06-01
C2,上海明珠,张伟,won,2026-06-01
C3,{EVIL},张伟,negotiating,2026-06-01
C4,Delta Ltd,"{EVIL}",maintaining,2026-06-01
C5,Echo Co,"{EVIL}",won,2026-06-01
P1,Pool One,,prospecting,2026-06-01
P2,Pool Two,,prospecting,2026-06-01
"""


@pytest.fixture
def team(cli: Cli, write_csv) -> Cli:
    """Reps 张伟 and one named like a script; rookie 小李 coached by 张伟; follow-ups over
    three months, direct and online deals (one over a million), pool traffic."""
    cli("import", str(write_csv(BOOK)), now="2026-09-01T09:00:00")
    cli("rep", "set", "张伟", "--role", "coach", now="2026-09-01T09:00:00")
    cli("rep", "add", "小李", "--role", "rookie", "--coach", "张伟", now="2026-10-01T09:00:00")
    for at, customer, rep in [
        ("2026-09-10T10:00", "C1", "张伟"),
        ("2026-09-11T10:00", "C2", "张伟"),
        ("2026-10-10T10:00", "C2", "张伟"),
        ("2026-10-12T10:00", "C2", "张伟"),
        ("2026-11-03T10:00", "C2", "张伟"),
        ("2026-11-04T10:00", "C4", EVIL),
        ("2026-11-05T10:00", "C5", EVIL),
    ]:
        cli("log", customer, "--rep", rep, "--kind", "call", "--at", at, now=at)
    cli("deal", "C2", "--amount", "1234567.89", "--at", "2026-11-10T10:00", now="2026-11-10T10:00")
    cli("deal", "C5", "--amount", "2500", "--channel", "online", now="2026-11-12T10:00")
    cli("claim", "P1", "--rep", "小李", now="2026-11-16T10:00")
    cli("log", "P1", "--rep", "小李", "--kind", "call", now="2026-11-17T10:00")
    cli("release", "C1", now="2026-11-20T10:00")
    # On a Monday's first moment (Shanghai): the week it opens counts it, in and in size.
    cli("assign", "P2", "--to", "小李", now="2026-11-23T00:00")
    return cli


def page(cli: Cli, *args: str, name: str = "report.html") -> tuple[Path, object, str]:
    path = cli.db.parent / name
    out = cli(*args, "--html", str(path)).stdout
    assert str(path) in out
    text = path.read_text(encoding="utf-8")
    return path, html5lib.parse(text, namespaceHTMLElements=True), text


def rows(doc, table_id: str, attr: str = "data-rep") -> dict[str, dict[str, str]]:
    """{row key: {data-key: (data-value, shown text)}} of a table's body."""
    found = {}
    for tr in doc.findall(f".//h:table[@id='{table_id}']/h:tbody/h:tr", NS):
        cells = {
            td.get("data-key"): (td.get("data-value"), "".join(td.itertext()).strip())
            for td in tr.findall("h:td", NS)
            if td.get("data-key")
        }
        found[tr.get(attr)] = cells
    return found


def money(text: str) -> str:
    """1234567.89 as the page shows it."""
    return f"{float(text):,.2f}" if "." in text else f"{int(text):,}"


def test_the_funnel_is_the_report_json_per_rep_and_in_total(team):
    report = team.json("report")
    _path, doc, _ = page(team, "report")
    funnel = rows(doc, "funnel-table")
    for r in [*report["reps"], report["totals"]]:
        got = funnel[r["rep"]]
        for stage, n in r["stages"].items():
            assert got[stage] == (str(n), f"{n:,}")
        assert got["customers"] == (str(r["customers"]), f"{r['customers']:,}")
    team_bars = {
        t.get("data-stage"): t.get("data-value")
        for t in doc.findall(".//h:section[@id='funnel']//{http://www.w3.org/2000/svg}text", NS)
        if t.get("data-stage")
    }
    assert team_bars == {k: str(v) for k, v in report["totals"]["stages"].items()}


def test_the_heat_map_is_the_hunting_history_with_order_followers_marked(team):
    report = team.json("report")
    _path, doc, _ = page(team, "report")
    heat = doc.findall(".//h:table[@id='hunting-table']/h:tbody/h:tr", NS)
    assert {tr.get("data-rep") for tr in heat} == {r["rep"] for r in report["reps"]}
    by_rep = {r["rep"]: r for r in report["reps"]}
    for tr in heat:
        r = by_rep[tr.get("data-rep")]
        cells = tr.findall("h:td[@data-period]", NS)
        assert [c.get("data-period") for c in cells] == [p["period"] for p in r["hunting_history"]]
        for cell, p in zip(cells, r["hunting_history"], strict=True):
            share = p["hunting_share"]
            assert cell.get("data-value") == ("" if share is None else str(share))
            assert cell.text.strip() == ("–" if share is None else f"{round(share * 100)}%")
        assert tr.get("data-order-follower") == ("true" if r["order_follower"] else "false")
        flagged = any(s.get("class") == "flag" for s in tr.iter(f"{{{NS['h']}}}span"))
        assert flagged == r["order_follower"]
    # Order-followers lead, so the drift is seen first.
    flags = [tr.get("data-order-follower") == "true" for tr in heat]
    assert flags == sorted(flags, reverse=True)


def test_the_pool_flow_is_the_report_json_pool_weeks(team):
    report = team.json("report", "--since", "2026-11-01", "--pool-weeks")
    weeks = report["pool_weeks"]
    assert sum(w["claimed"] for w in weeks) == 1 and sum(w["assigned"] for w in weeks) == 1
    assert sum(w["released"] for w in weeks) == 1
    assert weeks[-1]["size"] == report["pool"]
    _path, doc, _ = page(team, "report", "--since", "2026-11-01")
    table = rows(doc, "pool-table", attr="data-week")
    assert list(table) == [w["week"] for w in weeks]
    for w in weeks:
        for key in ("recycled", "released", "claimed", "assigned", "size"):
            assert table[w["week"]][key][0] == str(w[key])


def test_the_rookies_are_coach_json_and_the_late_are_red(team):
    coached = team.json("coach")
    _path, doc, _ = page(team, "report")
    table = rows(doc, "rookie-table")
    for r in coached["rookies"]:
        got = table[r["rep"]]
        for key in ("days_since_hire", "first_follow_up_days", "first_negotiation_days"):
            assert got[key][0] == ("" if r[key] is None else str(r[key]))
        assert got["deal_amount"][0] == r["deal_amount"]
        assert got["taken_from_pool"][0] == str(r["taken_from_pool"])
        assert got["status"][1].startswith(r["status"])
    xiaoli = next(r for r in coached["rookies"] if r["rep"] == "小李")
    assert xiaoli["status"] == "behind" and "first follow-up" in xiaoli["missed"]
    card = doc.find(".//h:div[@data-rookie='小李']", NS)
    assert card.get("data-status") == "behind"
    late = card.find(".//h:li[@data-milestone='follow_up']", NS)
    assert late.get("class") == "behind" and late.get("data-day") == str(
        xiaoli["first_follow_up_days"]
    )


def test_the_commission_is_commission_json_for_the_month(team):
    paid = team.json("commission", "--period", "2026-11")
    _path, doc, _ = page(team, "report")
    table = rows(doc, "commission-table")
    assert set(table) == {r["rep"] for r in paid["reps"]} | {"TOTAL"}
    for r in [*paid["reps"], paid["totals"]]:
        for key in ("deals", "direct_amount", "online_amount", "amount", "commission"):
            value, shown = table[r["rep"]][key]
            assert value == str(r[key]) and shown == money(str(r[key]))
    assert table["张伟"]["direct_amount"][1] == "1,234,567.89"  # thousands separated


def test_the_footer_has_the_rules_and_the_moment(team):
    report = team.json("report")
    _path, doc, _ = page(team, "report")
    shown = doc.find(".//h:time[@id='as-of']", NS).get("datetime")
    assert shown == "2026-11-29 09:00"  # conftest's NOW in the team's zone
    assert report["as_of"].startswith("2026-11-29T01:00")
    rules = {li.get("data-key") for li in doc.findall(".//h:ul[@id='rules']/h:li", NS)}
    assert {"hunting.threshold", "coaching.first_won_days", "commission.online"} <= rules
    assert "recycle.days" in rules


def test_names_are_escaped_and_chinese_kept_and_nothing_is_fetched(team):
    _path, doc, text = page(team, "report")
    assert not doc.findall(".//h:script", NS)  # the rep named <script> stays text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert EVIL in "".join(doc.find(".//h:table[@id='funnel-table']", NS).itertext())
    assert "张伟" in text and "小李" in text and 'charset="utf-8"' in text
    # Self-contained: no script, no stylesheet link, no image or font fetched from anywhere.
    assert not doc.findall(".//h:link", NS) and not doc.findall(".//h:img", NS)
    assert "http://" not in text.replace(NS["h"], "") and "https://" not in text
    assert "@import" not in text and "url(http" not in text


def test_coach_html_is_coach_json(team):
    coached = team.json("coach")
    _path, doc, text = page(team, "coach", name="coach.html")
    table = rows(doc, "rookie-table")
    assert set(table) == {r["rep"] for r in coached["rookies"]}
    cards = rows(doc, "coach-table", attr="data-coach")
    for c in coached["coaches"]:
        for key in ("rookies", "qualified", "behind", "on_track"):
            assert cards[c["coach"]][key][0] == str(c[key])
    assert not doc.findall(".//h:script", NS) and "小李" in text


def test_an_existing_file_is_refused_without_force(team):
    path = team.db.parent / "report.html"
    path.write_text("precious", encoding="utf-8")
    for command in ("report", "coach"):
        err = team.fails(command, "--html", str(path)).stderr
        assert err == f"error: {path} exists; add --force to overwrite it\n"
        assert path.read_text(encoding="utf-8") == "precious"
    team("report", "--html", str(path), "--force")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_page_that_cannot_be_written_is_refused_before_any_work(team):
    folder = team.db.parent
    missing = folder / "nowhere" / "r.html"
    assert "does not exist" in team.fails("report", "--html", str(missing)).stderr
    assert not missing.parent.exists()
    assert "is a folder" in team.fails("report", "--html", str(folder)).stderr
    err = team.fails("report", "--html", str(folder / "r.html"), "--json").stderr
    assert "cannot be combined" in err and not (folder / "r.html").exists()
    err = team.fails("coach", "--html", str(folder / "c.html"), "--period", "x").stderr
    assert "not a month" in err and not (folder / "c.html").exists()


def test_the_json_and_csv_are_unchanged_unless_the_weeks_are_asked_for(team):
    report = team.json("report")
    assert "pool_weeks" not in report and set(report) >= {"as_of", "since", "pool", "reps"}
    assert "pool_weeks" not in team("report", "--csv", "--pool-weeks").stdout.splitlines()[0]
    out = team("report", "--pool-weeks", "--since", "2026-11-01").stdout
    weeks = team.json("report", "--pool-weeks", "--since", "2026-11-01")["pool_weeks"]
    table = out[out.index("Pool per week") :].splitlines()
    rows = {line.split()[0]: line.split() for line in table if line.startswith(" 2026-W")}
    assert list(rows) == [w["week"] for w in weeks]
    for w in weeks:
        assert rows[w["week"]][2:] == [
            str(w[k]) for k in ("recycled", "released", "claimed", "assigned", "size")
        ]


def test_each_weeks_pool_size_is_the_pool_report_as_of_reads_at_its_end(team):
    weeks = team.json("report", "--since", "2026-10-01", "--pool-weeks")["pool_weeks"]
    assert len({w["size"] for w in weeks}) > 1  # the pool did change over the weeks
    for w in weeks[:-1]:
        just_before = datetime.fromisoformat(w["end"]) - timedelta(seconds=1)
        then = team.json("report", "--as-of", just_before.isoformat())
        assert then["pool"] == w["size"], w
    # Each week's size is the last one's plus what came in, less what went out.
    for before, after in pairwise(weeks):
        moved = after["recycled"] + after["released"] - after["claimed"] - after["assigned"]
        assert after["size"] == before["size"] + moved, after


def test_the_templates_ship_inside_the_package():
    from importlib.resources import files

    folder = files("salespool.pages") / "templates"
    names = {p.name for p in folder.iterdir()}
    assert {"base.html.j2", "report.html.j2", "coach.html.j2", "style.css"} <= names

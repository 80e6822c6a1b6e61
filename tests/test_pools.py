"""Several pools: rules that route customers, members who may claim, admins who move,
each pool's own thresholds and limits, and the report's flow per pool."""

from __future__ import annotations

import json

import pytest

TEAM = """external_id,name,owner,stage,city,level,created_at,owned_since,last_contact_at
K1,北京甲,alice,negotiating,北京,A,2026-11-01,2026-11-01,2026-11-05
K2,天津乙,alice,won,天津,B,2026-09-01,2026-09-01,2026-09-10
K3,上海丙,bob,won,上海,A,2026-09-01,2026-09-01,2026-09-10
K4,广州丁,,prospecting,广州,,2026-11-01,,
K5,北京戊,,prospecting,北京,A,2026-11-01,,
"""


def pool_of(cli, external_id):
    rows = cli.sql(
        "select p.name from customer c left join pool p on p.id = c.pool_id "
        "where c.external_id = :ext",
        ext=external_id,
    )
    return rows[0][0] or "default"


@pytest.fixture
def team(cli, write_csv):
    """Reps alice, bob (rep), erin (rookie), mia (manager); pools 华北 then A级; a book."""
    cli("rep", "add", "erin", "--role", "rookie")
    cli("rep", "add", "mia", "--role", "manager")
    cli("rep", "add", "alice")
    cli("rep", "add", "bob")
    cli(
        "pool", "add", "华北", "--rule", "city in (北京, 天津)", "--members", "rookie",
        "--admins", "mia", "--days", "20",
    )  # fmt: skip
    cli("pool", "add", "A级", "--rule", "level = A")
    cli("import", str(write_csv(TEAM, name="team.csv")))
    return cli


def test_no_pools_keeps_the_one_pool_as_before(book):
    listed = book.json("pool")
    assert [c["external_id"] for c in listed] == ["C4", "C5"]
    assert book.json("pool", "--name", "default") == listed
    assert len(book.json("pool", "--limit", "1")) == 1
    assert book("pool", "--csv").stdout.splitlines()[0].startswith("id,")
    pools = book.json("pool", "list")
    assert pools == [
        {
            "name": "default",
            "rule": None,
            "members": [],
            "admins": [],
            "size": 2,
            "days": None,
            "stage_days": {},
            "daily_limit": None,
            "cooldown_days": None,
        }
    ]
    assert book.sql("select count(*) from customer where pool_id is not null") == [(0,)]


def test_pool_name_must_exist(book):
    result = book.fails("pool", "--name", "华南")
    assert "no pool named '华南' (pools: default)" in result.stderr


def test_add_writes_the_rule_back_in_its_own_words(cli):
    cli("rep", "add", "mia", "--role", "manager")
    view = cli.json(
        "pool", "add", "华北", "--rule", "CITY  in （北京，天津） and stage != 寻找客户",
        "--members", "rookie,mia", "--admins", "mia", "--stage-days", "won=40",
        "--daily-limit", "5", "--cooldown-days", "0",
    )  # fmt: skip
    assert view["rule"] == "city in (北京, 天津) and stage != prospecting"
    assert view["members"] == ["rookie", "mia"] and view["admins"] == ["mia"]
    assert view["stage_days"] == {"won": 40}
    assert (view["daily_limit"], view["cooldown_days"], view["size"]) == (5, 0, 0)
    assert [p["name"] for p in cli.json("pool", "list")] == ["default", "华北"]
    assert "cooldown 0" in cli("pool", "list").stdout


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("city in 北京", "unexpected '北京' at position 9, expected '('"),
        ("town = x", "unexpected 'town' at position 1, expected a field (city, level, stage)"),
        ("city =", "unexpected the end of the rule at position 7, expected a value"),
        ("city = 北京 天津", "unexpected '天津' at position 11, expected 'and'"),
        ("city in (北京, 天津", "unexpected the end of the rule at position 16, expected ','"),
        ("stage = hot", "unexpected 'hot' at position 9, expected a stage"),
        ("city ! 北京", "unexpected '!' at position 6, expected '!='"),
        ('city = "北京', 'unclosed quote " at position 8'),
        ("level = and", "unexpected 'and' at position 9, expected a value"),
    ],
)
def test_a_bad_rule_is_refused_with_position_and_token(cli, rule, message):
    result = cli.fails("pool", "add", "华北", "--rule", rule)
    assert result.stderr.startswith("error: --rule: "), result.stderr
    assert message in result.stderr


def test_add_refusals(cli):
    cli("pool", "add", "华北", "--rule", "city = 北京")
    assert "exists already" in cli.fails("pool", "add", "华北").stderr
    assert (
        "'default' is the pool of customers no rule takes"
        in cli.fails("pool", "add", "default").stderr
    )
    result = cli.fails("pool", "add", "华南", "--members", "ghost")
    assert "--members: 'ghost' is neither a rep nor a role" in result.stderr
    assert "no rep named 'zed'" in cli.fails("pool", "add", "华南", "--admins", "zed").stderr
    result = cli.fails("pool", "add", "华南", "--stage-days", "hot=3")
    assert "--stage-days: 'hot' is not a stage" in result.stderr
    cli.fails("pool", "add", "华南", "--stage-days", "won", code=2)
    cli.fails("pool", "add", "华南", "--days", "0", code=2)


def test_import_routes_customers_without_owner_to_the_first_matching_pool(team):
    assert pool_of(team, "K4") == "default"
    assert pool_of(team, "K5") == "华北"  # matches A级 too: the first pool wins
    assert pool_of(team, "K1") == "default"  # owned customers wait in no pool
    assert [c["external_id"] for c in team.json("pool", "--name", "华北")] == ["K5"]
    assert [c["external_id"] for c in team.json("pool", "--name", "default")] == ["K4"]
    assert [c["external_id"] for c in team.json("pool")] == ["K4", "K5"]
    sizes = {p["name"]: p["size"] for p in team.json("pool", "list")}
    assert sizes == {"default": 1, "华北": 1, "A级": 0}


def test_recycle_routes_and_a_pool_uses_its_own_thresholds(team):
    plan = team.json("recycle", "--dry-run")
    reasons = {r["name"]: r["reason"] for r in plan["recycled"]}
    # 北京甲 is idle 24 days: the team's 30 for negotiating keeps it, 华北's own 20 does not.
    assert reasons == {
        "北京甲": "idle 20+ days (pool 华北)",
        "天津乙": "idle 20+ days (pool 华北)",
        "上海丙": "idle 60+ days (stage won)",
    }
    due = {d["name"]: d["reason"] for d in team.json("due", "--within", "0")}
    assert due["北京甲"] == "idle 20+ days (pool 华北)"
    # --days N means N for everyone, pools included.
    assert {r["name"] for r in team.json("recycle", "--days", "30", "--dry-run")["recycled"]} == {
        "天津乙",
        "上海丙",
    }
    team("recycle")
    assert [pool_of(team, k) for k in ("K1", "K2", "K3")] == ["华北", "华北", "A级"]
    events = team.sql("select pool from event where kind = 'recycled' order by customer_id")
    assert events == [("华北",), ("华北",), ("A级",)]


def test_release_and_a_leaving_rep_route_too(team):
    team("release", "K3")
    assert pool_of(team, "K3") == "A级"
    assert team.sql("select pool from event where kind = 'released'") == [("A级",)]
    team("rep", "leave", "alice")
    assert [pool_of(team, k) for k in ("K1", "K2")] == ["华北", "华北"]
    assert team.sql("select pool from event where kind = 'rep_left'") == [("华北",), ("华北",)]


def test_claim_only_from_a_pool_one_is_member_of(team):
    result = team.fails("claim", "K5", "--rep", "bob")
    assert "error: pool 华北: bob is not a member (members: rookie)" in result.stderr
    view = team.json("claim", "K5", "--rep", "erin")  # a rookie: member by role
    assert view["owner"] == "erin"
    assert pool_of(team, "K5") == "default"  # owned now: in no pool
    assert team.sql("select pool from event where kind = 'claimed'") == [("华北",)]
    team("claim", "K4", "--rep", "bob")  # the default pool: everyone


def test_members_by_name(cli, write_csv):
    cli("rep", "add", "erin", "--role", "rookie")
    cli("rep", "add", "bob")
    cli("pool", "add", "华北", "--rule", "city = 北京", "--members", "bob")
    cli("import", str(write_csv("external_id,name,city\nP1,甲,北京\nP2,乙,北京\n")))
    assert "erin is not a member (members: bob)" in cli.fails("claim", "P1", "--rep", "erin").stderr
    cli("claim", "P1", "--rep", "bob")


def test_a_pools_own_daily_limit_counts_its_own_claims(cli, write_csv):
    cli("rep", "add", "erin", "--role", "rookie")
    cli("pool", "add", "华北", "--rule", "city = 北京", "--daily-limit", "1")
    rows = "external_id,name,city\nP1,甲,北京\nP2,乙,北京\nP3,丙,上海\n"
    cli("import", str(write_csv(rows)))
    cli("claim", "P1", "--rep", "erin")
    result = cli.fails("claim", "P2", "--rep", "erin")
    assert "daily limit: erin claimed 1 of 1 from pool 华北 today" in result.stderr
    cli("claim", "P3", "--rep", "erin")  # the default pool: the team's limit (20)


def test_a_pools_own_cooldown(cli, write_csv):
    cli("rep", "add", "erin", "--role", "rookie")
    cli("pool", "add", "华北", "--rule", "city = 北京", "--cooldown-days", "0")
    cli("import", str(write_csv("external_id,name,city\nP1,甲,北京\nP3,丙,上海\n")))
    for key in ("P1", "P3"):
        cli("claim", key, "--rep", "erin")
        cli("release", key)
    cli("claim", "P1", "--rep", "erin")  # 华北: no cooldown
    assert "cooldown:" in cli.fails("claim", "P3", "--rep", "erin").stderr  # the team's 30 days


def test_assign_plans_only_members_of_each_customers_pool(team):
    result = team.json("assign", "--to", "bob", "--to", "erin")
    assert {a["name"]: a["owner"] for a in result["assigned"]} == {
        "广州丁": "bob",
        "北京戊": "erin",
    }
    assert team.sql("select pool from event where kind = 'assigned' order by customer_id") == [
        (None,),
        ("华北",),
    ]


def test_assign_from_a_pool_with_no_member_among_the_reps(team):
    result = team.json("assign", "--to", "bob")
    assert [a["name"] for a in result["assigned"]] == ["广州丁"]  # 华北 is not looked into
    result = team.fails("assign", "K5", "--to", "bob")
    assert "pool 华北: bob is not a member" in result.stderr


def test_move_by_a_manager_or_an_admin(team):
    view = team.json("pool", "move", "K5", "--to", "A级", "--by", "mia")  # 华北's admin
    assert view["id"] and pool_of(team, "K5") == "A级"
    detail, reason, pool = team.sql(
        "select detail, reason, pool from event where kind = 'pool_moved'"
    )[0]
    assert json.loads(detail) == {"from": "华北", "to": "A级"}
    assert (reason, pool) == ("moved by mia", "A级")
    result = team.fails("pool", "move", "K5", "--to", "default", "--by", "bob")
    assert "pool A级: bob may not move its customers (only managers)" in result.stderr
    team("rep", "set", "bob", "--role", "manager")
    team("pool", "move", "K5", "--to", "default", "--by", "bob")
    assert pool_of(team, "K5") == "default"
    assert team.sql("select pool from event where kind = 'pool_moved' order by id")[1] == (None,)


def test_move_refusals(team):
    assert (
        "is not in the pool: alice owns it"
        in team.fails("pool", "move", "K1", "--to", "A级", "--by", "mia").stderr
    )
    assert (
        "is in pool 华北 already"
        in team.fails("pool", "move", "K5", "--to", "华北", "--by", "mia").stderr
    )
    assert (
        "no pool named '华南'"
        in team.fails("pool", "move", "K5", "--to", "华南", "--by", "mia").stderr
    )
    assert "no rep named 'test'" in team.fails("pool", "move", "K5", "--to", "A级").stderr
    team.fails("pool", "move", "K5", "--by", "mia", code=2)
    result = team.fails("pool", "move", "K5", "--to", "A级", "--by", "mia", now="2026-11-01")
    assert "move" in result.stderr and "2026-11-29" in result.stderr


def test_move_without_by_takes_salespool_actor(team):
    team("rep", "add", "test", "--role", "manager")  # the tests' SALESPOOL_ACTOR
    team("pool", "move", "K5", "--to", "default")
    assert team.sql("select actor, reason from event where kind = 'pool_moved'") == [
        ("test", "moved by test")
    ]


def test_remove_moves_its_customers_to_the_default_pool(team):
    result = team.json("pool", "remove", "华北")
    assert result == {"name": "华北", "moved": 1}
    assert pool_of(team, "K5") == "default"
    assert [p["name"] for p in team.json("pool", "list")] == ["default", "A级"]
    rows = team.sql("select reason, detail from event where kind = 'pool_moved'")
    assert rows == [("pool 华北 removed", '{"from": "华北", "to": "default"}')]
    team("release", "K1")
    assert pool_of(team, "K1") == "A级"  # 华北's rule routes no more
    assert "the default pool cannot be removed" in team.fails("pool", "remove", "default").stderr
    assert "no pool named '华北'" in team.fails("pool", "remove", "华北").stderr


def test_report_gives_each_pools_size_and_flow(team):
    team("recycle", now="2026-11-29T09:00:00")
    team("claim", "K1", "--rep", "erin", now="2026-12-03T09:00:00")  # 4 days in 华北
    team("claim", "K2", "--rep", "erin", now="2026-12-05T09:00:00")  # 6 days
    team("claim", "K4", "--rep", "bob", now="2026-12-05T09:00:00")  # imported 29th: 6 days
    report = team.json("report", now="2026-12-06T09:00:00")
    assert report["pools"] == [
        {"pool": "default", "size": 0, "in": 0, "out": 1, "median_days_in_pool": 6.0},
        {"pool": "华北", "size": 1, "in": 2, "out": 2, "median_days_in_pool": 5.0},
        {"pool": "A级", "size": 1, "in": 1, "out": 0, "median_days_in_pool": None},
    ]
    assert "pool" in report and "reps" in report  # the old keys stay
    shown = team("report", now="2026-12-06T09:00:00").stdout
    assert "Pools" in shown and "华北" in shown


def test_set_changes_a_pool_in_place(team):
    result = team.json(
        "pool", "set", "华北", "--rule", "city in (北京, 天津, 河北)", "--no-days",
        "--stage-days", "won=40", "--members", "rookie,bob", "--daily-limit", "3",
    )  # fmt: skip
    assert result["pool"]["rule"] == "city in (北京, 天津, 河北)"
    assert result["pool"]["members"] == ["rookie", "bob"] and result["pool"]["admins"] == ["mia"]
    assert (result["pool"]["days"], result["pool"]["stage_days"]) == (None, {"won": 40})
    assert result["pool"]["size"] == 1  # 北京戊 waits in it still
    assert result["changed"] == {
        "rule": {"from": "city in (北京, 天津)", "to": "city in (北京, 天津, 河北)"},
        "members": {"from": ["rookie"], "to": ["rookie", "bob"]},
        "days": {"from": 20, "to": None},
        "daily_limit": {"from": None, "to": 3},
        "stage_days": {"from": {}, "to": {"won": 40}},
    }
    listed = {p["name"]: p for p in team.json("pool", "list")}
    assert listed["华北"]["daily_limit"] == 3 and listed["华北"]["days"] is None
    team("claim", "K5", "--rep", "bob")  # a member now
    # --stage-days adds; --no-stage-days first drops them.
    team("pool", "set", "华北", "--stage-days", "negotiating=10")
    assert team.json("pool", "list")[1]["stage_days"] == {"won": 40, "negotiating": 10}
    team("pool", "set", "华北", "--no-stage-days", "--stage-days", "prospecting=9")
    assert team.json("pool", "list")[1]["stage_days"] == {"prospecting": 9}
    shown = team("pool", "set", "华北", "--no-members", "--no-admins", "--no-rule").stdout
    assert "pool 华北: rule city in (北京, 天津, 河北) -> none" in shown
    after = team.json("pool", "list")[1]
    assert (after["rule"], after["members"], after["admins"]) == (None, [], [])
    assert "nothing changed" in team("pool", "set", "华北").stdout
    assert team.json("pool", "set", "A级", "--cooldown-days", "0")["changed"] == {
        "cooldown_days": {"from": None, "to": 0}
    }
    team("pool", "set", "A级", "--no-cooldown-days", "--no-daily-limit", "--days", "5")
    a = team.json("pool", "list")[2]
    assert (a["cooldown_days"], a["daily_limit"], a["days"]) == (None, None, 5)


def test_set_routes_only_customers_entering_from_then_on(team):
    team("pool", "set", "A级", "--rule", "city = 上海")
    assert pool_of(team, "K5") == "华北"  # waiting: stays
    team("release", "K3")
    assert pool_of(team, "K3") == "A级"


def test_set_refusals(team):
    assert (
        "--days and --no-days: choose one"
        in team.fails("pool", "set", "华北", "--days", "3", "--no-days").stderr
    )
    assert (
        "--rule and --no-rule: choose one"
        in team.fails("pool", "set", "华北", "--rule", "level = A", "--no-rule").stderr
    )
    result = team.fails("pool", "set", "default", "--days", "3")
    assert "the default pool has no settings of its own" in result.stderr
    assert "no pool named '华南'" in team.fails("pool", "set", "华南", "--days", "3").stderr
    result = team.fails("pool", "set", "华北", "--rule", "town = x")
    assert result.stderr.startswith("error: --rule: unexpected 'town'")
    result = team.fails("pool", "set", "华北", "--members", "ghost")
    assert "--members: 'ghost' is neither a rep nor a role" in result.stderr
    assert "no rep named 'zed'" in team.fails("pool", "set", "华北", "--admins", "zed").stderr
    result = team.fails("pool", "set", "华北", "--stage-days", "hot=3")
    assert "--stage-days: 'hot' is not a stage" in result.stderr
    team.fails("pool", "set", "华北", "--days", "0", code=2)
    team.fails("pool", "set", "华北", "--stage-days", "won", code=2)


def test_customer_json_names_the_pool_it_waits_in(team):
    listed = {c["external_id"]: c["pool"] for c in team.json("customers")}
    assert listed == {"K1": None, "K2": None, "K3": None, "K4": "default", "K5": "华北"}
    assert [c["pool"] for c in team.json("pool")] == ["default", "华北"]
    assert [c["pool"] for c in team.json("pool", "--name", "华北")] == ["华北"]
    assert team.json("show", "K5")["customer"]["pool"] == "华北"
    assert team.json("show", "K1")["customer"]["pool"] is None  # owned: in no pool
    assert team.json("pool", "move", "K5", "--to", "A级", "--by", "mia")["pool"] == "A级"
    assert team.json("claim", "K5", "--rep", "erin")["pool"] is None
    assert team.json("release", "K3")["pool"] == "A级"
    assert "referred_by" in team.json("show", "K3")["customer"]  # the old keys stay


def test_assign_applies_each_pools_own_cooldown(cli, write_csv):
    cli("rep", "add", "erin", "--role", "rookie")
    cli("pool", "add", "华北", "--rule", "city = 北京", "--cooldown-days", "0")
    cli("pool", "add", "华南", "--rule", "city = 广州", "--cooldown-days", "60")
    rows = "external_id,name,city\nP1,甲,北京\nP2,乙,广州\nP3,丙,上海\n"
    cli("import", str(write_csv(rows)), now="2026-09-01T09:00:00")
    for key in ("P1", "P2", "P3"):
        cli("claim", key, "--rep", "erin", now="2026-10-01T09:00:00")
        cli("release", key, now="2026-10-01T10:00:00")
    # 40 days on: the team's 30 have passed, 华南's 60 have not; 华北 has none.
    plan = cli.json("assign", "--to", "erin", "--dry-run", now="2026-11-10T09:00:00")
    assert [a["name"] for a in plan["assigned"]] == ["甲", "丙"]
    result = cli.fails("assign", "P2", "--to", "erin", now="2026-11-10T09:00:00")
    assert "cooldown: '乙' was released from erin 39 days ago" in result.stderr
    assert "after 2026-11-30" in result.stderr
    # 10 days on: the team's 30 hold 丙 back, 华北's 0 lets 甲 go.
    plan = cli.json("assign", "--to", "erin", "--dry-run", now="2026-10-11T09:00:00")
    assert [a["name"] for a in plan["assigned"]] == ["甲"]
    cli("assign", "P1", "--to", "erin", now="2026-10-11T09:00:00")
    assert cli.json("show", "P1")["customer"]["owner"] == "erin"


def test_edit_of_city_or_level_reroutes_a_pool_customer(team):
    result = team.json("customer", "edit", "K4", "--city", "天津")
    assert result["pool_moved"] == {"from": "default", "to": "华北"}
    assert result["pool"] == "华北" and pool_of(team, "K4") == "华北"
    shown = " ".join(team("customer", "edit", "K5", "--city", "上海").stdout.split())
    assert "moved from pool 华北 to A级 by the pools' rules" in shown  # level A: the next rule
    assert team.json("customer", "edit", "K5", "--level", "")["pool_moved"] == {
        "from": "A级",
        "to": "default",
    }
    rows = team.sql(
        "select c.external_id, e.reason, e.detail, e.pool from event e "
        "join customer c on c.id = e.customer_id where e.kind = 'pool_moved' order by e.id"
    )
    assert [(x, r, json.loads(d), p) for x, r, d, p in rows] == [
        ("K4", "re-routed: city edited", {"from": "default", "to": "华北"}, "华北"),
        ("K5", "re-routed: city edited", {"from": "华北", "to": "A级"}, "A级"),
        ("K5", "re-routed: level edited", {"from": "A级", "to": "default"}, None),
    ]
    # Where the rules keep it, and for owned customers, nothing moves.
    assert team.json("customer", "edit", "K4", "--city", "北京")["pool_moved"] is None
    assert team.json("customer", "edit", "K1", "--city", "上海")["pool_moved"] is None
    assert team.json("customer", "edit", "K4", "--name", "北京丁")["pool_moved"] is None
    assert len(team.sql("select id from event where kind = 'pool_moved'")) == 3

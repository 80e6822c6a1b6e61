"""Recycling by rule: thresholds per level and stage, the unconverted rule, the deal
exemption, the reason each customer carries, and `simulate`."""

from __future__ import annotations

from conftest import Cli, taken, use_rules

# The book (conftest.BOOK) at 2026-11-29 09:00 Shanghai:
#   C1 Acme Logistics    alice  negotiating  idle 58 days, owned since 2026-01-10, no deal
#   C2 上海华瑞科技有限公司  alice  won          idle 9 days,  owned since 2026-02-01, no deal
#   C3 Blue River Foods  bob    prospecting  idle 273 days
#   C4, C5 in the pool


def pool_ids(cli: Cli) -> set[str]:
    return {c["external_id"] for c in cli.json("pool")}


LEVELS = """external_id,name,owner,stage,level,owned_since,last_contact_at
L1,Level A Co,alice,prospecting,A,2026-01-01,2026-10-30T09:00:00
L2,Level B Co,alice,prospecting,B,2026-01-01,2026-10-30T09:00:00
L3,No Level Co,bob,prospecting,,2026-01-01,2026-10-30T09:00:00
L4,Level A Won,bob,won,A,2026-01-01,2026-10-30T09:00:00
"""  # all idle exactly 30 days


def test_no_flags_applies_the_default_rules_with_a_reason_each(book, write_csv):
    book("import", str(write_csv(UNCONVERTED)))
    use_rules(book)  # an empty [recycle]: every default
    result = book.json("recycle")
    assert result["days"] is None and result["count"] == 3
    assert [(r["id"], r["rule"], r["reason"], r["idle_days"]) for r in result["recycled"]] == [
        (1, "idle", "idle 30+ days (stage negotiating)", 58),
        (3, "idle", "idle 15+ days (stage prospecting)", 273),
        (6, "unconverted", "unconverted: owned 90+ days, no deal", 1),
    ]
    recycled = "select customer_id, kind, reason from event where kind = 'recycled' order by 1"
    assert book.sql(recycled) == [
        (1, "recycled", "idle 30+ days (stage negotiating)"),
        (3, "recycled", "idle 15+ days (stage prospecting)"),
        (6, "recycled", "unconverted: owned 90+ days, no deal"),
    ]
    # C2 is `won` (converted), called 9 days ago: no deal on file does not make it unconverted.
    assert pool_ids(book) == {"C1", "C3", "C4", "C5", "U1"}
    history = book.json("history", "U1")
    assert history[-1]["kind"] == "recycled"
    assert history[-1]["reason"] == "unconverted: owned 90+ days, no deal"


def test_stage_thresholds_are_enforced(book):
    use_rules(book, unconverted_days=0, stage_days__negotiating=59)
    assert taken(book.json("recycle", "--dry-run")) == {
        "Blue River Foods": "idle 15+ days (stage prospecting)"
    }
    use_rules(book, unconverted_days=0, stage_days__negotiating=58, stage_days__prospecting=274)
    assert taken(book.json("recycle")) == {"Acme Logistics": "idle 58+ days (stage negotiating)"}
    assert pool_ids(book) == {"C1", "C4", "C5"}


def test_a_listed_level_overrides_the_stage(cli, write_csv):
    cli("import", str(write_csv(LEVELS)))
    use_rules(
        cli, unconverted_days=0, stage_days__prospecting=15, stage_days__won=90, level_days__A=31
    )
    # L1 (A) waits for 31 days though prospecting says 15; B is not listed: its stage rules.
    assert taken(cli.json("recycle", "--dry-run")) == {
        "Level B Co": "idle 15+ days (stage prospecting)",
        "No Level Co": "idle 15+ days (stage prospecting)",
    }
    # ... and a level below the stage's threshold wins too: L4 is `won` (90 days).
    use_rules(
        cli, unconverted_days=0, stage_days__prospecting=31, stage_days__won=90, level_days__A=30
    )
    assert taken(cli.json("recycle")) == {
        "Level A Co": "idle 30+ days (level A)",
        "Level A Won": "idle 30+ days (level A)",
    }


def test_days_overrides_every_threshold_and_the_unconverted_rule(cli, write_csv):
    cli("import", str(write_csv(LEVELS)))
    use_rules(cli, level_days__A=90, stage_days__prospecting=90, unconverted_days=10)
    by_rules = cli.json("recycle", "--dry-run")
    assert {r["rule"] for r in by_rules["recycled"]} == {"unconverted"}
    assert cli.json("recycle", "--days", "31", "--dry-run")["count"] == 0
    result = cli.json("recycle", "--days", "30")
    assert result["days"] == 30 and result["count"] == 4
    assert set(taken(result).values()) == {"idle 30+ days"}
    assert {r["rule"] for r in result["recycled"]} == {"idle"}


def test_days_does_not_take_the_unconverted(book, write_csv):
    book("import", str(write_csv(UNCONVERTED)))
    use_rules(book)
    # U1 was called yesterday but never bought in 90 days: only the rules take it.
    assert set(taken(book.json("recycle", "--days", "10", "--dry-run"))) == {
        "Acme Logistics",
        "Blue River Foods",
    }
    assert "Busy Lead" in taken(book.json("recycle", "--dry-run"))


UNCONVERTED = """external_id,name,owner,stage,created_at,owned_since,last_contact_at
U1,Busy Lead,alice,negotiating,2026-01-01,2026-08-31T09:00:00,2026-11-28
"""  # owned exactly 90 days, called yesterday


def test_unconverted_exactly_at_the_boundary(cli, write_csv):
    cli("import", str(write_csv(UNCONVERTED)))
    use_rules(cli, unconverted_days=90, deal_exempt_days=0)
    early = cli.json("recycle", "--dry-run", now="2026-11-29T08:59:59")
    assert early["count"] == 0
    result = cli.json("recycle")
    assert taken(result) == {"Busy Lead": "unconverted: owned 90+ days, no deal"}
    assert result["recycled"][0]["idle_days"] == 1  # being called did not save it


def test_unconverted_zero_turns_the_rule_off(cli, write_csv):
    cli("import", str(write_csv(UNCONVERTED)))
    use_rules(cli, unconverted_days=0)
    # Owned 110 days, no deal, called 22 days ago (negotiating: 30).
    assert cli.json("recycle", "--dry-run", now="2026-12-20T09:00")["count"] == 0
    use_rules(cli, unconverted_days=110)
    assert cli.json("recycle", "--dry-run", now="2026-12-20T09:00")["count"] == 1


def test_any_deal_converts_even_one_before_this_owner(cli, write_csv):
    cli("import", str(write_csv(UNCONVERTED)))
    use_rules(cli, unconverted_days=90, deal_exempt_days=0)
    cli("log", "U1", "--rep", "alice", "--kind", "call", "--at", "2026-11-28")
    assert cli.json("recycle", "--dry-run")["count"] == 1
    # A deal from before alice got it is not hers to record with `deal` ...
    assert (
        "before alice got 'Busy Lead'"
        in cli.fails("deal", "U1", "--amount", "100", "--at", "2026-08-01").stderr
    )
    # ... but the old CRM's deal history brings it in, and any deal ever converts.
    cli("import-deals", str(write_csv("external_id,amount,at\nU1,100,2026-08-01\n", "d.csv")))
    assert cli.json("recycle", "--dry-run")["count"] == 0


def test_unconverted_counts_from_owned_since(book):
    use_rules(book)
    book("release", "C3")  # bob's prospect since March
    book("claim", "C3", "--rep", "alice")
    assert "Blue River Foods" not in taken(book.json("recycle", "--dry-run"))
    book("log", "C3", "--rep", "alice", "--kind", "call", now="2027-02-20T09:00:00")
    # 90 days after alice got it, called a week ago: unconverted, not idle.
    assert "Blue River Foods" not in taken(
        book.json("recycle", "--dry-run", now="2027-02-27T08:59:59")
    )
    later = taken(book.json("recycle", "--dry-run", now="2027-02-27T09:00:00"))
    assert later["Blue River Foods"] == "unconverted: owned 90+ days, no deal"


EXEMPT = """external_id,name,owner,stage,created_at,owned_since
X1,Recent Buyer,alice,won,2026-01-01,2026-01-01
"""


def test_a_recent_deal_exempts_until_exactly_k_days_after_it(cli, write_csv):
    cli("import", str(write_csv(EXEMPT)))
    cli("deal", "X1", "--amount", "5000", "--at", "2026-11-19T09:00:00")  # 10 days ago
    use_rules(cli, stage_days__won=5, deal_exempt_days=11)
    assert cli.json("recycle", "--dry-run")["count"] == 0
    use_rules(cli, stage_days__won=5, deal_exempt_days=0)  # without the exemption it goes
    assert cli.json("recycle", "--dry-run")["count"] == 1
    use_rules(cli, stage_days__won=5, deal_exempt_days=10)  # a deal exactly 10 days ago
    result = cli.json("recycle")
    assert taken(result) == {"Recent Buyer": "idle 5+ days (stage won)"}


def test_the_deal_exemption_holds_against_days_too(cli, write_csv):
    cli("import", str(write_csv(EXEMPT)))
    cli("deal", "X1", "--amount", "5000", "--at", "2026-11-19T09:00:00")
    use_rules(cli, deal_exempt_days=30)
    assert cli.json("recycle", "--days", "5", "--dry-run")["count"] == 0
    use_rules(cli, deal_exempt_days=0)
    assert cli.json("recycle", "--days", "5", "--dry-run")["count"] == 1


def test_recycled_today_then_handed_over_is_never_recycled_today_by_the_rules(book):
    use_rules(book, unconverted_days=1)
    book("release", "C1")
    book("claim", "C1", "--rep", "bob")
    assert "Acme Logistics" not in taken(book.json("recycle"))
    assert "Acme Logistics" in taken(book.json("recycle", "--dry-run", now="2026-11-30T09:00"))


def test_human_output_names_the_rule(book, write_csv):
    book("import", str(write_csv(UNCONVERTED)))
    use_rules(book)
    out = book("recycle", "--dry-run").stdout
    assert "would recycle 3 customers by the rules into the pool" in out
    assert "unconverted:" in out and "idle 30+ days (stage" in out


# --- simulate ----------------------------------------------------------------


def test_simulate_counts_per_rep_and_changes_nothing(book):
    use_rules(book)
    before = book.snapshot()
    result = book.json("simulate", "--days", "15,30,60,300,30")
    assert book.snapshot() == before
    assert [(s["days"], s["count"], s["by_rep"]) for s in result["thresholds"]] == [
        (15, 2, {"alice": 1, "bob": 1}),
        (30, 2, {"alice": 1, "bob": 1}),
        (60, 1, {"bob": 1}),
        (300, 0, {}),
    ]


def test_simulate_matches_what_recycle_then_does(book):
    use_rules(book)
    book("lock", "C3", "--reason", "big tender")
    sim = book.json("simulate", "--days", "9")["thresholds"][0]
    assert sim == {"days": 9, "count": 2, "by_rep": {"alice": 2}}  # C3 is locked
    done = book.json("recycle", "--days", "9")
    assert done["count"] == sim["count"]
    assert {r["previous_owner"] for r in done["recycled"]} == {"alice"}


def test_simulate_csv_and_table(book):
    use_rules(book)
    csv_out = book("simulate", "--days", "15,60", "--csv").stdout.splitlines()
    assert csv_out == ["rep,days_15,days_60", "alice,1,0", "bob,1,1", "TOTAL,2,1"]
    table = book("simulate", "--days", "15,60").stdout
    assert "15+ days" in table and "TOTAL" in table


def test_simulate_refuses_bad_thresholds(book):
    book.fails("simulate", "--days", "15,x", code=2)
    book.fails("simulate", "--days", "0", code=2)
    book.fails("simulate", code=2)

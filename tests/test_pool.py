"""The pool: claim, assign, release, a rep leaving, and the customers it lists."""

from __future__ import annotations


def owner_of(cli, external_id):
    rows = cli.sql(
        "select r.name from customer c left join rep r on r.id = c.owner_id "
        "where c.external_id = :ext",
        ext=external_id,
    )
    return rows[0][0]


def test_claim_takes_a_pool_customer(book):
    view = book.json("claim", "C4", "--rep", "bob")
    assert view["owner"] == "bob" and view["idle_days"] == 0
    assert owner_of(book, "C4") == "bob"
    assert book.sql("select kind, to_rep_id from event where kind = 'claimed'") == [("claimed", 2)]


def test_double_claim_is_refused(book):
    book("claim", "C4", "--rep", "bob")
    result = book.fails("claim", "C4", "--rep", "alice")
    assert "not in the pool: bob owns it" in result.stderr
    assert owner_of(book, "C4") == "bob"


def test_unknown_customer_and_rep_are_refused(book):
    assert "no customer 'ZZZ'" in book.fails("claim", "ZZZ", "--rep", "bob").stderr
    assert "no rep named 'zed'" in book.fails("claim", "C4", "--rep", "zed").stderr


def test_ambiguous_name_lists_the_candidates(book, write_csv):
    book("import", str(write_csv("external_id,name\nD1,Twin Co\nD2,Twin Co\n", name="t.csv")))
    result = book.fails("claim", "Twin Co", "--rep", "bob")
    assert "'Twin Co' matches 2 customers" in result.stderr
    assert "(D1)" in result.stderr and "(D2)" in result.stderr
    book("claim", "D2", "--rep", "bob")  # an external_id picks one


def test_customer_found_by_id_external_id_or_name(book):
    assert book.json("claim", "4", "--rep", "bob")["external_id"] == "C4"
    assert book.json("claim", "Acme Trading", "--rep", "bob")["external_id"] == "C5"


def test_assign_deals_the_oldest_pool_customers_round_robin(book, write_csv):
    book("rep", "add", "erin", "--role", "rookie")
    book("rep", "add", "frank", "--role", "rookie")
    book("release", "C3", now="2026-11-29T10:00:00")  # newest in the pool
    result = book.json("assign", "--to", "erin", "--to", "frank", "--limit", "2")
    assert result["count"] == 2
    assert [(a["name"], a["owner"]) for a in result["assigned"]] == [
        ("杭州云帆贸易有限公司", "erin"),
        ("Acme Trading", "frank"),
    ]
    assert owner_of(book, "C3") is None
    assert book.sql("select count(*) from event where kind = 'assigned'") == [(2,)]


def test_assign_named_customers_and_dry_run(book):
    book("rep", "add", "erin", "--role", "rookie")
    before = book.snapshot()
    plan = book.json("assign", "C5", "--to", "erin", "--dry-run")
    assert plan["dry_run"] is True and plan["assigned"][0]["owner"] == "erin"
    assert book.snapshot() == before
    book("assign", "C5", "--to", "erin")
    assert owner_of(book, "C5") == "erin"


def test_assign_refuses_an_owned_customer_and_changes_nothing(book):
    result = book.fails("assign", "C4", "C1", "--to", "bob")
    assert "'Acme Logistics' is not in the pool: alice owns it" in result.stderr


def test_assign_needs_a_rep(book):
    book.fails("assign", "C4", code=2)


def test_capacity_refuses_claims_and_limits_assignment(book):
    book("rep", "add", "erin", "--role", "rookie", "--capacity", "1")
    book("claim", "C4", "--rep", "erin")
    result = book.fails("claim", "C5", "--rep", "erin")
    assert "capacity: erin owns 1 of 1" in result.stderr
    assert "capacity" in book.fails("assign", "--to", "erin").stderr


def test_release_sends_a_customer_back_with_reason(book):
    view = book.json("release", "C1", "--reason", "moved away")
    assert view["owner"] is None and view["pooled_at"] == "2026-11-29T01:00:00Z"
    assert book.sql("select kind, from_rep_id, reason from event where kind = 'released'") == [
        ("released", 1, "moved away")
    ]
    assert "already in the pool" in book.fails("release", "C1").stderr


def test_release_checks_the_rep_when_given(book):
    assert "belongs to alice, not bob" in book.fails("release", "C1", "--rep", "bob").stderr


def test_rep_leave_sends_the_whole_book_to_the_pool(book):
    result = book.json("rep", "leave", "alice")
    assert result == {"rep": "alice", "released": 2, "login_revoked": False}
    assert owner_of(book, "C1") is None and owner_of(book, "C2") is None
    assert book.sql("select count(*) from event where kind = 'rep_left'") == [(2,)]
    assert "left on" in book.fails("claim", "C4", "--rep", "alice").stderr
    assert "left on" in book.fails("rep", "leave", "alice").stderr
    assert [r["name"] for r in book.json("rep", "list")] == ["bob"]
    assert [r["name"] for r in book.json("rep", "list", "--all")] == ["alice", "bob"]


def test_rep_add_and_list(cli):
    cli("rep", "add", "carol", "--role", "coach")
    rep = cli.json("rep", "add", "erin", "--role", "rookie", "--coach", "carol", "--capacity", "30")
    assert rep == {
        **rep,
        "name": "erin",
        "role": "rookie",
        "coach": "carol",
        "capacity": 30,
        "customers": 0,
    }
    assert "already exists" in cli.fails("rep", "add", "erin").stderr
    assert "no rep named 'nobody'" in cli.fails("rep", "add", "x", "--coach", "nobody").stderr
    cli.fails("rep", "add", "y", "--role", "boss", code=2)


def test_customers_filters(book):
    assert {c["external_id"] for c in book.json("customers", "--rep", "alice")} == {"C1", "C2"}
    assert {c["external_id"] for c in book.json("customers", "--pool")} == {"C4", "C5"}
    assert {c["external_id"] for c in book.json("customers", "--stage", "商务谈判")} == {"C1", "C5"}
    assert len(book.json("customers", "--limit", "2")) == 2
    pool = book.json("pool")
    assert [c["external_id"] for c in pool] == ["C4", "C5"]
    for key in ("id", "external_id", "name", "owner", "stage", "last_contact_at"):
        assert key in pool[0]

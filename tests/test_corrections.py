"""Corrections: `customer edit`, `customer merge` and `rep rename`, each with its trail."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from conftest import Cli, utc
from typer.testing import CliRunner

from salespool.cli import app


def events(cli: Cli, customer_id: int, kind: str) -> list[dict]:
    """The detail of each event of `kind` on the customer, parsed."""
    rows = cli.sql(
        "select detail from event where customer_id = :c and kind = :k order by id",
        c=customer_id,
        k=kind,
    )
    return [json.loads(d) if d else None for (d,) in rows]


def per_customer(cli: Cli, table: str) -> dict[int, int]:
    rows = cli.sql(f"select customer_id, count(*) from {table} group by customer_id")
    return dict(rows)


@pytest.mark.parametrize(
    "command", [["customer", "edit"], ["customer", "merge"], ["rep", "rename"]], ids=" ".join
)
def test_each_correction_has_help_with_an_example(command):
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Example" in result.stdout


# --- customer edit ----------------------------------------------------------------


def test_edit_changes_every_field_recomputes_keys_and_records_old_and_new(book):
    out = book.json(
        "customer",
        "edit",
        "C3",
        "--name",
        "Ｂｌｕｅ River  Foods Co",
        "--phone",
        "+86 139-0013-9000",
        "--email",
        " Sales@BlueRiver.CN ",
        "--contact",
        "王伟",
        "--city",
        "上海",
        "--level",
        "A",
        "--external-id",
        "BR-001",
    )
    assert (out["id"], out["name"], out["external_id"]) == (3, "Ｂｌｕｅ River  Foods Co", "BR-001")
    assert out["changed"]["email"] == {"old": None, "new": "Sales@BlueRiver.CN"}
    assert out["owner"] == "bob" and out["stage"] == "prospecting"  # not edited here
    assert book.sql(
        "select name, external_id, contact, phone, email, city, level,"
        " name_key, phone_key, email_key from customer where id = 3"
    ) == [
        (
            "Ｂｌｕｅ River  Foods Co",
            "BR-001",
            "王伟",
            "+86 139-0013-9000",
            "Sales@BlueRiver.CN",
            "上海",
            "A",
            "blue river foods co",
            "+8613900139000",
            "sales@blueriver.cn",
        )
    ]
    [detail] = events(book, 3, "edited")
    assert detail["fields"] == {
        "name": {"old": "Blue River Foods", "new": "Ｂｌｕｅ River  Foods Co"},
        "external_id": {"old": "C3", "new": "BR-001"},
        "contact": {"old": None, "new": "王伟"},
        "phone": {"old": None, "new": "+86 139-0013-9000"},
        "email": {"old": None, "new": "Sales@BlueRiver.CN"},
        "city": {"old": None, "new": "上海"},
        "level": {"old": None, "new": "A"},
    }
    [edited] = [e for e in book.json("history", "BR-001") if e["kind"] == "edited"]
    assert edited["detail"] == detail and edited["from_rep"] == edited["to_rep"] == "bob"
    assert edited["reason"].startswith("edited name, external_id")


def test_edit_with_an_empty_value_clears_the_field_and_its_key(book):
    book("customer", "edit", "C3", "--phone", "13900139000", "--email", "a@b.cn")
    out = book.json("customer", "edit", "C3", "--phone", "", "--email", "  ")
    assert (out["phone"], out["email"]) == (None, None)
    assert book.sql("select phone, phone_key, email, email_key from customer where id = 3") == [
        (None, None, None, None)
    ]
    assert events(book, 3, "edited")[-1]["fields"]["phone"] == {"old": "13900139000", "new": None}


def test_edit_with_the_stored_values_changes_nothing_and_writes_no_event(book):
    before = book.snapshot()
    result = book("customer", "edit", "C3", "--name", " Blue River Foods ", "--city", "")
    assert "nothing changed" in result.stdout
    assert book.snapshot() == before


def test_edit_refuses_bad_input_and_changes_nothing(book):
    assert "nothing to change" in book.fails("customer", "edit", "C3").stderr
    assert "cannot be cleared" in book.fails("customer", "edit", "C3", "--name", " ").stderr
    assert "no customer 'C9'" in book.fails("customer", "edit", "C9", "--city", "x").stderr
    # Owner and stage have their own commands, with their own trail.
    book.fails("customer", "edit", "C3", "--stage", "won", code=2)
    book.fails("customer", "edit", "C3", "--owner", "alice", code=2)


def test_edit_refuses_a_phone_email_or_external_id_of_another_customer_naming_it(book):
    book("customer", "edit", "C1", "--phone", "13800138000", "--email", "info@acme.cn")
    err = book.fails("customer", "edit", "C3", "--phone", "＋８６ １３８ ００１３ ８０００").stderr
    assert "--phone" in err and "(+8613800138000) is already #1 Acme Logistics's" in err
    err = book.fails("customer", "edit", "C3", "--email", "INFO@acme.cn").stderr
    assert "--email" in err and "#1 Acme Logistics" in err
    err = book.fails("customer", "edit", "C3", "--external-id", "C1").stderr
    assert "--external-id: 'C1' is already #1 Acme Logistics's" in err
    # One good field with one colliding: nothing at all is written.
    book.fails("customer", "edit", "C3", "--city", "杭州", "--phone", "13800138000")


def test_edit_allows_a_name_another_customer_has(book):
    """Names repeat legitimately (branches of one chain): only ids, phones and e-mails identify."""
    out = book.json("customer", "edit", "C5", "--name", "acme logistics")
    assert out["name"] == "acme logistics"
    assert book.sql("select count(*) from customer where name_key = 'acme logistics'") == [(2,)]


def test_a_later_import_matches_by_the_edited_phone_and_email(book, write_csv):
    book("customer", "edit", "C3", "--phone", "13900139000")
    book("customer", "edit", "C4", "--email", "Buy@YunFan.cn")
    result = book.json(
        "import",
        str(
            write_csv(
                "name,phone,email,city\n"
                "BLUE RIVER  Foods,+86 139 0013 9000,,宁波\n"
                "杭州云帆贸易有限公司 ,,buy@yunfan.CN,杭州\n",
                name="again.csv",
            )
        ),
    )
    assert (result["inserted"], result["updated"]) == (0, 2)
    assert book.sql("select id, city from customer where id in (3, 4) order by id") == [
        (3, "宁波"),
        (4, "杭州"),
    ]


# --- customer merge ---------------------------------------------------------------


def busy_pair(book: Cli) -> Cli:
    """C1 and C2 are alice's; C2 has follow-ups, a deal, a lock and details C1 lacks."""
    book("log", "C1", "--rep", "alice", "--kind", "call", "--at", "2026-11-01")
    book("log", "C2", "--rep", "alice", "--kind", "visit", "--at", "2026-11-25")
    book("log", "C2", "--rep", "alice", "--kind", "call", "--at", "2026-11-26")
    book("deal", "C2", "--amount", "500")
    book("lock", "C2", "--reason", "tender under way", "--until", "2027-01-31")
    book("customer", "edit", "C2", "--phone", "021-6888 0000", "--city", "上海")
    book("customer", "edit", "C1", "--city", "Beijing")
    return book


def test_merge_moves_follow_ups_deals_events_and_the_lock_to_keep(book):
    busy_pair(book)
    before = {t: per_customer(book, t) for t in ("follow_up", "deal", "event")}
    out = book.json("customer", "merge", "C1", "C2")
    after = {t: per_customer(book, t) for t in ("follow_up", "deal", "event")}
    assert after["follow_up"] == {1: before["follow_up"][1] + before["follow_up"][2]}
    assert after["deal"] == {1: 1}
    # Every event moved, plus the one `merged` event.
    assert after["event"][1] == before["event"][1] + before["event"][2] + 1
    assert 2 not in after["event"] and book.sql("select id from customer where id = 2") == []
    assert book.sql("select id, customer_id from customer_alias") == [(2, 1)]
    # KEEP's details win; the empty ones are filled from DROP; keys follow.
    assert (out["name"], out["city"], out["phone"]) == (
        "Acme Logistics",
        "Beijing",
        "021-6888 0000",
    )
    assert out["external_id"] == "C1" and out["owner"] == "alice"
    assert out["last_contact_at"] == "2026-11-29T01:00:00Z"  # the later of both (the deal)
    assert out["locked"] and out["lock_reason"] == "tender under way"
    assert book.sql("select phone_key from customer where id = 1") == [("+862168880000",)]
    merged = out["merged"]
    assert (merged["id"], merged["name"], merged["external_id"]) == (
        2,
        "上海华瑞科技有限公司",
        "C2",
    )
    assert (merged["follow_ups"], merged["deals"], merged["events"]) == (2, 1, before["event"][2])
    assert merged["taken"]["phone"] == {"old": None, "new": "021-6888 0000"}
    assert "city" not in merged["taken"]


def test_history_of_keep_shows_both_trails_and_the_merge(book):
    busy_pair(book)
    book("customer", "merge", "C1", "C2")
    trail = book.json("history", "C1")
    kinds = [e["kind"] for e in trail]
    assert kinds.count("imported") == 2 and "locked" in kinds and kinds[-1] == "merged"
    assert kinds.count("edited") == 2
    merged = trail[-1]
    assert set(merged) >= {
        "at",
        "kind",
        "from_rep",
        "to_rep",
        "from_stage",
        "to_stage",
        "reason",
        "actor",
        "detail",
    }
    assert merged["detail"]["dropped"] == {
        "id": 2,
        "name": "上海华瑞科技有限公司",
        "external_id": "C2",
    }
    assert merged["detail"]["fields"]["phone"]["new"] == "021-6888 0000"
    assert merged["detail"]["moved"]["deals"] == 1
    assert merged["reason"] == "merged #2 上海华瑞科技有限公司 (C2)"
    assert [e["detail"] for e in trail if e["kind"] == "imported"] == [None, None]
    # CSV carries the detail as one JSON cell.
    rows = list(csv.DictReader(io.StringIO(book("history", "C1", "--csv").stdout)))
    assert json.loads(rows[-1]["detail"])["dropped"]["id"] == 2


def test_history_by_keeps_id_after_a_merge(book):
    book("customer", "merge", "1", "2")
    assert [e["kind"] for e in book.json("history", "1")][-1] == "merged"


def test_history_by_drops_old_id_resolves_to_keep(book):
    book("customer", "merge", "1", "2")
    trail = book.json("history", "2")
    assert trail[-1]["kind"] == "merged" and trail[-1]["detail"]["dropped"]["id"] == 2


def test_merge_fills_keeps_external_id_from_drop(book):
    book("customer", "edit", "C1", "--external-id", "")
    out = book.json("customer", "merge", "Acme Logistics", "C2")
    assert out["external_id"] == "C2"
    assert book.sql("select id from customer where external_id = 'C2'") == [(1,)]


def test_merge_of_different_owners_is_refused_unless_owner_names_one(book):
    book("rep", "add", "carol")
    err = book.fails("customer", "merge", "C1", "C3").stderr
    assert "#1 Acme Logistics is alice's and #3 Blue River Foods is bob's" in err
    assert "--owner alice or --owner bob" in err
    err = book.fails("customer", "merge", "C1", "C3", "--owner", "carol").stderr
    assert "--owner: carol owns neither customer" in err
    assert (
        "no rep named 'zed'" in book.fails("customer", "merge", "C1", "C3", "--owner", "zed").stderr
    )
    out = book.json("customer", "merge", "C1", "C3", "--owner", "bob")
    # The owner's side brings its ownership: owner, owned_since and stage.
    assert (out["owner"], out["stage"]) == ("bob", "prospecting")
    assert out["owned_since"] == "2026-02-28T16:00:00Z"
    [event] = book.json("history", "C1")[-1:]
    assert (event["from_rep"], event["to_rep"]) == ("alice", "bob")
    assert (event["from_stage"], event["to_stage"]) == ("negotiating", "prospecting")
    assert event["detail"]["fields"]["stage"] == {"old": "negotiating", "new": "prospecting"}


def test_merge_with_the_owner_keeps_keeps_its_stage(book):
    out = book.json("customer", "merge", "C1", "C3", "--owner", "alice")
    assert (out["owner"], out["stage"]) == ("alice", "negotiating")
    assert out["owned_since"] == "2026-01-09T16:00:00Z"


def test_merge_of_a_pool_customer_and_an_owned_one_goes_to_the_owner(book):
    out = book.json("customer", "merge", "C4", "C3")
    assert (out["id"], out["owner"], out["stage"], out["pooled_at"]) == (
        4,
        "bob",
        "prospecting",
        None,
    )
    assert out["owned_since"] == "2026-02-28T16:00:00Z"  # bob's, from C3


def test_merge_of_two_pool_customers_stays_in_the_pool_in_the_earlier_place(book):
    book("release", "C3", "--rep", "bob", now="2026-11-30T09:00:00")
    [(c4_pooled,)] = book.sql("select pooled_at from customer where id = 4")
    out = book.json("customer", "merge", "C3", "C4", now="2026-11-30T10:00:00")
    assert out["owner"] is None and out["owned_since"] is None
    assert out["pooled_at"] == utc(c4_pooled).isoformat().replace("+00:00", "Z")
    assert [c["id"] for c in book.json("pool")] == [3, 5]


def test_the_lock_goes_with_the_ownership_that_stays(book):
    book("lock", "C3", "--reason", "bob's tender")
    out = book.json("customer", "merge", "C1", "C3", "--owner", "alice")
    assert not out["locked"] and out["lock_reason"] is None
    # The lock event moved with C3's trail all the same.
    assert "locked" in [e["kind"] for e in book.json("history", "C1")]


def test_the_lock_of_drop_comes_along_when_its_owner_keeps_it(book):
    book("lock", "C3", "--reason", "bob's tender")
    out = book.json("customer", "merge", "C1", "C3", "--owner", "bob")
    assert out["locked"] and out["lock_reason"] == "bob's tender"


def test_merge_refuses_one_customer_twice_and_unknown_ones(book):
    err = book.fails("customer", "merge", "C1", "Acme Logistics").stderr
    assert "KEEP and DROP are the same customer, #1 Acme Logistics" in err
    assert "no customer 'C9'" in book.fails("customer", "merge", "C1", "C9").stderr
    assert "no customer 'C9'" in book.fails("customer", "merge", "C9", "C1").stderr


def test_merging_a_keep_that_has_aliases_re_points_them(book):
    book("customer", "merge", "C1", "C2")
    book("customer", "merge", "C5", "C1")
    assert book.sql("select id, customer_id from customer_alias order by id") == [(1, 5), (2, 5)]
    assert per_customer(book, "event") == {3: 1, 4: 1, 5: 5}  # 3 imported, 2 merged


def test_a_merged_id_a_new_customer_reuses_stops_being_an_alias(book, write_csv):
    """SQLite may hand DROP's id (the highest) to the next new customer: the alias then goes."""
    book("customer", "merge", "C4", "C5")
    book("import", str(write_csv("name\nNew Co\n", name="new.csv")))
    [(new_id,)] = book.sql("select id from customer where name = 'New Co'")
    if book.is_sqlite:
        assert new_id == 5 and book.sql("select id from customer_alias") == [(5,)]
    book("customer", "merge", "C1", "C2")
    aliases = book.sql("select id from customer_alias order by id")
    assert (new_id,) not in aliases and (2,) in aliases
    assert book.json("history", str(new_id))[-1]["reason"] == "import new.csv"


# --- rep rename -------------------------------------------------------------------


def test_rep_rename_keeps_the_book_and_the_report_follows(book):
    out = book.json("rep", "rename", "alice", "Alice Wang")
    assert (out["name"], out["customers"]) == ("Alice Wang", 2)
    report = book.json("report", "--rep", "Alice Wang")
    assert [(r["rep"], r["customers"]) for r in report["reps"]] == [("Alice Wang", 2)]
    assert "no rep named 'alice'" in book.fails("report", "--rep", "alice").stderr
    assert {c["owner"] for c in book.json("customers") if c["id"] in (1, 2)} == {"Alice Wang"}
    [(kind, detail, actor)] = book.sql("select kind, detail, actor from rep_event")
    assert (kind, json.loads(detail), actor) == (
        "renamed",
        {"name": {"old": "alice", "new": "Alice Wang"}},
        "test",
    )
    # The customer trail names the rep as they are called now.
    assert book.json("history", "C1")[0]["to_rep"] == "Alice Wang"


def test_rep_rename_refusals(book):
    assert "rep 'bob' already exists" in book.fails("rep", "rename", "alice", "bob").stderr
    assert "no rep named 'zed'" in book.fails("rep", "rename", "zed", "z").stderr
    assert "nothing to change" in book.fails("rep", "rename", "alice", " alice ").stderr
    assert "a rep needs a name" in book.fails("rep", "rename", "alice", " ").stderr


def test_rep_rename_changes_case_and_a_rep_who_left(book):
    book("rep", "rename", "alice", "Alice")
    book("rep", "leave", "bob")
    out = book.json("rep", "rename", "bob", "Bob Li")
    assert out["left_at"] is not None and out["name"] == "Bob Li"
    assert book.sql("select count(*) from rep_event where kind = 'renamed'") == [(2,)]


# --- at the same time ---------------------------------------------------------------


def _outcomes(procs: list) -> list[tuple[int, str]]:
    results = []
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err and "database is locked" not in err, err
        results.append((proc.returncode, err))
    return sorted(results)


@pytest.mark.slow
def test_two_edits_giving_one_phone_to_two_customers_at_once_one_is_refused(book):
    start = time.time() + 2.0
    procs = [
        book.spawn("customer", "edit", key, "--phone", "13800138000", start=start)
        for key in ("C3", "C4")
    ]
    (ok, _), (refused, err) = _outcomes(procs)
    assert (ok, refused) == (0, 1) and "is already #" in err, err
    assert book.sql("select count(*) from customer where phone_key = '+8613800138000'") == [(1,)]


@pytest.mark.slow
def test_a_merge_and_a_claim_of_keep_at_once_one_of_them_wins(book):
    start = time.time() + 2.0
    procs = [
        book.spawn("customer", "merge", "C4", "C3", start=start),
        book.spawn("claim", "C4", "--rep", "alice", start=start),
    ]
    (ok, _), (refused, err) = _outcomes(procs)
    assert (ok, refused) == (0, 1), err
    [(owner,)] = book.sql(
        "select r.name from customer c join rep r on r.id = c.owner_id where c.id = 4"
    )
    merged = book.sql("select count(*) from customer where id = 3") == [(0,)]
    assert owner == ("bob" if merged else "alice")

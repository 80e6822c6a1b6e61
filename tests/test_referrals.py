"""`referred_by`: who referred a customer (import column, `customer edit --referred-by`, `show`,
export), and the report's referrals and repeat purchase rate per rep."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import Cli

BOOK = """external_id,name,owner,介绍人
C1,Acme Logistics,alice,
C2,Blue River Foods,bob,C1
C3,Cyan Tools,alice,Blue River Foods
C4,Dune Travel,bob,C5
C5,Echo Media,alice,
"""


def referrers(cli: Cli) -> dict[str, str | None]:
    rows = cli.sql(
        "select c.external_id, r.external_id from customer c "
        "left join customer r on r.id = c.referred_by_id order by c.id"
    )
    return dict(rows)


@pytest.fixture
def book(cli: Cli, write_csv) -> Cli:
    cli("import", str(write_csv(BOOK)), now="2026-11-01T09:00:00")
    return cli


def test_import_resolves_referrers_in_the_book_and_the_same_file(book, write_csv):
    # C4's referrer C5 comes later in the file; C3's is named.
    assert referrers(book) == {"C1": None, "C2": "C1", "C3": "C2", "C4": "C5", "C5": None}
    # A later file refers to the book by #ID, by external_id and by name; re-importing
    # it changes nothing.
    later = write_csv(
        "external_id,name,推荐人\nC6,Fox Labs,#5\nC7,Gold Ltd,Fox Labs\nC1,Acme Logistics,C7\n",
        name="later.csv",
    )
    result = book.json("import", str(later), now="2026-11-02T09:00:00")
    assert (result["inserted"], result["updated"]) == (2, 1)
    assert referrers(book) | {} == {
        "C1": "C7",
        "C2": "C1",
        "C3": "C2",
        "C4": "C5",
        "C5": None,
        "C6": "C5",
        "C7": "C6",
    }
    again = book.json("import", str(later), now="2026-11-02T10:00:00")
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("Nobody Inc", "no customer of this id, external_id or name in the store or the file"),
        ("C9", "a customer cannot refer itself"),
        ("#99", "no customer of this id"),
    ],
)
def test_a_bad_referrer_refuses_the_file_with_line_column_and_value(book, write_csv, cell, why):
    bad = write_csv(f"external_id,name,介绍人\nC8,Hill Co,\nC9,Iron Co,{cell}\n", name="bad.csv")
    result = book.fails("import", str(bad))
    assert result.stderr.startswith(f"error: {bad}:3: column '介绍人': value '{cell}': {why}")


def test_an_ambiguous_referrer_name_is_refused_and_rejects_take_the_row(book, write_csv, tmp_path):
    # Another branch of Acme (an external_id of its own): the name is two customers now.
    book("import", str(write_csv("external_id,name\nC10,Acme Logistics\n", name="branch.csv")))
    bad = write_csv("name,referred_by\nJade Co,Acme Logistics\nKite Co,C1\n", name="two.csv")
    result = book.fails("import", str(bad))
    assert "two.csv:2: column 'referred_by': value 'Acme Logistics': matches 2 customers" in (
        result.stderr
    )
    rejects = tmp_path / "rejects.csv"
    done = book.json("import", str(bad), "--rejects", str(rejects))
    assert (done["rejected"], done["inserted"]) == (1, 1)
    assert referrers(book)[None] == "C1"  # Kite Co (no external_id): referred by C1


def test_edit_sets_and_clears_the_referrer_with_a_trail(book):
    data = book.json("customer", "edit", "C5", "--referred-by", "Acme Logistics")
    assert (data["referred_by_id"], data["referred_by"]) == (1, "Acme Logistics")
    assert data["changed"] == {"referred_by": {"old": None, "new": "#1 Acme Logistics"}}
    event = book.json("history", "C5")[-1]
    assert event["kind"] == "edited"
    assert event["detail"]["fields"]["referred_by"]["new"] == "#1 Acme Logistics"
    same = book.json("customer", "edit", "C5", "--referred-by", "#1")
    assert same["changed"] == {}
    cleared = book.json("customer", "edit", "C5", "--no-referred-by")
    assert cleared["referred_by_id"] is None
    assert cleared["changed"]["referred_by"] == {"old": "#1 Acme Logistics", "new": None}
    book("customer", "edit", "C5", "--referred-by", "C2")
    assert book.json("customer", "edit", "C5", "--referred-by", "")["referred_by"] is None


def test_edit_refuses_itself_unknown_and_both_flags(book):
    result = book.fails("customer", "edit", "C5", "--referred-by", "C5")
    assert result.stderr == "error: --referred-by: #5 Echo Media cannot refer itself\n"
    result = book.fails("customer", "edit", "C5", "--referred-by", "nobody")
    assert result.stderr.startswith("error: --referred-by: no customer 'nobody'")
    result = book.fails("customer", "edit", "C5", "--referred-by", "C1", "--no-referred-by")
    assert "choose one" in result.stderr


def test_show_and_export_carry_the_referrer(book):
    story = book.json("show", "C2")
    assert (story["customer"]["referred_by_id"], story["customer"]["referred_by"]) == (
        1,
        "Acme Logistics",
    )
    book.runner.env = {"NO_COLOR": "1", "COLUMNS": "100"}
    assert "referred by  #1 Acme Logistics" in book("show", "C2").stdout
    rows = list(csv.DictReader(io.StringIO(book("export", "customers").stdout)))
    assert {r["external_id"]: r["referred_by"] for r in rows}["C2"] == "C1"
    assert {r["external_id"]: r["referred_by"] for r in rows}["C1"] == ""


def test_export_then_import_into_a_new_store_keeps_the_referrers(book, tmp_path):
    out = tmp_path / "book.csv"
    book("export", "customers", "--out", str(out))
    fresh = Cli(db=tmp_path / "fresh.db", runner=book.runner)  # a SQLite file on either backend
    fresh("init")
    fresh("import", str(out))
    assert referrers(fresh) == referrers(book)


def test_merge_moves_the_referrals_to_the_customer_kept(book):
    book("customer", "merge", "C5", "C1")  # C1 referred C2 and is gone
    assert referrers(book) == {"C2": "C5", "C3": "C2", "C4": "C5", "C5": None}


def test_the_report_counts_referrals_and_the_repeat_purchase_rate(book, write_csv):
    # Created in the window: C6 referred by alice's C1, C7 by bob's C2; C8 before it.
    new = write_csv(
        "external_id,name,referred_by,created_at\n"
        "C6,Fox Labs,C1,2026-11-20\nC7,Gold Ltd,C2,2026-11-21\nC8,Hill Co,C1,2026-10-01\n",
        name="new.csv",
    )
    book("import", str(new), now="2026-11-22T09:00:00")
    book("deal", "C1", "--amount", "100", now="2026-11-23T09:00:00")
    book("deal", "C1", "--amount", "200", now="2026-11-24T09:00:00")
    book("deal", "C3", "--amount", "50", now="2026-11-24T09:00:00")
    book("deal", "C2", "--amount", "70", now="2026-11-24T09:00:00")
    report = book.json("report", "--since", "2026-11-10")
    reps = {r["rep"]: r for r in report["reps"]}
    alice, bob = reps["alice"], reps["bob"]
    assert (alice["referrals"], bob["referrals"]) == (1, 1)
    assert (alice["buying_customers"], alice["repeat_customers"], alice["repeat_rate"]) == (
        2,
        1,
        0.5,
    )
    assert (bob["buying_customers"], bob["repeat_customers"], bob["repeat_rate"]) == (1, 0, 0.0)
    assert report["totals"]["referrals"] == 2 and report["totals"]["repeat_rate"] == 0.3333
    book.runner.env = {"NO_COLOR": "1", "COLUMNS": "80"}
    out = book("report", "--since", "2026-11-10").stdout
    assert "Referrals and repeat orders" in out
    line = next(x for x in out.splitlines() if x.strip().startswith("alice") and "50%" in x)
    assert line.split()[:5] == ["alice", "1", "2", "1", "50%"]
    rows = list(
        csv.DictReader(io.StringIO(book("report", "--since", "2026-11-10", "--csv").stdout))
    )
    assert {r["rep"]: r["repeat_rate"] for r in rows}["alice"] == "0.5"


def test_edit_refuses_a_referral_cycle(book):
    # C2 was referred by C1 and C3 by C2: C1 referred by either closes a cycle.
    result = book.fails("customer", "edit", "C1", "--referred-by", "C2")
    assert result.stderr == (
        "error: --referred-by: a referral cycle: #1 Acme Logistics referred by "
        "#2 Blue River Foods referred by #1 Acme Logistics\n"
    )
    result = book.fails("customer", "edit", "C1", "--referred-by", "Cyan Tools")
    assert "#1 Acme Logistics referred by #3 Cyan Tools referred by #2 Blue River Foods " in (
        result.stderr
    )
    result = book.fails("customer", "edit", "C5", "--referred-by", "C4")  # C4 was referred by C5
    assert "a referral cycle: #5 Echo Media referred by #4 Dune Travel" in result.stderr
    book("customer", "edit", "C5", "--referred-by", "C3")  # a chain, no cycle
    book("customer", "edit", "C4", "--referred-by", "C1")  # C4 leaves the chain...
    book("customer", "edit", "C5", "--referred-by", "C4")  # ...so C5 may point at it
    assert referrers(book)["C5"] == "C4"


@pytest.mark.parametrize(
    ("rows", "line", "cell"),
    [
        ("C8,Hill Co,C9\nC9,Iron Co,C8\n", 2, "C9"),  # both new, in the file
        ("C8,Hill Co,C3\nC1,Acme Logistics,C8\n", 2, "C3"),  # C3 by C2 by C1 by C8 by C3
        ("C1,Acme Logistics,C3\n", 2, "C3"),  # with the book alone
    ],
)
def test_import_refuses_a_referral_cycle_with_line_column_and_value(
    book, write_csv, rows, line, cell
):
    bad = write_csv("external_id,name,介绍人\n" + rows, name="cycle.csv")
    result = book.fails("import", str(bad))
    assert result.stderr.startswith(
        f"error: {bad}:{line}: column '介绍人': value '{cell}': a referral cycle"
    ), result.stderr


def test_import_rejects_the_rows_of_a_cycle_and_keeps_the_rest(book, write_csv):
    rows = "external_id,name,介绍人\nC8,Hill Co,C9\nC9,Iron Co,C8\nC10,Jade Co,C9\n"
    rejects = book.db.parent / "rejects.csv"
    result = book.json("import", str(write_csv(rows, name="cycle.csv")), "--rejects", str(rejects))
    assert (result["inserted"], result["rejected"]) == (1, 2)
    assert [r["line"] for r in result["rejects"]] == [2, 3]
    # A file row that replaces a stored referrer breaks the stored chain: no cycle.
    rows = "external_id,name,介绍人\nC2,Blue River Foods,C5\nC1,Acme Logistics,C3\n"
    book("import", str(write_csv(rows, name="ok.csv")))
    assert referrers(book)["C1"] == "C3" and referrers(book)["C2"] == "C5"


def test_a_cycle_stored_before_cycles_were_refused_ends_the_walk(book, write_csv):
    book.execute("update customer set referred_by_id = 2 where id = 1")  # C1 <-> C2
    book("customer", "edit", "C4", "--referred-by", "C1")  # C4 is in no cycle: allowed
    book("import", str(write_csv("external_id,name,介绍人\nC8,Hill Co,C1\n", name="ok.csv")))
    assert referrers(book)["C8"] == "C1"

"""Importing customers from CSV: bulk, idempotent, all or nothing."""

from __future__ import annotations

import pytest
from conftest import BOOK


def test_import_inserts_customers_and_creates_unknown_owners(cli, write_csv):
    result = cli.json("import", str(write_csv(BOOK)))
    assert result["inserted"] == 5
    assert (result["updated"], result["unchanged"], result["rejected"]) == (0, 0, 0)
    assert result["reps_created"] == ["alice", "bob"]
    assert cli.sql("select name, role from rep order by name") == [("alice", "rep"), ("bob", "rep")]
    owners = dict(
        cli.sql("select c.external_id, r.name from customer c left join rep r on r.id = c.owner_id")
    )
    assert owners == {"C1": "alice", "C2": "alice", "C3": "bob", "C4": None, "C5": None}
    # Chinese stage label read as its canonical name
    assert cli.sql("select stage from customer where external_id = 'C5'") == [("negotiating",)]
    # one 'imported' event per customer
    assert cli.sql("select count(*) from event where kind = 'imported'") == [(5,)]


def test_reimporting_the_same_file_changes_nothing(book, write_csv):
    before = book.snapshot()
    result = book.json("import", str(write_csv(BOOK)))
    assert result == {**result, "inserted": 0, "updated": 0, "unchanged": 5, "rejected": 0}
    assert book.snapshot() == before


def test_owned_since_falls_back_to_created_at_then_import_time(book):
    rows = {c["external_id"]: c["owned_since"] for c in book.json("customers")}
    assert rows["C1"] == "2026-01-09T16:00:00Z"  # owned_since column, read in Asia/Shanghai
    assert rows["C2"] == "2026-01-31T16:00:00Z"  # no owned_since: created_at
    assert rows["C4"] is None  # pool customers have no owner clock
    idle = {c["external_id"]: c["idle_days"] for c in book.json("customers")}
    assert idle["C1"] == 58  # since last contact 2026-10-01 10:00 +08:00
    assert idle["C4"] is None


def test_owned_since_defaults_to_import_time_without_dates(cli, write_csv):
    cli("import", str(write_csv("name,owner\nNew Lead,carol\n")))
    [customer] = cli.json("customers")
    assert customer["idle_days"] == 0
    assert customer["owned_since"] == "2026-11-29T01:00:00Z"


def test_reimport_updates_details_but_not_owner_or_stage(book, write_csv):
    book("claim", "C4", "--rep", "bob")
    changed = BOOK.replace("C4,杭州云帆贸易有限公司,,", "C4,杭州云帆贸易有限公司,,").replace(
        "C3,Blue River Foods,bob,prospecting", "C3,Blue River Foods Ltd,alice,won"
    )
    result = book.json("import", str(write_csv(changed)))
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 1, 4)
    assert book.sql(
        "select c.name, r.name, c.stage from customer c join rep r on r.id = c.owner_id "
        "where external_id in ('C3', 'C4') order by external_id"
    ) == [
        ("Blue River Foods Ltd", "bob", "prospecting"),
        ("杭州云帆贸易有限公司", "bob", "prospecting"),
    ]


def test_headers_are_case_insensitive_with_bom_and_quotes(cli, write_csv):
    text = '\ufeffNAME,External ID,City,Owner\n"Quoted, Co",Q1,"Shang""hai",dave\n'
    cli("import", str(write_csv(text)))
    [c] = cli.json("customers")
    assert (c["name"], c["external_id"], c["city"], c["owner"]) == (
        "Quoted, Co",
        "Q1",
        'Shang"hai',
        "dave",
    )


def test_rows_without_external_id_match_by_exact_name(cli, write_csv):
    path = write_csv("name,city\nAcme,Beijing\n")
    cli("import", str(path))
    result = cli.json("import", str(write_csv("name,city\nAcme,Shanghai\n")))
    assert (result["inserted"], result["updated"]) == (0, 1)
    assert cli.sql("select city from customer") == [("Shanghai",)]


def test_dry_run_counts_but_writes_nothing(cli, write_csv):
    cli("init")
    before = cli.snapshot()
    result = cli.json("import", str(write_csv(BOOK)), "--dry-run")
    assert result["inserted"] == 5 and result["dry_run"] is True
    assert cli.snapshot() == before


def test_unknown_columns_are_reported_and_ignored(cli, write_csv):
    result = cli("import", str(write_csv("name,favourite colour\nAcme,blue\n")))
    assert "ignored columns: favourite colour" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name,created_at\nAcme,2026-01-01\nBeta,yesterday-ish\n",
            ":3: column 'created_at': value 'yesterday-ish': not a date",
        ),
        (
            "name,stage\nAcme,won\nBeta,closing\n",
            ":3: column 'stage': value 'closing': unknown stage",
        ),
        ("name,city\nAcme,x\n,Beijing\n", ":3: column 'name': value '': a customer needs a name"),
        (
            "external_id,name\nX1,Acme\nX1,Beta\n",
            ":3: column 'external_id': value 'X1': same external_id as line 2",
        ),
        ("name,city\nAcme,x\nAcme,y\n", ":3: column 'name': value 'Acme': same name as line 2"),
        ("city,owner\nBeijing,alice\n", ":1: no 'name' column in the header"),
        ("name,city\nAcme,x,extra\n", ":2: 3 fields but the header has 2"),
        ("", "the file is empty"),
    ],
)
def test_a_bad_file_is_refused_with_line_and_column_and_nothing_written(
    book, write_csv, text, message
):
    path = write_csv(text, name="bad.csv")
    result = book.fails("import", str(path))
    assert message in result.stderr
    assert f"{path}" in result.stderr


def test_bad_row_deep_in_a_big_file_refuses_everything(cli, write_csv):
    rows = [f"B{i},Company {i},rep{i % 7}" for i in range(10_000)]
    rows[9_000] = "B9000,,rep1"
    path = write_csv("external_id,name,owner\n" + "\n".join(rows) + "\n")
    cli("init")
    result = cli.fails("import", str(path))
    assert ":9002: column 'name'" in result.stderr
    assert cli.sql("select count(*) from customer") == [(0,)]
    assert cli.sql("select count(*) from rep") == [(0,)]


def test_gbk_file_is_read_and_bytes_that_do_not_decode_are_refused_cleanly(cli, write_csv):
    # Issue 4: a file that is not UTF-8 is read as GB18030 (what Chinese Windows saves).
    path = write_csv("name\n华为\n".encode("gbk"))
    cli("init")
    result = cli.fails("import", str(path), "--encoding", "utf-8")
    assert ":2: byte 0xbb is not valid utf-8 text" in result.stderr
    assert cli.json("import", str(path))["encoding"] == "gb18030"
    assert cli.sql("select name from customer") == [("华为",)]


def test_missing_file_is_a_clear_error(cli, tmp_path):
    cli("init")
    result = cli.fails("import", str(tmp_path / "nope.csv"))
    assert "cannot open" in result.stderr


def test_ambiguous_name_match_is_refused(cli, write_csv):
    cli("import", str(write_csv("external_id,name\nA1,Acme\nA2,Acme\n")))
    result = cli.fails("import", str(write_csv("name,city\nAcme,Beijing\n", name="again.csv")))
    assert "matches 2 customers" in result.stderr


def test_owner_who_has_left_is_refused(book, write_csv):
    book("rep", "leave", "bob")
    result = book.fails("import", str(write_csv("name,owner\nNew Co,bob\n", name="n.csv")))
    assert "column 'owner': value 'bob': this rep has left" in result.stderr

"""Import rules from issue 9: phone match keys, future dates, rejects files, capacity."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def rules(tmp_path: Path, monkeypatch) -> Callable[[str], Path]:
    """Write the team's rules file and point SALESPOOL_CONFIG at it."""

    def write(text: str) -> Path:
        path = tmp_path / "salespool.toml"
        path.write_text(text)
        monkeypatch.setenv("SALESPOOL_CONFIG", str(path))
        return path

    return write


def owners(cli) -> dict[str, str | None]:
    return dict(
        cli.sql("select c.external_id, r.name from customer c left join rep r on r.id = c.owner_id")
    )


# --- phones: only a valid number is a match key -------------------------------------


def test_placeholder_phones_never_merge_two_companies(cli, write_csv):
    cli("import", str(write_csv("name,phone\n丙公司,0\n", name="a.csv")))
    result = cli.json("import", str(write_csv("name,phone\n丁公司,0\n", name="b.csv")))
    assert (result["inserted"], result["updated"]) == (1, 0)
    assert result["phones_not_matchable"] == {"count": 1, "lines": [2]}
    assert cli.sql("select name, phone, phone_key from customer order by id") == [
        ("丙公司", "0", None),
        ("丁公司", "0", None),
    ]


def test_placeholder_phones_in_one_file_are_not_duplicates(cli, write_csv):
    text = "name,phone\nAcme,0\nBeta,n/a\nGamma,12345\nDelta,13800138000\nEpsilon,\n"
    path = write_csv(text)
    result = cli.json("import", str(path), "--dry-run")
    assert (result["inserted"], result["rejected"]) == (5, 0)
    assert result["phones_not_matchable"] == {"count": 3, "lines": [2, 3, 4]}
    human = cli("import", str(path))
    assert "3 phones kept as typed but never matched (not a valid number): lines 2, 3, 4" in (
        human.stderr
    )
    assert cli.sql("select count(*) from customer where phone_key is not null") == [(1,)]


def test_phones_not_matchable_lists_at_most_100_lines(cli, write_csv):
    rows = "\n".join(f"Company {i},000" for i in range(150))
    result = cli.json("import", str(write_csv(f"name,phone\n{rows}\n")), "--dry-run")
    assert result["phones_not_matchable"]["count"] == 150
    assert result["phones_not_matchable"]["lines"] == list(range(2, 102))


def test_a_phone_match_under_another_name_is_refused(cli, write_csv, tmp_path):
    cli("import", str(write_csv("name,phone,email\n丙公司,13800138000,info@bing.cn\n")))
    before = cli.snapshot()
    path = write_csv("name,phone\n丁公司,+86 138 0013 8000\n", name="b.csv")
    result = cli.fails("import", str(path))
    assert result.stderr == (
        f"error: {path}:2: column 'phone': value '+86 138 0013 8000': same phone as customer 1 "
        "'丙公司', but this row's name is '丁公司' (a name changes by external_id or "
        "`customer edit`)\n"
    )
    # skipping it would lose 丁公司 as silently as merging did
    cli.fails("import", str(path), "--on-duplicate", "skip")
    by_mail = write_csv("name,email\n戊公司,INFO@bing.cn\n", name="c.csv")
    assert "same e-mail as customer 1 '丙公司', but this row's name is '戊公司'" in (
        cli.fails("import", str(by_mail)).stderr
    )
    # with --rejects the row goes to the file and the rest is imported
    rejects = tmp_path / "rejects.csv"
    mixed = write_csv("name,phone\n丁公司,13800138000\n己公司,13900139000\n", name="d.csv")
    kept = cli.json("import", str(mixed), "--rejects", str(rejects))
    assert (kept["inserted"], kept["updated"], kept["rejected"]) == (1, 0, 1)
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        [_header, row] = list(csv.reader(handle))
    assert row[0] == "2" and "same phone as customer 1 '丙公司'" in row[1]
    assert cli.sql("select id, name from customer order by id") == [(1, "丙公司"), (2, "己公司")]
    assert before["customer"][0] == cli.snapshot()["customer"][0]


def test_the_same_name_spelled_otherwise_still_matches_by_phone(cli, write_csv):
    cli("import", str(write_csv("name,phone\nAcme Trading,13800138000\n")))
    again = write_csv("name,phone,city\nＡＣＭＥ  trading,138-0013-8000,Wuhan\n", name="b.csv")
    result = cli.json("import", str(again))
    assert (result["inserted"], result["updated"]) == (0, 1)
    assert cli.sql("select city from customer") == [("Wuhan",)]


def test_a_name_changes_through_an_external_id_match(cli, write_csv):
    cli("import", str(write_csv("external_id,name,phone\nE1,Acme,13800138000\n")))
    renamed = write_csv("external_id,name,phone\nE1,Acme Group,13800138000\n", name="b.csv")
    assert cli.json("import", str(renamed))["updated"] == 1
    assert cli.sql("select name from customer") == [("Acme Group",)]


# --- dates: nothing later than now ---------------------------------------------------


@pytest.mark.parametrize("column", ["created_at", "owned_since", "last_contact_at"])
def test_a_future_date_is_refused(cli, write_csv, column):
    path = write_csv(f"name,owner,{column}\nAcme,alice,2030-01-01\n")
    result = cli.fails("import", str(path))
    assert f":2: column '{column}': value '2030-01-01': in the future" in result.stderr


def test_future_means_later_than_now_in_the_team_zone(cli, write_csv, tmp_path):
    # now is 2026-11-29 09:00 in Asia/Shanghai
    text = (
        "name,owner,最后跟进时间\n"
        "A,alice,2026-11-29T08:59\nB,alice,2026-11-29T09:01\nC,alice,2026-11-29T01:00:00Z\n"
    )
    path = write_csv(text)
    assert ":3: column '最后跟进时间': value '2026-11-29T09:01': in the future" in (
        cli.fails("import", str(path)).stderr
    )
    rejects = tmp_path / "r.csv"
    result = cli.json("import", str(path), "--rejects", str(rejects))
    assert (result["inserted"], result["rejected"]) == (2, 1)
    assert result["rejects"] == [
        {"line": 3, "reason": "column '最后跟进时间': value '2026-11-29T09:01': in the future"}
    ]
    assert [c["idle_days"] for c in cli.json("customers")] == [0, 0]


def test_a_future_next_follow_up_is_fine_but_not_a_future_follow_up(book, write_csv):
    ok = write_csv("customer,rep,at,next_at\nC1,alice,2026-11-28,2026-12-15\n", name="f.csv")
    assert book.json("import-followups", str(ok))["inserted"] == 1
    late = write_csv("customer,rep,at\nC1,alice,2026-11-29T10:00\n", name="g.csv")
    assert "column 'at': value '2026-11-29T10:00': in the future" in (
        book.fails("import-followups", str(late)).stderr
    )


# --- the rejects file --------------------------------------------------------------


def test_rejects_into_a_missing_directory_is_refused_before_any_work(cli, write_csv, tmp_path):
    path = write_csv("name\nAcme\n")
    target = tmp_path / "no" / "such" / "r.csv"
    result = cli.fails("import", str(path), "--rejects", str(target))
    assert result.stderr == f"error: --rejects: {target}: no such directory '{target.parent}'\n"
    assert not target.parent.exists()


def test_rejects_that_is_a_directory_or_under_a_file_is_refused(cli, write_csv, tmp_path):
    path = write_csv("name\nAcme\n")
    assert "is a directory" in cli.fails("import", str(path), "--rejects", str(tmp_path)).stderr
    under_file = path / "r.csv"
    assert (
        "no such directory" in cli.fails("import", str(path), "--rejects", str(under_file)).stderr
    )


def test_rejects_into_a_read_only_directory_is_refused(cli, write_csv, tmp_path):
    path = write_csv("name\nAcme\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: use a place even root cannot
            locked = Path("/sys")
            if os.access(locked, os.W_OK) and not _unwritable(locked):
                pytest.skip("no directory this user cannot write to")
        target = locked / "r.csv"
        result = cli.fails("import", str(path), "--rejects", str(target))
        assert result.stderr.startswith(f"error: --rejects: {target}: cannot write in '{locked}'")
        assert list(locked.glob(".r.csv.*")) == []
    finally:
        (tmp_path / "locked").chmod(0o700)


def _unwritable(directory: Path) -> bool:
    try:
        (directory / ".probe").touch()
    except OSError:
        return True
    (directory / ".probe").unlink()
    return False


def test_a_dry_run_lists_the_rejects_and_writes_no_file(cli, write_csv, tmp_path):
    path = write_csv("name,created_at\nAcme,2026-01-01\n,2026-01-01\nBeta,someday\n")
    rejects = tmp_path / "rejects.csv"
    result = cli.json("import", str(path), "--dry-run", "--rejects", str(rejects))
    assert not rejects.exists()
    assert (result["inserted"], result["rejected"], result["rejects_file"]) == (1, 2, None)
    assert result["rejects"] == [
        {"line": 3, "reason": "column 'name': value '': a customer needs a name"},
        {"line": 4, "reason": "column 'created_at': value 'someday': not a date (use ISO 8601)"},
    ]
    human = cli("import", str(path), "--dry-run", "--rejects", str(rejects))
    assert "a customer needs a name" in human.stdout and "not a date" in human.stdout
    assert "would import customers.csv (csv, utf-8): 1 inserted" in human.stdout
    assert "written to" not in human.stderr
    assert not rejects.exists()
    assert cli.sql("select count(*) from customer") == [(0,)]
    # the real run writes the same rows to the file
    written = cli.json("import", str(path), "--rejects", str(rejects))
    assert written["rejects"] == result["rejects"] and written["rejects_file"] == str(rejects)
    assert rejects.exists()


def test_a_dry_run_lists_at_most_1000_rejects(cli, write_csv, tmp_path):
    rows = "\n".join(f"Co {i},bad" for i in range(1500))
    path = write_csv(f"name,created_at\n{rows}\nGood,2026-01-01\n")
    rejects = tmp_path / "rejects.csv"
    result = cli.json("import", str(path), "--dry-run", "--rejects", str(rejects))
    assert result["rejected"] == 1500 and result["inserted"] == 1
    assert [r["line"] for r in result["rejects"]] == list(range(2, 1002))
    human = cli("import", str(path), "--dry-run", "--rejects", str(rejects))
    assert "... and 1450 more bad rows (--json lists the first 1000)" in human.stderr
    assert not rejects.exists()


# --- --take-owner within capacity --------------------------------------------------


def test_take_owner_past_a_reps_capacity_refuses_the_file(book, write_csv):
    book("rep", "set", "bob", "--capacity", "2")  # bob owns C3
    path = write_csv("external_id,name,owner\nC1,Acme Logistics,bob\nC4,杭州云帆贸易有限公司,bob\n")
    for extra in ([], ["--dry-run"]):
        result = book.fails("import", str(path), "--take-owner", *extra)
        assert result.stderr == f"error: {path}: capacity: bob would own 3 of 2 customers\n"
    # within capacity it goes through
    one = write_csv("external_id,name,owner\nC1,Acme Logistics,bob\n", name="one.csv")
    assert book.json("import", str(one), "--take-owner")["owners_taken"] == 1
    assert owners(book)["C1"] == "bob"


def test_take_owner_counts_departures_and_new_customers(book, write_csv):
    book("rep", "set", "bob", "--capacity", "1")  # bob owns C3
    # bob gives C3 to alice and takes C1: still 1 of 1
    swap = write_csv("external_id,name,owner\nC3,Blue River Foods,alice\nC1,Acme Logistics,bob\n")
    book("import", str(swap), "--take-owner")
    assert (owners(book)["C1"], owners(book)["C3"]) == ("bob", "alice")
    # a new customer the file gives bob counts too
    more = write_csv(
        "external_id,name,owner\nC3,Blue River Foods,bob\nC1,Acme Logistics,bob\n", name="m.csv"
    )
    book.fails("import", str(more), "--take-owner")


def test_take_owner_applies_the_roles_default_capacity(book, write_csv, rules):
    rules("[claims.capacity]\nrep = 2\n")  # alice owns C1 and C2
    path = write_csv("external_id,name,owner\nC4,杭州云帆贸易有限公司,alice\n")
    result = book.fails("import", str(path), "--take-owner")
    assert result.stderr == f"error: {path}: capacity: alice would own 3 of 2 (rep default)\n"
    # a rep the import creates has the role rep: the default holds for them too
    new = write_csv(
        "external_id,name,owner\nC4,杭州云帆贸易有限公司,zoe\nC5,Acme Trading,zoe\nN1,New Co,zoe\n",
        name="new.csv",
    )
    assert "capacity: zoe would own 3 of 2 (rep default)" in (
        book.fails("import", str(new), "--take-owner").stderr
    )


def test_a_plain_import_brings_in_a_book_past_capacity(book, write_csv):
    # Migrating a CRM brings in what exists: new customers keep their owner past capacity.
    book("rep", "set", "bob", "--capacity", "1")  # bob owns C3
    path = write_csv("external_id,name,owner\nN1,New One,bob\nN2,New Two,bob\n")
    assert book.json("import", str(path))["inserted"] == 2
    assert sum(owner == "bob" for owner in owners(book).values()) == 3


# --- the rejects file of import-followups ----------------------------------------------

FOLLOWUPS = (
    "customer,rep,at\n"
    "C1,alice,2026-11-01\n"
    "NOPE,alice,2026-11-01\n"
    "C2,alice,someday\n"
    "C3,bob,2026-11-02\n"
    "NOPE,bob,2026-11-03\n"
)


def test_followup_rejects_take_bad_rows_and_unknown_customers(book, write_csv, tmp_path):
    path = write_csv(FOLLOWUPS, name="f.csv")
    assert ":4: column 'at': value 'someday'" in book.fails("import-followups", str(path)).stderr
    rejects = tmp_path / "rejects.csv"
    dry = book.json("import-followups", str(path), "--dry-run", "--rejects", str(rejects))
    assert not rejects.exists()
    assert (dry["inserted"], dry["rejected"], dry["rejects_file"]) == (2, 3, None)
    assert [r["line"] for r in dry["rejects"]] == [3, 4, 6]
    assert dry["rejects"][1] == {
        "line": 4,
        "reason": "column 'at': value 'someday': not a date (use ISO 8601)",
    }
    human = book("import-followups", str(path), "--dry-run", "--rejects", str(rejects))
    assert "value 'NOPE'" in human.stdout and "not a date" in human.stdout
    assert "3 rejected" in human.stdout
    assert book.sql("select count(*) from follow_up") == [(0,)]
    result = book.json("import-followups", str(path), "--rejects", str(rejects))
    assert (result["inserted"], result["rejected"]) == (2, 3)
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        got = list(csv.reader(handle))
    assert got[0] == ["line", "reason", "customer", "rep", "at"]
    assert [row[0] for row in got[1:]] == ["3", "4", "6"]
    assert got[3][2:] == ["NOPE", "bob", "2026-11-03"]
    assert book.sql("select count(*) from follow_up") == [(2,)]


def test_followup_rejects_path_is_checked_before_any_work(book, write_csv, tmp_path):
    path = write_csv(FOLLOWUPS, name="f.csv")
    target = tmp_path / "missing" / "r.csv"
    result = book.fails("import-followups", str(path), "--rejects", str(target))
    assert result.stderr == f"error: --rejects: {target}: no such directory '{target.parent}'\n"
    assert "is the file being imported" in (
        book.fails("import-followups", str(path), "--rejects", str(path)).stderr
    )

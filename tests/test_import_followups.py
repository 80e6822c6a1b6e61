"""import-followups: history from another CRM, set-based, all or nothing."""

from __future__ import annotations

import pytest
from conftest import utc
from sqlalchemy import create_engine, inspect

from salespool.core.followup_import import kind_of
from salespool.storage.store import to_url

HISTORY = """customer,rep,kind,note,at
C1,alice,call,first call,2026-11-01T10:00
Blue River Foods,bob,visit,site visit,2026-11-20T15:30
C1,alice,wechat,sent the offer,2026-11-25T09:00
C4,bob,email,,2026-10-01
"""


def followups(cli) -> list[tuple]:
    return cli.sql(
        "select c.external_id, r.name, f.kind, f.note, f.at from follow_up f "
        "join customer c on c.id = f.customer_id join rep r on r.id = f.rep_id order by f.id"
    )


def test_history_is_imported_and_moves_last_contact_forward(book, write_csv):
    result = book.json("import-followups", str(write_csv(HISTORY, name="h.csv")))
    assert {k: result[k] for k in ("inserted", "skipped", "rejected", "customers")} == {
        "inserted": 4,
        "skipped": 0,
        "rejected": 0,
        "customers": 3,
    }
    assert result["contact_moved"] == 3  # C1 (was 2026-10-01), C3 and C4 (had none)
    rows = followups(book)
    assert [r[:4] for r in rows] == [
        ("C1", "alice", "call", "first call"),
        ("C3", "bob", "visit", "site visit"),
        ("C1", "alice", "wechat", "sent the offer"),
        ("C4", "bob", "email", None),
    ]
    assert utc(rows[0][4]).isoformat() == "2026-11-01T02:00:00+00:00"  # read in Asia/Shanghai
    last = dict(book.sql("select external_id, last_contact_at from customer"))
    assert utc(last["C1"]).isoformat() == "2026-11-25T01:00:00+00:00"
    assert utc(last["C3"]).isoformat() == "2026-11-20T07:30:00+00:00"
    # C2's newest contact (2026-11-20) is kept: never moved backward
    assert utc(last["C2"]).isoformat() == "2026-11-19T16:00:00+00:00"
    # C4 is in the pool: the bob follow-up is history, C4 stays in the pool
    assert utc(last["C4"]).isoformat() == "2026-09-30T16:00:00+00:00"
    assert book.sql("select owner_id from customer where external_id = 'C4'") == [(None,)]
    idle = {c["external_id"]: c["idle_days"] for c in book.json("customers")}
    assert idle["C1"] == 4 and idle["C3"] == 8


def test_last_contact_never_moves_backward(book, write_csv):
    text = "customer,rep,kind,at\nC2,alice,call,2026-01-05\n"
    result = book.json("import-followups", str(write_csv(text, name="old.csv")))
    assert (result["inserted"], result["contact_moved"]) == (1, 0)
    [(last,)] = book.sql("select last_contact_at from customer where external_id = 'C2'")
    assert utc(last).isoformat() == "2026-11-19T16:00:00+00:00"


def test_reimporting_the_same_history_changes_nothing(book, write_csv):
    path = write_csv(HISTORY, name="h.csv")
    book("import-followups", str(path))
    before = book.snapshot()
    result = book.json("import-followups", str(path))
    assert (result["inserted"], result["skipped"], result["contact_moved"]) == (0, 4, 0)
    assert book.snapshot() == before


def test_dry_run_counts_and_writes_nothing(book, write_csv):
    before = book.snapshot()
    result = book.json("import-followups", str(write_csv(HISTORY, name="h.csv")), "--dry-run")
    assert (result["dry_run"], result["inserted"]) == (True, 4)
    assert book.snapshot() == before


def test_chinese_headers_and_kinds(book, write_csv):
    text = (
        "客户,跟进人,跟进方式,跟进内容,跟进时间\n"
        "C1,alice,电话,聊了报价,2026-11-02 10:00\n"
        "上海华瑞科技有限公司,alice,微信,,2026-11-03\n"
        "C3,bob,拜访,,2026-11-04\n"
        "C3,bob,邮件,,2026-11-05\n"
        "C3,bob,会议,,2026-11-06\n"
        "C3,bob,飞鸽传书,,2026-11-07\n"
    )
    # A label no table knows is mapped, not silently turned into `other`.
    book("import-followups", str(write_csv(text, name="中文.csv")), "--map-kind", "飞鸽传书=other")
    assert [(r[0], r[2]) for r in followups(book)] == [
        ("C1", "call"),
        ("C2", "wechat"),
        ("C3", "visit"),
        ("C3", "email"),
        ("C3", "meeting"),
        ("C3", "other"),
    ]


def test_a_rep_who_is_not_the_owner_or_unknown_is_kept_as_history(book, write_csv):
    book("rep", "leave", "bob")
    text = "customer,rep,kind,at\nC1,bob,call,2026-11-10\nC1,zoe,visit,2026-11-11\n"
    result = book.json("import-followups", str(write_csv(text, name="h.csv")))
    assert (result["inserted"], result["reps_created"]) == (2, ["zoe"])
    # zoe is known only from history: created inactive, so she receives nothing
    assert book.sql("select role, active from rep where name = 'zoe'") == [("rep", 0)]
    # ownership does not change
    assert book.sql(
        "select r.name from customer c join rep r on r.id = c.owner_id where external_id = 'C1'"
    ) == [("alice",)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("C9,alice,call,,2026-11-01", ":3: column 'customer': value 'C9': no customer has this"),
        ("C1,,call,,2026-11-01", ":3: column 'rep': value '': a follow-up needs its rep"),
        ("C1,alice,call,,someday", ":3: column 'at': value 'someday': not a date"),
        ("C1,alice,call,,2026-12-25", ":3: column 'at': value '2026-12-25': in the future"),
        (",alice,call,,2026-11-01", ":3: column 'customer': value '': a follow-up needs its"),
        ("C1,alice,call,,", ":3: column 'at': value '': a follow-up needs its time"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(book, write_csv, row, message):
    text = "customer,rep,kind,note,at\nC1,alice,call,ok,2026-11-01\n" + row + "\n"
    result = book.fails("import-followups", str(write_csv(text, name="bad.csv")))
    assert message in result.stderr


def test_an_ambiguous_name_is_refused(cli, write_csv):
    cli("import", str(write_csv("external_id,name\nA1,Acme\nA2,Acme\n")))
    text = "customer,rep,kind,at\nA1,alice,call,2026-11-01\nAcme,alice,call,2026-11-01\n"
    result = cli.fails("import-followups", str(write_csv(text, name="f.csv")))
    assert ":3: column 'customer': value 'Acme': 2 customers have this name" in result.stderr


def test_missing_columns_are_refused(book, write_csv):
    result = book.fails("import-followups", str(write_csv("customer,kind\nC1,call\n", "f.csv")))
    assert ":1: no 'rep' column in the header" in result.stderr


def test_a_bad_row_deep_in_a_big_file_refuses_everything(book, write_csv):
    rows = [f"C{1 + i % 5},alice,call,note {i},2026-11-01T10:00" for i in range(20_000)]
    rows[15_000] = "C1,alice,call,bad,2026-13-45"
    path = write_csv("customer,rep,kind,note,at\n" + "\n".join(rows) + "\n", name="big.csv")
    result = book.fails("import-followups", str(path))
    assert "big.csv:15002: column 'at'" in result.stderr


def test_many_rows_are_imported_set_based(book, write_csv):
    rows = [f"C{1 + i % 5},rep{i % 7},call,note {i},2026-11-01T10:00" for i in range(200_000)]
    path = write_csv("customer,rep,kind,note,at\n" + "\n".join(rows) + "\n", name="many.csv")
    result = book.json("import-followups", str(path))
    assert (result["inserted"], result["customers"], len(result["reps_created"])) == (200_000, 5, 7)
    assert book.sql("select count(*) from follow_up") == [(200_000,)]
    # the indexes rebuilt after the bulk insert are the model's
    engine = create_engine(to_url(book.url))
    try:
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("follow_up")}
    finally:
        engine.dispose()
    assert {"ix_follow_up_rep_stage_kind_at", "ix_follow_up_customer_at"} <= indexes


def test_xlsx_history(book, tmp_path):
    from datetime import datetime

    import openpyxl

    path = tmp_path / "h.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["客户编号", "销售", "跟进方式", "跟进时间"])
    wb.active.append(["C3", "bob", "拜访", datetime(2026, 11, 27, 14, 0)])
    wb.save(path)
    assert book.json("import-followups", str(path))["inserted"] == 1
    [(last,)] = book.sql("select last_contact_at from customer where external_id = 'C3'")
    assert utc(last).isoformat() == "2026-11-27T06:00:00+00:00"


def test_kind_of():
    assert kind_of("电话") == "call"
    assert kind_of(" WeChat ") == "wechat"
    assert kind_of("ＷＸ") == "wechat"  # full-width, as a Chinese keyboard types it
    assert kind_of("pigeon") is None
    assert kind_of("pigeon", {"pigeon": "other"}) == "other"
    assert kind_of(None) == "other"  # no kind given: other, as before
    assert kind_of("  ") == "other"


KINDS = "customer,rep,kind,at\nC1,alice,call,2026-11-01\nC1,alice,传真,2026-11-02\n"


def test_an_unknown_kind_is_refused_with_its_line_and_value(book, write_csv):
    result = book.fails("import-followups", str(write_csv(KINDS, name="k.csv")))
    assert "k.csv:3: column 'kind': value '传真': not a follow-up kind: use call," in result.stderr


def test_an_unknown_kind_goes_to_the_rejects_file_like_any_bad_row(book, write_csv, tmp_path):
    bad = tmp_path / "bad.csv"
    args = ("import-followups", str(write_csv(KINDS, name="k.csv")), "--rejects", str(bad))
    result = book.json(*args)
    assert (result["inserted"], result["rejected"]) == (1, 1)
    assert "value '传真': not a follow-up kind" in result["rejects"][0]["reason"]
    assert "传真" in bad.read_text(encoding="utf-8-sig")
    assert [r[2] for r in followups(book)] == ["call"]


def test_map_kind_reads_a_label_as_a_kind_and_wins_over_the_table(book, write_csv):
    text = KINDS + "C1,alice,会议,2026-11-03\nC1,alice,ＦＡＸ,2026-11-04\n"
    path = str(write_csv(text, name="k.csv"))
    args = ("--map-kind", "传真=other", "--map-kind", "会议=拜访", "--map-kind", "fax=email")
    assert book.json("import-followups", path, *args)["inserted"] == 4
    assert [r[2] for r in followups(book)] == ["call", "other", "visit", "email"]


@pytest.mark.parametrize(
    ("pair", "code", "message"),
    [
        ("传真=fax", 1, "error: --map-kind: '传真=fax': 'fax' is not one of call, wechat,"),
        ("传真", 2, "'传真' is not LABEL=kind"),
        ("=other", 2, "'=other' is not LABEL=kind"),
    ],
)
def test_a_mapping_to_no_kind_is_refused_in_one_line(book, write_csv, pair, code, message):
    path = str(write_csv(KINDS, name="k.csv"))
    result = book.fails("import-followups", path, "--map-kind", pair, code=code)
    assert message in result.stderr


def test_the_summary_counts_in_the_singular_for_one(cli, tmp_path):
    cli("rep", "add", "alice")
    path = tmp_path / "one.csv"
    path.write_text("name\nAcme\n")
    cli("import", str(path))
    cli("claim", "Acme", "--rep", "alice")
    follow = tmp_path / "f.csv"
    follow.write_text("customer,rep,kind,at\nAcme,alice,call,2026-11-01 10:00\n")
    said = cli("import-followups", str(follow)).stdout
    assert "1 follow-up for 1 customer," in said

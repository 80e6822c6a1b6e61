"""Importing the files people have: encodings, delimiters, XLSX, JSON Lines, Chinese headers,
full-width text, duplicates, rejects, --map, --take-owner, and hostile files."""

from __future__ import annotations

import csv
import json
import os
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import utc

from salespool.cli.imports import parse_map, show_progress
from salespool.core.readers import Limits, detect_encoding, sniff_delimiter
from salespool.keys import email_key, phone_key, text_key

ENGLISH = ["external_id", "name", "contact", "phone", "email", "city", "level", "owner", "stage"]
CHINESE = [
    "客户编号",
    "客户名称",
    "联系人",
    "手机",
    "邮箱",
    "城市",
    "客户级别",
    "负责人",
    "客户阶段",
]
ROWS = [
    ["K1", "上海华瑞科技有限公司", "王经理", "＋８６ １３８ ００１３ ８０００", "Info@HuaRui.CN",
     "上海", "A级", "alice", "商务谈判"],
    ["K2", "杭州云帆贸易有限公司", "", "021-6234 5678", "", "杭州", "", "", "寻找客户"],
    ["K3", "Acme Trading", "Bob Li", "+86 139 0000 0001", "sales@acme.com", "Shenzhen", "B",
     "bob", "won"],
]  # fmt: skip
# What every file above must become: the normalized match keys, owner and stage.
EXPECTED = [
    ("K1", "上海华瑞科技有限公司", "+8613800138000", "info@huarui.cn", "alice", "negotiating"),
    ("K2", "杭州云帆贸易有限公司", "+862162345678", None, None, "prospecting"),
    ("K3", "acme trading", "+8613900000001", "sales@acme.com", "bob", "won"),
]


def normalized(cli) -> list[tuple]:
    return cli.sql(
        "select c.external_id, c.name_key, c.phone_key, c.email_key, r.name, c.stage "
        "from customer c left join rep r on r.id = c.owner_id order by c.external_id"
    )


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def write_xlsx(path: Path, header: list[str], rows: list[list], cached: dict[str, str]) -> Path:
    """An XLSX by openpyxl; `cached` gives formula cells (by ref) a saved value, as Excel does."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "客户"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    if cached:
        with zipfile.ZipFile(path) as z:
            parts = {i.filename: z.read(i.filename) for i in z.infolist()}
        xml = parts["xl/worksheets/sheet1.xml"].decode()
        for ref, value in cached.items():
            xml = re.sub(
                rf'<c r="{ref}"><f>(.*?)</f><v ?/>',
                rf'<c r="{ref}" t="str"><f>\1</f><v>{value}</v>',
                xml,
            )
        parts["xl/worksheets/sheet1.xml"] = xml.encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in parts.items():
                z.writestr(name, data)
    return path


def fixture_file(kind: str, tmp_path: Path) -> Path:
    if kind == "utf8-bom":
        path = tmp_path / "bom.csv"
        path.write_text(csv_text(ENGLISH, ROWS), encoding="utf-8-sig")
    elif kind == "gbk":
        path = tmp_path / "gbk.csv"
        path.write_bytes(csv_text(CHINESE, ROWS).encode("gbk"))
    elif kind == "gb18030":
        path = tmp_path / "gb18030.csv"
        path.write_bytes(csv_text(CHINESE, ROWS).encode("gb18030"))
    elif kind == "semicolon":
        path = tmp_path / "semi.csv"
        path.write_text(csv_text(ENGLISH, ROWS, ";"), encoding="utf-8")
    elif kind == "tab":
        path = tmp_path / "tab.tsv"
        path.write_text(csv_text(CHINESE, ROWS, "\t"), encoding="utf-8")
    elif kind == "utf16":  # Excel's "Unicode text"
        path = tmp_path / "unicode.txt"
        path.write_bytes(csv_text(CHINESE, ROWS, "\t").encode("utf-16"))
    elif kind == "xlsx":
        rows = [list(r) for r in ROWS]
        rows[0][6] = '="A"&"级"'  # a formula whose saved value is A级
        rows[2][3] = "+86 139 0000 0001"
        path = write_xlsx(tmp_path / "客户.xlsx", CHINESE, rows, {"G2": "A级"})
    elif kind == "jsonl":
        path = tmp_path / "book.jsonl"
        path.write_text(
            "".join(
                json.dumps(dict(zip(ENGLISH, r, strict=True)), ensure_ascii=False) + "\n"
                for r in ROWS
            ),
            encoding="utf-8",
        )
    else:  # pragma: no cover
        raise ValueError(kind)
    return path


KINDS = ["utf8-bom", "gbk", "gb18030", "semicolon", "tab", "utf16", "xlsx", "jsonl"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_fixture_yields_the_same_normalized_customers(cli, tmp_path, kind):
    result = cli.json("import", str(fixture_file(kind, tmp_path)))
    assert (result["inserted"], result["rejected"]) == (3, 0)
    assert normalized(cli) == EXPECTED
    # originals are kept for display
    assert cli.sql("select phone, email, level from customer where external_id = 'K1'") == [
        ("＋８６ １３８ ００１３ ８０００", "Info@HuaRui.CN", "A级")
    ]
    # and a second import of the same file changes nothing
    before = cli.snapshot()
    again = cli.json("import", str(fixture_file(kind, tmp_path)))
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert cli.snapshot() == before


@pytest.mark.parametrize(
    ("kind", "fmt", "encoding"),
    [
        ("utf8-bom", "csv", "utf-8-sig"),
        ("gbk", "csv", "gb18030"),
        ("semicolon", "csv", "utf-8"),
        ("utf16", "csv", "utf-16"),
        ("xlsx", "xlsx", None),
        ("jsonl", "jsonl", "utf-8-sig"),
    ],
)
def test_the_format_and_encoding_used_are_reported(cli, tmp_path, kind, fmt, encoding):
    result = cli.json("import", str(fixture_file(kind, tmp_path)), "--dry-run")
    assert (result["format"], result["encoding"]) == (fmt, encoding)
    human = cli("import", str(fixture_file(kind, tmp_path)), "--dry-run")
    assert f"({fmt}" in human.stdout


def test_a_gb18030_only_character_is_read(cli, write_csv):
    path = write_csv("name,city\n㐀记商行,北京\n".encode("gb18030"))
    assert cli.json("import", str(path))["encoding"] == "gb18030"
    assert cli.sql("select name, city from customer") == [("㐀记商行", "北京")]


def test_encoding_option_overrides_detection(cli, write_csv):
    path = write_csv("name\n台北貿易\n".encode("big5"))
    result = cli.json("import", str(path), "--encoding", "big5")
    assert result["encoding"] == "big5"
    assert cli.sql("select name from customer") == [("台北貿易",)]
    assert cli.fails("import", str(path), "--encoding", "klingon").stderr.startswith(
        "error: --encoding: unknown encoding 'klingon'"
    )


def test_format_option_reads_a_file_whatever_its_name(cli, tmp_path):
    path = fixture_file("jsonl", tmp_path).rename(tmp_path / "export.data")
    assert cli.json("import", str(path), "--format", "jsonl")["inserted"] == 3
    assert cli("import", str(path), "--format", "pdf", ok=False).exit_code == 2


def test_sheet_option_picks_a_sheet_and_a_missing_one_is_refused(cli, tmp_path):
    path = tmp_path / "two.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["note"])
    other = book.create_sheet("Customers")
    other.append(["name", "city"])
    other.append(["Sheet Two Co", "Xi'an"])
    book.save(path)
    assert cli.json("import", str(path), "--sheet", "Customers")["sheet"] == "Customers"
    assert cli.sql("select name from customer") == [("Sheet Two Co",)]
    result = cli.fails("import", str(path), "--sheet", "Nope")
    assert "no sheet 'Nope' (sheets: Sheet, Customers)" in result.stderr
    # the first sheet has no name column
    assert "no 'name' column" in cli.fails("import", str(path)).stderr


def test_a_formula_without_a_saved_value_is_refused_with_its_cell(cli, tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", ["name", "level"], [["Acme", "=1+1"]], {})
    cli("init")
    result = cli.fails("import", str(path))
    assert "f.xlsx:2: column 'level': value '=1+1': a formula with no saved value" in result.stderr
    # ... but not when the column is not read
    path = write_xlsx(tmp_path / "g.xlsx", ["name", "total"], [["Acme", "=1+1"]], {})
    assert cli.json("import", str(path))["ignored_columns"] == ["total"]


def test_xlsx_numbers_and_dates_are_read_as_text_and_times(cli, tmp_path):

    path = write_xlsx(
        tmp_path / "n.xlsx",
        ["name", "phone", "created_at"],
        [["Num Co", 13800138000, datetime(2026, 3, 1, 9, 30)]],
        {},
    )
    cli("import", str(path))
    [(phone, key, created)] = cli.sql("select phone, phone_key, created_at from customer")
    assert (phone, key) == ("13800138000", "+8613800138000")
    assert utc(created) == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)


def test_chinese_headers_and_map_option(cli, write_csv):
    text = "公司全称,联系电话,归属销售,备注\n云帆,13800138000,carol,VIP\n"
    result = cli.json("import", str(write_csv(text)), "--map", "公司全称=name")
    assert result["ignored_columns"] == ["备注"]
    assert cli.sql("select c.name, c.phone_key, r.name from customer c join rep r on r.id = "
                   "c.owner_id") == [("云帆", "+8613800138000", "carol")]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "Nope=name"], "--map 'Nope=...': "),
        (["--map", "name=colour"], "'colour' is not a column"),
    ],
)
def test_map_option_refusals(cli, write_csv, args, message):
    cli("init")
    assert message in cli.fails("import", str(write_csv("name\nAcme\n")), *args).stderr


def test_map_option_needs_header_equals_column(cli, write_csv):
    result = cli("import", str(write_csv("name\nAcme\n")), "--map", "oops", ok=False)
    assert result.exit_code == 2
    assert parse_map(["Company Name=name", "a=b=name"]) == {"Company Name": "name", "a=b": "name"}


def test_two_headers_for_one_field_take_the_first_non_blank(cli, write_csv):
    cli("import", str(write_csv("name,手机,电话\nA,,021-62345678\nB,13800138000,021-1\n")))
    assert cli.sql("select name, phone from customer order by name") == [
        ("A", "021-62345678"),
        ("B", "13800138000"),
    ]
    result = cli.fails("import", str(write_csv("name,Name\nA,B\n", name="twice.csv")))
    assert "column 'Name': column appears twice in the header" in result.stderr


def test_rows_match_by_phone_then_email_then_name(cli, write_csv):
    cli("import", str(write_csv("name,phone,email\nAlpha,13800138000,a@x.cn\nBeta,,b@x.cn\n")))
    cli("import", str(write_csv("name\nGamma\n", name="g.csv")))
    text = (
        "name,phone,email,city\n"
        "ALPHA,+86 138-0013-8000,,Beijing\n"  # phone, spelled differently
        "beta,,B@X.CN,Shanghai\n"  # e-mail, any case
        "ＧＡＭＭＡ ,,,Xi'an\n"  # full-width name
    )
    result = cli.json("import", str(write_csv(text, name="again.csv")))
    assert (result["inserted"], result["updated"]) == (0, 3)
    assert cli.sql("select name, city from customer order by id") == [
        ("ALPHA", "Beijing"),
        ("beta", "Shanghai"),
        ("ＧＡＭＭＡ", "Xi'an"),
    ]


def test_a_new_external_id_falls_back_only_to_customers_without_one(cli, write_csv):
    cli("import", str(write_csv("external_id,name\nE1,Acme\n")))
    cli("import", str(write_csv("name\nBeta\n", name="b.csv")))
    result = cli.json("import", str(write_csv("external_id,name\nE2,Acme\nE3,Beta\n", "c.csv")))
    # Acme has E1: a row with E2 is another customer; Beta had none and takes E3
    assert (result["inserted"], result["updated"]) == (1, 1)
    assert cli.sql("select external_id, name from customer order by id") == [
        ("E1", "Acme"),
        ("E3", "Beta"),
        ("E2", "Acme"),
    ]


def test_duplicates_inside_a_file_are_reported_with_both_lines(cli, write_csv):
    text = "name,phone\nAcme,13800138000\nBeta,\nAcme Ltd,+86 138 0013 8000\nbeta ,\n"
    path = write_csv(text)
    cli("init")
    result = cli.fails("import", str(path))
    assert ":4: column 'phone': value '+86 138 0013 8000': same phone as line 2" in result.stderr
    skipped = cli.json("import", str(path), "--on-duplicate", "skip")
    assert (skipped["inserted"], skipped["skipped"]) == (2, 2)
    assert skipped["duplicates"] == [
        {"line": 4, "first_line": 2, "key": "phone", "value": "+86 138 0013 8000"},
        {"line": 5, "first_line": 3, "key": "name", "value": "beta"},
    ]
    human = cli("import", str(write_csv(text, name="again.csv")), "--on-duplicate", "skip")
    assert "line 4: same phone as line 2" in human.stderr


def test_on_duplicate_skip_and_error_for_rows_already_in_the_book(book, write_csv):
    path = write_csv("external_id,name,city\nC1,Acme Logistics,Beijing\nN1,New Co,Wuhan\n", "n.csv")
    result = book.fails("import", str(path), "--on-duplicate", "error")
    assert (
        ":2: column 'external_id': value 'C1': already in the book as customer 1" in result.stderr
    )
    skipped = book.json("import", str(path), "--on-duplicate", "skip")
    assert (skipped["inserted"], skipped["skipped"], skipped["updated"]) == (1, 1, 0)
    assert book.sql("select city from customer where external_id = 'C1'") == [(None,)]


def test_two_rows_matching_one_customer_are_refused(cli, write_csv):
    cli("import", str(write_csv("name,phone,email\nAcme,13800138000,a@acme.cn\n")))
    text = "name,phone,email\nAcme East,13800138000,\nAcme West,,a@acme.cn\n"
    result = cli.fails("import", str(write_csv(text, name="two.csv")))
    assert ":3: column 'email': value 'a@acme.cn': matches the same customer as line 2" in (
        result.stderr
    )


def test_update_never_moves_an_owned_customer_unless_take_owner(book, write_csv):
    path = write_csv("external_id,name,owner\nC1,Acme Logistics,bob\nC4,杭州云帆贸易有限公司,bob\n")
    result = book.json("import", str(path))
    assert (result["updated"], result["unchanged"]) == (0, 2)
    owners = "select external_id, r.name from customer c left join rep r on r.id = c.owner_id "
    assert dict(book.sql(owners + "where external_id in ('C1', 'C4')")) == {
        "C1": "alice",
        "C4": None,
    }

    taken = book.json("import", str(path), "--take-owner")
    assert (taken["updated"], taken["owners_taken"]) == (2, 2)
    assert dict(book.sql(owners + "where external_id in ('C1', 'C4')")) == {
        "C1": "bob",
        "C4": "bob",
    }
    events = book.json("history", "C1")
    assert events[-1]["kind"] == "assigned"
    assert (events[-1]["from_rep"], events[-1]["to_rep"]) == ("alice", "bob")
    assert "--take-owner" in events[-1]["reason"]
    # the pool customer left the pool, and its idleness clock starts now
    [c4] = [c for c in book.json("customers") if c["external_id"] == "C4"]
    assert (c4["pooled_at"], c4["idle_days"]) == (None, 0)
    # nothing else moves on a second run
    before = book.snapshot()
    assert book.json("import", str(path), "--take-owner")["updated"] == 0
    assert book.snapshot() == before


def test_rejects_file_gets_every_bad_row_and_the_rest_is_imported(cli, write_csv, tmp_path):
    rows = [f"R{i},Company {i},2026-01-01" for i in range(10_000)]
    rows[1234] = "R1234,Company 1234,someday"
    rows[5000] = "R5000,,2026-01-01"
    rows[7000] = "R1,Duplicate,2026-01-01"
    path = write_csv("external_id,name,created_at\n" + "\n".join(rows) + "\n")
    rejects = tmp_path / "rejects.csv"
    cli("init")
    # all or nothing without --rejects: the first bad line is named
    assert ":1236: column 'created_at': value 'someday'" in cli.fails("import", str(path)).stderr
    result = cli.json("import", str(path), "--rejects", str(rejects))
    assert (result["inserted"], result["rejected"]) == (9_997, 3)
    assert result["rejects_file"] == str(rejects)
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        got = list(csv.reader(handle))
    assert got == [
        ["line", "reason", "external_id", "name", "created_at"],
        ["1236", "column 'created_at': value 'someday': not a date (use ISO 8601)",
         "R1234", "Company 1234", "someday"],
        ["5002", "column 'name': value '': a customer needs a name", "R5000", "", "2026-01-01"],
        ["7002", "column 'external_id': value 'R1': same external_id as line 3", "R1",
         "Duplicate", "2026-01-01"],
    ]  # fmt: skip
    assert os.stat(rejects).st_mode & 0o077 == 0  # customer data: the owner's only
    assert cli.sql("select count(*) from customer") == [(9_997,)]


def test_rejects_cannot_overwrite_the_input(cli, write_csv):
    path = write_csv("name\nAcme\n")
    cli("init")
    assert (
        "is the file being imported"
        in cli.fails("import", str(path), "--rejects", str(path)).stderr
    )


def test_rows_exported_with_the_csv_injection_guard_read_back_unguarded(cli, write_csv):
    cli("import", str(write_csv("name,phone,level\n'=Acme,'+86 138 0013 8000,'-1\n")))
    assert cli.sql("select name, phone, phone_key, level from customer") == [
        ("=Acme", "+86 138 0013 8000", "+8613800138000", "-1")
    ]


def test_empty_trailing_cells_beyond_the_header_are_fine(cli, write_csv):
    cli("import", str(write_csv("name,city\nAcme,Beijing,,\n")))
    assert cli.sql("select name, city from customer") == [("Acme", "Beijing")]


def test_owner_who_has_left_is_only_refused_where_the_owner_applies(book, write_csv):
    book("rep", "leave", "bob")
    # C3 exists: its owner column is not applied, so the file imports
    result = book.json(
        "import", str(write_csv("external_id,name,owner\nC3,Blue River Foods,bob\n"))
    )
    assert result["unchanged"] == 1
    refused = book.fails("import", str(write_csv("name,owner\nNew Co,bob\n", name="n.csv")))
    assert "column 'owner': value 'bob': this rep has left" in refused.stderr


def test_phone_region_comes_from_the_config(cli, write_csv, tmp_path):
    config = tmp_path / "salespool.toml"
    config.write_text('phone_region = "US"\n')
    cli("--config", str(config), "import", str(write_csv("name,phone\nBay Co,(415) 555-2671\n")))
    assert cli.sql("select phone_key from customer") == [("+14155552671",)]


# --- hostile files -------------------------------------------------------------


def test_binary_garbage_is_refused_early(cli, write_csv):
    cli("init")
    result = cli.fails("import", str(write_csv(b"name\n\x00\x01\x02garbage")))
    assert "binary data (a NUL byte at byte 5), not text" in result.stderr
    # an XLSX named .csv, an old .xls
    result = cli.fails("import", str(write_csv(b"PK\x03\x04rest", name="x.csv")))
    assert "zip archive (an XLSX file? use --format xlsx)" in result.stderr
    xls = write_csv(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, name="old.xlsx")
    assert "old binary Excel .xls file" in cli.fails("import", str(xls)).stderr


def test_a_nul_byte_deep_in_a_file_is_refused(cli, write_csv):
    text = "name,note\n" + ("Acme," + "n" * 1000 + "\n") * 2000 + "\x00\n"  # past the 1st MiB
    cli("init")
    assert "NUL byte at byte" in cli.fails("import", str(write_csv(text))).stderr


def test_a_huge_sparse_file_is_refused_without_reading_it(cli, tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:  # 2 GB of holes: no disk used
        handle.write(b"name\nAcme\n")
        handle.truncate(2 * 10**9)
    cli("init")
    # over a (lowered) size limit: refused before reading
    monkeypatch.setenv("SALESPOOL_IMPORT_MAX_BYTES", str(10**9))
    assert "MiB is more than the import limit" in cli.fails("import", str(path)).stderr
    # under the default limit: the holes read as NUL bytes, refused at the first one
    monkeypatch.delenv("SALESPOOL_IMPORT_MAX_BYTES")
    assert "NUL byte at byte 10" in cli.fails("import", str(path)).stderr


def test_a_huge_cell_or_line_is_refused(cli, write_csv, monkeypatch):
    monkeypatch.setenv("SALESPOOL_IMPORT_MAX_CELL", "1000")
    cli("init")
    quoted = cli.fails("import", str(write_csv('name,note\nAcme,"' + "x" * 5000 + '"\n')))
    assert ":2: a cell longer than 1,000 characters" in quoted.stderr
    line = cli.fails("import", str(write_csv("name\n" + "y" * 10_000 + "\n", name="l.csv")))
    assert ":2: a line longer than 8,096 characters" in line.stderr
    bad = cli("import", str(write_csv("name\nA\n", name="ok.csv")), ok=False)
    assert bad.exit_code == 0
    monkeypatch.setenv("SALESPOOL_IMPORT_MAX_CELL", "lots")
    assert cli("import", str(write_csv("name\nA\n", name="ok.csv")), ok=False).exit_code == 2


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        ("z" * 1_000_000, ":2: a line longer than 4,004,096 characters"),
        (("z" * 99 + "\n") * 10_000, ":2: a cell longer than 1,000,000 characters"),
    ],
)
def test_a_100_mb_cell_is_refused_in_bounded_memory(cli, tmp_path, chunk, message):
    path = tmp_path / "cell.csv"
    with path.open("w") as handle:
        handle.write('name,note\nAcme,"')
        for _ in range(100):
            handle.write(chunk)
        handle.write('"\n')
    cli("init")
    assert message in cli.fails("import", str(path)).stderr


def test_an_xlsx_zip_bomb_is_refused_before_opening(cli, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b" " * (50 * 2**20))
    cli("init")
    assert "unpacks" in cli.fails("import", str(path)).stderr
    assert "(a zip bomb?)" in cli.fails("import", str(path)).stderr


def test_a_broken_xlsx_is_a_clean_error(cli, write_csv):
    cli("init")
    assert "not an XLSX file" in cli.fails("import", str(write_csv(b"hello", name="b.xlsx"))).stderr
    path = write_csv(b"", name="z.xlsx")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    assert "cannot read as XLSX" in cli.fails("import", str(path)).stderr


def test_a_json_array_and_bad_json_lines(cli, write_csv):
    cli("init")
    array = write_csv('[{"name": "Acme"}]', name="a.json")
    assert "a JSON array: salespool reads JSON Lines" in cli.fails("import", str(array)).stderr
    lines = write_csv('{"name": "Acme"}\n{"name": \n', name="b.jsonl")
    assert "b.jsonl:2: " in cli.fails("import", str(lines)).stderr
    nested = write_csv('{"name": "Acme"}\n{"name": ["x"]}\n', name="c.jsonl")
    assert "c.jsonl:2: column 'name': value '[\"x\"]': a nested value" in (
        cli.fails("import", str(nested)).stderr
    )


def test_a_directory_or_missing_file(cli, tmp_path):
    cli("init")
    assert "is a directory" in cli.fails("import", str(tmp_path)).stderr
    assert "cannot open" in cli.fails("import", str(tmp_path / "none.xlsx")).stderr


# --- units ---------------------------------------------------------------------


def test_encoding_detection_order():
    assert detect_encoding("名".encode("utf-8-sig"), True) == "utf-8-sig"
    assert detect_encoding("名称".encode(), True) == "utf-8"
    assert detect_encoding("上海华瑞".encode("gbk"), True) == "gb18030"
    assert detect_encoding("a,b".encode("utf-16"), True) == "utf-16"
    # a sample cut inside a UTF-8 character is still UTF-8
    assert detect_encoding("名称".encode()[:-1], False) == "utf-8"


def test_delimiter_sniffing():
    assert sniff_delimiter("name;city\nAcme, Inc;Beijing\n") == ";"
    assert sniff_delimiter("name,note\nAcme,a;b;c\n") == ","
    assert sniff_delimiter("name\tcity\nA\tB\n") == "\t"
    assert sniff_delimiter("name\nAcme\n") == ","


def test_keys():
    assert text_key("  ＡＣＭＥ　Trading  ") == "acme trading"
    assert email_key(" Info@HuaRui.CN ") == "info@huarui.cn"
    assert phone_key("＋８６ １３８ ００１３ ８０００") == "+8613800138000"
    assert phone_key("0086-138-0013-8000") == "+8613800138000"
    assert phone_key("010 1234 5678") == "+861012345678"
    assert phone_key("(415) 555-2671", "US") == "+14155552671"
    # unparseable or not a valid number: no key (never matched), no error
    assert phone_key("ext. 12") is None
    assert phone_key("0") is None
    assert phone_key("12345") is None
    assert phone_key("+86 000 0000 0000") is None
    assert phone_key("n/a") is None
    assert phone_key(None) is None


def test_limits_from_env():
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({"SALESPOOL_IMPORT_MAX_CELL": "10"}).max_cell == 10


def test_progress_bar_only_for_a_person_at_a_terminal(cli, write_csv):
    assert show_progress(quiet=False, as_json=False, tty=True)
    assert not show_progress(quiet=True, as_json=False, tty=True)
    assert not show_progress(quiet=False, as_json=True, tty=True)
    assert not show_progress(quiet=False, as_json=False, tty=False)
    # piped (the test runner): nothing but the sentence
    result = cli("import", str(write_csv("name\nAcme\n")))
    assert result.stderr == ""


def test_core_reports_progress_through_a_callback(tmp_path, store):
    from datetime import UTC

    from salespool.core.importer import import_customers
    from salespool.core.staging import ImportJob

    path = tmp_path / "p.csv"
    path.write_text("name,note\n" + "".join(f"Co {i},{'n' * 1000}\n" for i in range(3000)))
    calls: list[tuple] = []
    with store.write() as session:
        job = ImportJob(
            file=path,
            now=datetime(2026, 11, 29, tzinfo=UTC),
            tz="UTC",
            actor="test",
            dry_run=True,
            progress=lambda done, total, unit: calls.append((done, total, unit)),
        )
        import_customers(session, job=job)
    size = path.stat().st_size
    assert calls[-1] == (size, size, "bytes")
    assert len(calls) >= 2 and all(c[0] <= size for c in calls)

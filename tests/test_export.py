"""Export: every kind and format, filters, the import round trip, CSV injection, file modes."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import openpyxl
import pytest
from conftest import Cli

from salespool.core.export import CUSTOMER_COLUMNS, ExportFormat, Kind, export
from salespool.core.importer import COLUMNS as IMPORT_COLUMNS
from salespool.models import Stage
from salespool.storage.store import open_store

HOSTILE = ['=HYPERLINK("http://x")', "@SUM(1)", "-1+2", "+1", "#N/A"]
HOSTILE_NOTES = ["\tTabbed", "\rReturn", "\nNewline", "=1+1"]


@pytest.fixture
def busy(book: Cli) -> Cli:
    """The book with a follow-up, a deal, a claim and a release on it."""
    book("log", "C1", "--rep", "alice", "--kind", "call", "--note", "sent offer", "--next", "+3d")
    book("deal", "C2", "--amount", "12000.50", "--channel", "online", "--at", "2026-11-28")
    book("claim", "C4", "--rep", "bob")
    book("release", "C3", "--reason", "moved away")
    return book


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_customer_columns_are_the_import_columns_plus_id():
    assert set(CUSTOMER_COLUMNS) == {"id", *IMPORT_COLUMNS}


def test_export_customers_csv_to_stdout(busy):
    result = busy("export", "customers")
    assert not result.stdout.startswith("\ufeff")  # no BOM on stdout by default
    assert result.stdout.splitlines()[0] == ",".join(CUSTOMER_COLUMNS)
    rows = csv_rows(result.stdout)
    listed = busy.json("customers")
    assert [r["external_id"] for r in rows] == [c["external_id"] for c in listed]
    for row, customer in zip(rows, listed, strict=True):
        assert row["id"] == str(customer["id"])
        assert row["owner"] == (customer["owner"] or "")
        assert row["stage"] == customer["stage"]
        for key in ("created_at", "owned_since", "last_contact_at"):
            assert row[key] == (customer[key] or "")
    c1 = rows[0]
    assert c1["last_contact_at"] == "2026-11-29T01:00:00Z"  # the log, UTC with Z
    assert c1["owned_since"] == "2026-01-09T16:00:00Z"


def test_export_followups(busy):
    [row] = jsonl(busy("export", "followups", "--format", "json").stdout)
    assert row == {
        "id": 1,
        "customer_id": 1,
        "customer_external_id": "C1",
        "customer_name": "Acme Logistics",
        "rep": "alice",
        "kind": "call",
        "note": "sent offer",
        "at": "2026-11-29T01:00:00Z",
        "next_at": "2026-12-02T01:00:00Z",
    }


def test_export_deals_amount_is_an_exact_decimal_string(busy):
    [row] = jsonl(busy("export", "deals", "--format", "json").stdout)
    assert row == {
        "id": 1,
        "customer_id": 2,
        "customer_external_id": "C2",
        "customer_name": "上海华瑞科技有限公司",
        "rep": "alice",
        "amount": "12000.50",
        "channel": "online",
        "at": "2026-11-27T16:00:00Z",
        "voided_at": None,
        "void_reason": None,
    }
    [as_csv] = csv_rows(busy("export", "deals").stdout)
    assert as_csv["amount"] == "12000.50"


def test_export_events(busy):
    rows = csv_rows(busy("export", "events").stdout)
    assert [r["kind"] for r in rows] == ["imported"] * 5 + ["claimed", "released"]
    claimed, released = rows[-2:]
    assert (claimed["customer_external_id"], claimed["from_rep"], claimed["to_rep"]) == (
        "C4",
        "",
        "bob",
    )
    assert (released["customer_external_id"], released["from_rep"], released["to_rep"]) == (
        "C3",
        "bob",
        "",
    )
    assert released["reason"] == "moved away"
    assert released["actor"] == "test"
    assert list(rows[0]) == [
        "id",
        "customer_id",
        "customer_external_id",
        "customer_name",
        "at",
        "kind",
        "from_rep",
        "to_rep",
        "from_stage",
        "to_stage",
        "reason",
        "actor",
    ]


def test_filters_pick_customers_like_the_customers_command(busy):
    def ids(*args: str) -> list[str]:
        return [r["external_id"] for r in csv_rows(busy("export", "customers", *args).stdout)]

    assert ids("--rep", "alice") == ["C1", "C2"]
    assert ids("--pool") == ["C3", "C5"]
    assert ids("--stage", "商务谈判") == ["C1", "C5"]
    assert ids("--rep", "bob", "--stage", "prospecting") == ["C4"]
    # the other kinds follow the picked customers
    followups = csv_rows(busy("export", "followups", "--rep", "bob").stdout)
    assert followups == []
    events = csv_rows(busy("export", "events", "--pool").stdout)
    assert {e["customer_external_id"] for e in events} == {"C3", "C5"}
    deals = csv_rows(busy("export", "deals", "--rep", "alice").stdout)
    assert [d["customer_external_id"] for d in deals] == ["C2"]


def test_unknown_rep_is_refused(busy, tmp_path):
    result = busy.fails("export", "customers", "--rep", "nobody", "--out", str(tmp_path / "x.csv"))
    assert "nobody" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_an_existing_file_is_replaced_only_with_force(busy, tmp_path):
    out = tmp_path / "book.csv"
    out.write_text("last week's export\n", encoding="utf-8")
    result = busy.fails("export", "customers", "--out", str(out))
    assert result.stderr == f"error: {out} exists; add --force to overwrite it\n"
    assert out.read_text(encoding="utf-8") == "last week's export\n"
    assert busy.json("export", "customers", "--out", str(out), "--force")["rows"] == 5
    assert out.read_text(encoding="utf-8-sig").startswith("id,")


def test_round_trip_into_a_new_store_gives_the_same_customers(busy, write_csv, tmp_path):
    busy(
        "import",
        str(
            write_csv(
                "external_id,name,contact,phone,email,city,level,owner,created_at\n"
                "C6,深圳前海贸易,王经理,13800138000,Wang@Example.com,深圳,A,carol,2026-04-01\n"
                ",No External Id Ltd,,,,,,,2026-04-02T08:30:15.5+08:00\n",
                name="more.csv",
            )
        ),
    )
    out = tmp_path / "export.csv"
    busy("export", "customers", "--out", str(out))
    other = Cli(db=tmp_path / "other.db", runner=busy.runner)
    other("init")
    result = other.json("import", str(out))
    assert result["inserted"] == 7 and result["rejected"] == 0

    def book(cli: Cli) -> list[dict]:
        return [{k: c[k] for k in IMPORT_COLUMNS} for c in cli.json("customers")]

    assert book(other) == book(busy)
    assert other.sql("select name from rep order by name") == busy.sql(
        "select name from rep order by name"
    )
    # and the new store exports the very same file
    again = tmp_path / "again.csv"
    other("export", "customers", "--out", str(again))
    assert again.read_bytes() == out.read_bytes()


def test_cells_a_spreadsheet_would_run_are_neutralized_in_csv(cli, write_csv, tmp_path):
    names = "\n".join(f'"{n.replace(chr(34), chr(34) * 2)}",alice' for n in HOSTILE)
    cli("import", str(write_csv(f"name,owner\n{names}\n")))
    for index, note in enumerate(HOSTILE_NOTES, start=1):
        cli("log", str(index), "--rep", "alice", "--kind", "call", f"--note={note}")

    customers = csv_rows(cli("export", "customers").stdout)
    assert [c["name"] for c in customers] == ["'" + n if n[0] in "=+-@" else n for n in HOSTILE]
    assert customers[0]["name"] == '\'=HYPERLINK("http://x")'
    assert customers[2]["name"] == "'-1+2"
    notes = csv_rows(cli("export", "followups").stdout)
    assert [n["note"] for n in notes] == ["'" + n for n in HOSTILE_NOTES]
    assert notes[0]["customer_name"] == '\'=HYPERLINK("http://x")'
    # written to a file too
    out = tmp_path / "book.csv"
    cli("export", "customers", "--out", str(out))
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(r["name"].startswith("'") for r in rows if r["name"] != "#N/A")
    # no cell anywhere starts with a formula character
    for line in csv.reader(io.StringIO(cli("export", "events").stdout)):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n")) for cell in line)

    # JSON keeps every value as it was typed
    assert [c["name"] for c in jsonl(cli("export", "customers", "--format", "json").stdout)] == (
        HOSTILE
    )
    raw_notes = jsonl(cli("export", "followups", "--format", "json").stdout)
    assert [n["note"] for n in raw_notes] == HOSTILE_NOTES

    # XLSX stores them as text, never as formulas or errors
    workbook_path = tmp_path / "book.xlsx"
    cli("export", "customers", "--out", str(workbook_path))
    sheet = openpyxl.load_workbook(workbook_path).active
    header = [c.value for c in sheet[1]]
    assert header == list(CUSTOMER_COLUMNS)
    name_cells = [row[header.index("name")] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in name_cells] == HOSTILE
    assert all(c.data_type == "s" for c in name_cells)
    notes_path = tmp_path / "notes.xlsx"
    cli("export", "followups", "--format", "xlsx", "--out", str(notes_path))
    sheet = openpyxl.load_workbook(notes_path).active
    header = [c.value for c in sheet[1]]
    note_cells = [row[header.index("note")] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in note_cells)
    # XML reads a bare CR as a line feed; what matters is that each stays text
    assert [c.value.replace("\r", "\n") for c in note_cells] == [
        n.replace("\r", "\n") for n in HOSTILE_NOTES
    ]


def test_xlsx_deals_amounts_are_numbers_and_control_characters_are_replaced(busy, tmp_path):
    busy("log", "C1", "--rep", "alice", "--kind", "call", "--note", "bell\x07 here")
    out = tmp_path / "deals.xlsx"
    assert busy.json("export", "deals", "--out", str(out))["rows"] == 1
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    amount = sheet.cell(row=2, column=header.index("amount") + 1)
    assert amount.value == 12000.5 and amount.number_format == "0.00"
    notes = tmp_path / "notes.xlsx"
    busy("export", "followups", "--out", str(notes))
    sheet = openpyxl.load_workbook(notes).active
    assert [r[6].value for r in sheet.iter_rows(min_row=2)] == ["sent offer", "bell\ufffd here"]


def test_bom_by_default_only_for_a_csv_file(busy, tmp_path):
    bom = "\ufeff".encode()
    plain_csv = tmp_path / "plain.csv"
    busy("export", "customers", "--out", str(plain_csv))
    assert plain_csv.read_bytes().startswith(bom + b"id,external_id,")
    assert plain_csv.read_bytes().count(b"\r\n") == 6  # RFC 4180 line ends
    busy("export", "customers", "--out", str(plain_csv), "--no-excel", "--force")
    assert plain_csv.read_bytes().startswith(b"id,external_id,")
    other = tmp_path / "book.txt"
    busy("export", "customers", "--out", str(other))
    assert other.read_bytes().startswith(b"id,")
    assert busy("export", "customers", "--excel").stdout.startswith("\ufeffid,")
    jsonl_file = tmp_path / "book.jsonl"
    busy("export", "customers", "--out", str(jsonl_file))  # the format follows the extension
    assert len(jsonl(jsonl_file.read_text(encoding="utf-8"))) == 5


def test_files_are_private_and_replaced_whole(busy, tmp_path):
    out = tmp_path / "book.csv"
    out.write_text("old")
    out.chmod(0o644)
    result = busy.json("export", "customers", "--out", str(out), "--force")
    assert result == {
        "what": "customers",
        "format": "csv",
        "file": str(out),
        "rows": 5,
        "excel": True,
    }
    for name, fmt in (("book.csv", "csv"), ("book.xlsx", "xlsx"), ("book.json", "json")):
        path = tmp_path / name
        busy("export", "customers", "--format", fmt, "--out", str(path), "--force")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_human_sentence_after_writing_a_file(busy, tmp_path):
    result = busy("export", "events", "--out", str(tmp_path / "events.csv"))
    sentence = " ".join(result.stdout.split())  # rich may wrap a long path
    assert sentence == f"exported 7 rows of events to {tmp_path / 'events.csv'}"


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "xlsx"],  # XLSX needs a file
        ["--json"],  # a summary of what? the data is on stdout
        ["--format", "json", "--excel"],  # BOM is for CSV
        ["--format", "pdf"],
    ],
    ids=["xlsx-stdout", "json-stdout", "excel-json", "bad-format"],
)
def test_usage_errors(busy, args):
    busy.fails("export", "customers", *args, code=2)


@pytest.mark.sqlite_only
def test_out_cannot_be_the_store(busy):
    result = busy.fails("export", "customers", "--out", str(busy.db))
    assert "store itself" in result.stderr


def test_unwritable_out_is_one_clean_error(busy, tmp_path):
    result = busy.fails("export", "customers", "--out", str(tmp_path / "no" / "such" / "x.csv"))
    assert "cannot write" in result.stderr


def test_rows_are_streamed_in_batches(busy):
    # batch=2: five customers come in three fetches; nothing is lost at the seams
    store = open_store(busy.url)  # a server-side cursor on PostgreSQL
    try:
        with store.read() as session:
            stream = io.StringIO()
            result = export(
                session, what=Kind.customers, fmt=ExportFormat.json, out=stream, batch=2
            )
            prospects = io.StringIO()
            export(
                session,
                what=Kind.customers,
                fmt=ExportFormat.csv,
                out=prospects,
                stage=Stage.prospecting,
            )
    finally:
        store.dispose()
    assert result.rows == 5
    assert [r["external_id"] for r in jsonl(stream.getvalue())] == ["C1", "C2", "C3", "C4", "C5"]
    assert [r["external_id"] for r in csv_rows(prospects.getvalue())] == ["C3", "C4"]


@pytest.mark.parametrize("command", [["export"], ["backup"], ["restore"]], ids=" ".join)
def test_help_has_an_example(cli, command):
    result = cli(*command, "--help")
    assert "Example" in result.stdout


def test_export_path_is_relative_to_cwd(busy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    busy("export", "customers", "--out", "here.csv")
    assert Path(tmp_path / "here.csv").exists()


def test_xlsx_goes_on_in_a_new_sheet_past_the_row_limit(busy, tmp_path, monkeypatch):
    monkeypatch.setattr("salespool.core.export.XLSX_MAX_ROWS", 3)  # a header and two rows
    out = tmp_path / "book.xlsx"
    assert busy.json("export", "customers", "--out", str(out))["rows"] == 5
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == ["customers", "customers 2", "customers 3"]
    seen = []
    for sheet in workbook:
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == CUSTOMER_COLUMNS
        seen += [r[1] for r in rows[1:]]
    assert seen == ["C1", "C2", "C3", "C4", "C5"]

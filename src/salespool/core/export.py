"""Exporting customers, follow-ups, deals and events as CSV, XLSX or JSON Lines.

Each export is one SELECT streamed in batches (`yield_per`) and written row by
row, so memory stays bounded however large the book is; the SELECT also makes
the export one consistent snapshot. Rows come out in id order, which needs no
sort. Times are ISO 8601 in UTC with a `Z`; amounts are exact decimal strings.

The customer columns are the import columns (plus `id`, which the importer
ignores), so an exported book imports into a new store as the same customers.

Spreadsheets run cells that look like formulas, so every CSV cell starting
with `=`, `+`, `-`, `@`, tab, CR or LF is prefixed with `'` (OWASP "CSV
injection"), whatever the file is called: a CSV on stdout ends up in Excel as
often as one written with --out. XLSX cells are typed as text instead, and
JSON stays raw, so JSON is the lossless format.

A file given as `out` is written to a temporary file beside it, readable by
its owner only, and moved into place at the end: a failed export leaves no
half-written file, and a finished one is never readable by others.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from salespool.clock import iso
from salespool.core.reps import find_rep
from salespool.core.vocabulary import (
    CUSTOMER_EXPORT,
    DEAL_EXPORT,
    EVENT_EXPORT,
    FOLLOWUP_EXPORT,
    ExportFormat,
    neutralize,
)
from salespool.core.vocabulary import ExportKind as Kind
from salespool.errors import FLAG, BadInput, Refused
from salespool.files import replaced
from salespool.models import Customer, Deal, Event, FollowUp, Rep, Stage
from salespool.money import to_decimal

BATCH_ROWS = 1000
# Control characters an XLSX file cannot hold (openpyxl refuses them).
_XLSX_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
XLSX_REPLACEMENT = "\ufffd"
XLSX_MAX_ROWS = 1_048_576  # per sheet, header included


# The columns of each kind (core/vocabulary.py): the customer columns are the import's.
CUSTOMER_COLUMNS = CUSTOMER_EXPORT
FOLLOWUP_COLUMNS = FOLLOWUP_EXPORT
DEAL_COLUMNS = DEAL_EXPORT
EVENT_COLUMNS = EVENT_EXPORT
COLUMNS: dict[Kind, tuple[str, ...]] = {
    Kind.customers: CUSTOMER_COLUMNS,
    Kind.followups: FOLLOWUP_COLUMNS,
    Kind.deals: DEAL_COLUMNS,
    Kind.events: EVENT_COLUMNS,
}


@dataclass
class ExportResult:
    """What an export wrote: `file` is None when it went to a stream (stdout)."""

    what: str
    format: str
    file: str | None
    rows: int
    excel: bool


def guess_format(out: Path | None) -> ExportFormat:
    """The format an `out` file's extension asks for: .xlsx, .json/.jsonl, else CSV."""
    suffix = out.suffix.lower() if out is not None else ""
    if suffix == ".xlsx":
        return ExportFormat.xlsx
    if suffix in (".json", ".jsonl", ".ndjson"):
        return ExportFormat.json
    return ExportFormat.csv


def excel_default(fmt: ExportFormat, out: Path | None) -> bool:
    """A UTF-8 BOM by default only when writing CSV to a `.csv` file."""
    return fmt is ExportFormat.csv and out is not None and out.suffix.lower() == ".csv"


def export(
    session: Session,
    *,
    what: Kind,
    fmt: ExportFormat,
    out: Path | TextIO,
    excel: bool | None = None,
    rep: str | None = None,
    stage: Stage | None = None,
    pool: bool = False,
    force: bool = False,
    batch: int = BATCH_ROWS,
) -> ExportResult:
    """Write `what` to `out` (a file path, or a text stream for CSV and JSON).

    The filters select customers as `customers` does (current owner, stage, the
    pool); follow-ups, deals and events are exported for the selected customers.
    `excel` (CSV only) starts the file with a UTF-8 BOM so Excel reads it as
    UTF-8; None means: only when `out` is a `.csv` file. An existing `out` file is
    replaced only with `force` (a second export must not silently eat the first).
    """
    path = out if isinstance(out, Path) else None
    if fmt is not ExportFormat.csv and excel:
        raise BadInput("applies to CSV only", option="excel")
    if fmt is ExportFormat.xlsx and path is None:
        raise BadInput("an XLSX export needs a file", option="out")
    if path is not None and path.exists() and not path.is_dir() and not force:
        raise Refused(f"{path} exists; add {FLAG} to overwrite it", advises="force")
    bom = excel_default(fmt, path) if excel is None else excel
    columns = COLUMNS[what]
    query = _query(session, what, _customer_filters(session, rep, stage, pool))
    rows = _rows(session, what, query, batch)
    if path is None:
        count = _write_text(fmt, out, columns, rows, bom)  # type: ignore[arg-type]
    else:
        count = _write_file(fmt, path, columns, rows, bom, what)
    return ExportResult(
        what=what.value,
        format=fmt.value,
        file=str(path) if path is not None else None,
        rows=count,
        excel=bom,
    )


# --- reading ------------------------------------------------------------------


def _customer_filters(
    session: Session, rep: str | None, stage: Stage | None, pool: bool
) -> list[ColumnElement[bool]]:
    """The same customer filters as `salespool customers`."""
    conditions: list[ColumnElement[bool]] = []
    if rep is not None:
        conditions.append(Customer.owner_id == find_rep(session, rep, active=False).id)
    if pool:
        conditions.append(Customer.owner_id.is_(None))
    if stage is not None:
        conditions.append(Customer.stage == stage.value)
    return conditions


def _customer_ref() -> tuple:
    return (
        Customer.id.label("customer_id"),
        Customer.external_id.label("customer_external_id"),
        Customer.name.label("customer_name"),
    )


def _query(session: Session, what: Kind, conditions: list[ColumnElement[bool]]) -> Select:
    """One SELECT per kind, in id order (the primary key: no sort, no temp table)."""
    if what is Kind.customers:
        owner = aliased(Rep)
        referrer = aliased(Customer)
        return (
            select(
                Customer.id,
                Customer.external_id,
                Customer.name,
                Customer.contact,
                Customer.phone,
                Customer.email,
                Customer.city,
                Customer.level,
                owner.name.label("owner"),
                Customer.stage,
                Customer.created_at,
                Customer.owned_since,
                Customer.last_contact_at,
                # As the import reads it back: the referrer's external_id, else its name.
                func.coalesce(referrer.external_id, referrer.name).label("referred_by"),
            )
            .outerjoin(owner, owner.id == Customer.owner_id)
            .outerjoin(referrer, referrer.id == Customer.referred_by_id)
            .where(*conditions)
            .order_by(Customer.id)
        )
    if what is Kind.followups:
        facts = (FollowUp.kind, FollowUp.note, FollowUp.at, FollowUp.next_at)
        return _by_rep(FollowUp, facts, conditions)
    if what is Kind.deals:
        facts = (Deal.amount_minor, Deal.channel, Deal.at, Deal.voided_at, Deal.void_reason)
        return _by_rep(Deal, facts, conditions)
    from_rep, to_rep = aliased(Rep), aliased(Rep)
    return (
        select(
            Event.id,
            *_customer_ref(),
            Event.at,
            Event.kind,
            from_rep.name.label("from_rep"),
            to_rep.name.label("to_rep"),
            Event.from_stage,
            Event.to_stage,
            Event.reason,
            Event.actor,
        )
        .join(Customer, Customer.id == Event.customer_id)
        .outerjoin(from_rep, from_rep.id == Event.from_rep_id)
        .outerjoin(to_rep, to_rep.id == Event.to_rep_id)
        .where(*conditions)
        .order_by(Event.id)
    )


def _by_rep(model: Any, facts: tuple, conditions: list[ColumnElement[bool]]) -> Select:
    """Follow-ups or deals: id, the customer, the rep's name, then `facts`, in id order."""
    return (
        select(model.id, *_customer_ref(), Rep.name.label("rep"), *facts)
        .join(Customer, Customer.id == model.customer_id)
        .outerjoin(Rep, Rep.id == model.rep_id)
        .where(*conditions)
        .order_by(model.id)
    )


def _rows(session: Session, what: Kind, query: Select, batch: int) -> Iterator[tuple]:
    """Rows as plain values: times as ISO text in UTC, amounts as Decimals."""
    # yield_per fetches `batch` rows at a time (a server-side cursor on PostgreSQL)
    # instead of buffering the whole result.
    result = session.execute(query.execution_options(yield_per=batch))
    amount = DEAL_COLUMNS.index("amount") if what is Kind.deals else None
    for row in result:
        values = [iso(v) if isinstance(v, datetime) else v for v in row]
        if amount is not None:
            values[amount] = to_decimal(values[amount])
        yield tuple(values)


# --- writing ------------------------------------------------------------------


def _write_text(
    fmt: ExportFormat,
    stream: TextIO,
    columns: Sequence[str],
    rows: Iterable[tuple],
    bom: bool,
) -> int:
    if fmt is ExportFormat.json:
        return _write_jsonl(stream, columns, rows)
    return _write_csv(stream, columns, rows, bom)


def _write_file(
    fmt: ExportFormat,
    path: Path,
    columns: Sequence[str],
    rows: Iterable[tuple],
    bom: bool,
    what: Kind,
) -> int:
    """Write to a private temporary file beside `path`, then move it into place."""
    if path.is_dir():
        raise BadInput(f"{path}: is a directory (give a file name)")
    with replaced(path) as (fd, temp):
        if fmt is ExportFormat.xlsx:
            os.close(fd)
            count = _write_xlsx(temp, what.value, columns, rows)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                count = _write_text(fmt, handle, columns, rows, bom)
                handle.flush()
                os.fsync(handle.fileno())
    return count


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    return neutralize(str(value))


def _write_csv(stream: TextIO, columns: Sequence[str], rows: Iterable[tuple], bom: bool) -> int:
    if bom:
        stream.write("\ufeff")
    # RFC 4180 line ends, always: the csv module quotes a field only for the
    # characters of its line terminator, and a bare CR in an unquoted note
    # would split the row for any reader.
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
        count += 1
    return count


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _write_jsonl(stream: TextIO, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    count = 0
    for row in rows:
        record = {k: _json_value(v) for k, v in zip(columns, row, strict=True)}
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _write_xlsx(path: Path, title: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """A write-only workbook: rows are streamed to disk, strings written inline.

    A sheet holds at most XLSX_MAX_ROWS rows (Excel's limit), so a larger
    export goes on in sheets `customers 2`, `customers 3`, ..., each with
    the header row.
    """
    from openpyxl import Workbook  # imported here: only XLSX exports pay for it
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)

    def cell(sheet: Any, value: Any) -> Any:
        if isinstance(value, str):
            text = WriteOnlyCell(sheet, value=_XLSX_ILLEGAL.sub(XLSX_REPLACEMENT, value))
            # openpyxl turns "=..." into a formula and "#N/A" into an error:
            # a customer's name is text, always.
            text.data_type = "s"
            return text
        if isinstance(value, Decimal):
            # A number Excel can sum, shown with its two decimals.
            amount = WriteOnlyCell(sheet, value=value)
            amount.number_format = "0.00"
            return amount
        return value

    def new_sheet(number: int) -> Any:
        sheet = workbook.create_sheet(title if number == 1 else f"{title} {number}")
        sheet.append([cell(sheet, c) for c in columns])
        return sheet

    sheets = 1
    sheet = new_sheet(sheets)
    count = in_sheet = 0
    for row in rows:
        if in_sheet == XLSX_MAX_ROWS - 1:
            sheets += 1
            sheet, in_sheet = new_sheet(sheets), 0
        sheet.append([cell(sheet, v) for v in row])
        count += 1
        in_sheet += 1
    workbook.save(path)
    return count

"""The file readers: CSV, XLSX and JSON Lines as people bring them, streamed row by row.

Every reader yields `(line, cells, issue)` records: the line (the sheet's row
number for XLSX), the cells as text (None for an empty XLSX cell or JSON null),
and `issue`, None or `(column index, value, why)` for a row that is readable
but bad in a way only this reader can tell (a formula without a saved value,
a JSON line that is not an object). Nothing is loaded whole: a CSV or JSON
Lines file is read through a 1 MiB buffer, an XLSX sheet through openpyxl's
streaming XML parser.

Hostile files end in a BadInput naming the file and line, in bounded memory:
a NUL byte means binary data; a cell longer than `Limits.max_cell` or a line
longer than `Limits.max_line` characters stops the read; an XLSX whose parts
unpack to more than `Limits.max_bytes`, or compress more than
`Limits.max_ratio` to 1 (a zip bomb), is refused before it is opened.

CSV encodings are tried in a fixed order on the first MiB: a UTF-8 BOM, a
UTF-16 BOM (Excel's "Unicode text"), strict UTF-8, strict GB18030 (a superset
of GBK, what Chinese Windows saves), and only then charset-normalizer, which
reads short GBK files as Big5. Bytes that do not decode later in the file are
reported with their line.

What the header means (which column is which) is `layout`'s business, not a reader's.
Advice naming a reading option (the encoding, the format) names the argument
(`advises=`, see salespool.errors); the CLI words it with its flag.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import os
import re
import stat
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from salespool.errors import FLAG, BadInput

MiB = 1 << 20
GiB = 1 << 30
SAMPLE_BYTES = MiB
PROGRESS_EVERY_ROWS = 5000

# (line, cells, issue): see the module docstring.
Issue = tuple[int, str, str]
Record = tuple[int, list[str | None], Issue | None]
# An issue's column for a JSON key the first line did not have; its value is the key.
UNKNOWN_KEY = -2
# progress(done, total, unit): bytes read of a CSV/JSON Lines file, rows of a sheet.
Progress = Callable[[int, int | None, str], None]


class Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    jsonl = "jsonl"


EXTENSIONS = {
    ".csv": Format.csv,
    ".tsv": Format.csv,
    ".txt": Format.csv,
    ".xlsx": Format.xlsx,
    ".xlsm": Format.xlsx,
    ".jsonl": Format.jsonl,
    ".ndjson": Format.jsonl,
    ".json": Format.jsonl,
}
DELIMITERS = (",", ";", "\t")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary .xls / .doc
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes surrogateescape could not decode
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    """How big a file and its parts may be before the read stops with an error."""

    max_bytes: int = 4 * GiB  # a file's size; for XLSX, its parts unpacked
    max_cell: int = 1_000_000  # characters in one cell
    max_ratio: int = 200  # XLSX part size / compressed size (zip bombs reach 1000s)
    max_parts: int = 10_000  # files inside an XLSX

    @property
    def max_line(self) -> int:
        """Characters in one physical line of a CSV or JSON Lines file."""
        return 4 * self.max_cell + 4096

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """Defaults, overridden by SALESPOOL_IMPORT_MAX_BYTES / SALESPOOL_IMPORT_MAX_CELL."""
        env = os.environ if env is None else env
        values: dict[str, int] = {}
        for key, name in (("max_bytes", "MAX_BYTES"), ("max_cell", "MAX_CELL")):
            text = env.get(f"SALESPOOL_IMPORT_{name}")
            if text:
                try:
                    values[key] = int(text)
                except ValueError:
                    raise BadInput(f"SALESPOOL_IMPORT_{name}: '{text}' is not a number") from None
                if values[key] < 1:
                    raise BadInput(f"SALESPOOL_IMPORT_{name}: must be at least 1")
        return cls(**values)


@dataclass(frozen=True)
class ReadOptions:
    """What the user said about how to read an import file, and how big it may be."""

    fmt: Format | str | None = None  # else chosen by the file's extension
    encoding: str | None = None  # else detected
    sheet: str | None = None  # XLSX only; else the first sheet
    mapping: Mapping[str, str] | None = None  # header -> column, from --map
    limits: Limits = field(default_factory=Limits)


def shown(value: str, width: int = 60) -> str:
    """A cell as quoted in an error: one line, control characters escaped, cut short."""
    text = value if len(value) <= width else value[:width] + "..."
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


class FileError(BadInput):
    """A file that cannot be read at all: `file: why` or `file:line: why`."""

    def __init__(
        self, file: str, why: str, line: int | None = None, advises: str | None = None
    ) -> None:
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {why}", advises=advises)


class RowError(BadInput):
    """A bad cell, reported as `file:line: column 'x': value 'y': why`."""

    def __init__(self, file: str, line: int, column: str | None, value: str | None, why: str):
        self.line = line
        self.reason = describe(column, value, why)  # what a rejects file says of the row
        super().__init__(f"{file}:{line}: {self.reason}")


def describe(column: str | None, value: str | None, why: str) -> str:
    """`column 'x': value 'y': why`, the part of a row error after the line."""
    where = ""
    if column is not None:
        where += f"column '{shown(column)}': "
    if value is not None:
        where += f"value '{shown(value)}': "
    return where + why


@dataclass
class Source:
    """An opened file: its header and a stream of records. Close it (or use `with`)."""

    file: str
    format: Format
    encoding: str | None
    sheet: str | None
    header: list[str]
    records: Iterator[Record]
    unquote: bool = False
    _closers: list[Callable[[], Any]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def choose_format(path: Path, fmt: Format | str | None) -> Format:
    """--format if given, else the extension, else a look at the first bytes."""
    if fmt is not None:
        try:
            return Format(str(fmt).lower())
        except ValueError:
            raise BadInput(f"'{fmt}' is not one of csv, xlsx, jsonl", option="format") from None
    by_extension = EXTENSIONS.get(path.suffix.lower())
    if by_extension is not None:
        return by_extension
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return Format.csv  # open_source reports the failure
    if head.startswith(_ZIP_MAGIC):
        return Format.xlsx
    if head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"{"):
        return Format.jsonl
    return Format.csv


def open_source(
    path: Path, read: ReadOptions | None = None, progress: Progress | None = None
) -> Source:
    """Open a CSV, XLSX or JSON Lines file and read its header (the first non-blank row)."""
    read = read or ReadOptions()
    fmt, encoding, sheet, limits = read.fmt, read.encoding, read.sheet, read.limits
    file = str(path)
    chosen = choose_format(path, fmt)
    if chosen is not Format.xlsx and sheet is not None:
        raise BadInput(f"{file} is not an XLSX file", option="sheet")
    if chosen is Format.xlsx:
        if encoding is not None:
            raise BadInput("an XLSX file carries its own encoding", option="encoding")
        source = _open_xlsx(path, file, sheet, limits, progress)
    else:
        source = _open_text(path, file, chosen, encoding, limits, progress)
    try:
        for line, cells, issue in source.records:
            if issue is not None:
                raise FileError(file, f"the header row: {issue[2]}", line=line)
            if any(c is not None and c.strip() for c in cells):
                source.header = [("" if c is None else c.strip()) for c in cells]
                break
        else:
            raise FileError(file, "the file is empty (expected a header row)")
    except BaseException:
        source.close()
        raise
    return source


# --- text files: CSV and JSON Lines --------------------------------------------


class _Guard(io.RawIOBase):
    """The raw bytes under the text decoder: refuses NUL bytes, counts, reports progress."""

    def __init__(
        self,
        raw: BinaryIO,
        prefix: bytes,
        file: str,
        check_nul: bool,
        limits: Limits,
        total: int | None,
        progress: Progress | None,
    ) -> None:
        super().__init__()
        self._raw, self._prefix, self._file = raw, prefix, file
        self._check_nul, self._limits, self._total = check_nul, limits, total
        self._progress = progress
        self.done = 0
        self._next_report = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            n = self._raw.readinto(view) or 0
        if n:
            if self._check_nul:
                at = bytes(view[:n]).find(b"\0")
                if at >= 0:
                    raise FileError(
                        self._file, f"binary data (a NUL byte at byte {self.done + at:,}), not text"
                    )
            self.done += n
            if self.done > self._limits.max_bytes:
                raise FileError(self._file, _too_big(self.done, self._limits))
            if self._progress is not None and self.done >= self._next_report:
                self._progress(self.done, self._total, "bytes")
                self._next_report = self.done + MiB
        elif self._progress is not None:
            self._progress(self.done, self._total, "bytes")
        return n


def _too_big(size: int, limits: Limits) -> str:
    return (
        f"{size / MiB:,.0f} MiB is more than the import limit of {limits.max_bytes / MiB:,.0f} "
        "MiB (SALESPOOL_IMPORT_MAX_BYTES raises it)"
    )


def _open_binary(path: Path, file: str, limits: Limits) -> tuple[BinaryIO, int | None]:
    try:
        info = path.stat()
    except OSError as exc:
        raise FileError(file, f"cannot open: {exc.strerror}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise FileError(file, "cannot open: is a directory")
    size = info.st_size if stat.S_ISREG(info.st_mode) else None
    if size is not None and size > limits.max_bytes:
        raise FileError(file, _too_big(size, limits))
    try:
        return path.open("rb"), size
    except OSError as exc:
        raise FileError(file, f"cannot open: {exc.strerror}") from exc


def _kind_of_binary(head: bytes) -> str | None:
    if head.startswith(_ZIP_MAGIC):
        return f"a zip archive (an XLSX file? use {FLAG} xlsx)"
    if head.startswith(_OLE_MAGIC):
        return "an old binary Excel .xls file: save it as .xlsx or CSV"
    return None


def detect_encoding(sample: bytes, complete: bool) -> str:
    """The encoding of a text sample, in the order the module docstring gives."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for candidate in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(candidate)().decode(sample, final=complete)
        except UnicodeDecodeError:
            continue
        return candidate
    from charset_normalizer import from_bytes  # slow to import; rarely needed

    best = from_bytes(sample[: 64 * 1024]).best()
    if best is None:
        raise BadInput(
            f"cannot tell the text encoding; pass {FLAG} (e.g. gb18030, big5)", advises="encoding"
        )
    return codecs.lookup(best.encoding).name


def _open_text(
    path: Path,
    file: str,
    fmt: Format,
    encoding: str | None,
    limits: Limits,
    progress: Progress | None,
) -> Source:
    raw, size = _open_binary(path, file, limits)
    try:
        sample = raw.read(SAMPLE_BYTES)
        complete = len(sample) < SAMPLE_BYTES
        encoding, wide = _text_encoding(file, fmt, encoding, sample, complete)
        guard = _Guard(raw, sample, file, not wide, limits, size, progress)
        text = io.TextIOWrapper(
            io.BufferedReader(guard, buffer_size=MiB),
            encoding=encoding,
            errors="surrogateescape",
            newline="",
        )
    except BaseException:
        raw.close()
        raise
    lines = _lines(text, file, encoding, limits)
    if fmt is Format.jsonl:
        records = _jsonl_records(lines, file)
        unquote = False
    else:
        preview = sample.decode(encoding, errors="replace")
        if not complete:  # the last line may be cut in two
            preview = preview[: max(preview.rfind("\n"), 0)]
        records = _csv_records(lines, file, sniff_delimiter(preview), limits)
        unquote = True
    return Source(file, fmt, encoding, None, [], records, unquote, [text.close, raw.close])


def _text_encoding(
    file: str, fmt: Format, encoding: str | None, sample: bytes, complete: bool
) -> tuple[str, bool]:
    """The encoding to read a text file in, from the one given or its first bytes; and
    whether it is a wide one (UTF-16/32, where NUL bytes are text)."""
    if encoding is not None:
        encoding = _named_encoding(encoding, sample)
    wide = (encoding or "").startswith(("utf-16", "utf-32")) or sample.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    )
    if not wide:
        _refuse_binary(file, fmt, sample)
    if encoding is None:
        if fmt is Format.jsonl and not wide:
            encoding = "utf-8-sig"  # JSON is UTF-8 by definition (RFC 8259)
        else:
            try:
                encoding = detect_encoding(sample, complete)
            except BadInput as exc:
                raise FileError(file, exc.text, advises=exc.advises) from None
    return encoding, wide


def _named_encoding(encoding: str, sample: bytes) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise BadInput(f"unknown encoding '{encoding}'", option="encoding") from None
    if name == "utf-8" and sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return name


def _refuse_binary(file: str, fmt: Format, sample: bytes) -> None:
    kind = _kind_of_binary(sample)
    if kind:
        raise FileError(file, f"this is {kind}, not {fmt.value.upper()} text", advises="format")
    at = sample.find(b"\0")
    if at >= 0:
        raise FileError(file, f"binary data (a NUL byte at byte {at:,}), not text")


def _lines(text: io.TextIOWrapper, file: str, encoding: str, limits: Limits) -> Iterator[str]:
    """Physical lines, each at most `limits.max_line` characters and cleanly decoded."""
    number = 0
    cap = limits.max_line
    while True:
        line = text.readline(cap)
        if not line:
            return
        number += 1
        if len(line) >= cap and line[-1] not in "\r\n":
            raise FileError(file, f"a line longer than {cap:,} characters", line=number)
        if not line.isascii() and (bad := _UNDECODED.search(line)):
            byte = ord(bad[0]) - 0xDC00
            raise FileError(
                file,
                f"byte 0x{byte:02x} is not valid {encoding} text "
                "(pass {flag} if the file is in another encoding)",
                line=number,
                advises="encoding",
            )
        yield line


def sniff_delimiter(preview: str) -> str:
    """Comma, semicolon or tab: the one giving a wide header and rows of the same width."""
    best, best_score = ",", (False, -1.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [
                r
                for r in itertools.islice(
                    csv.reader(io.StringIO(preview[: 256 * 1024]), delimiter=delimiter), 50
                )
                if any(c.strip() for c in r)
            ]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        same = sum(len(r) == width for r in rows) / len(rows)
        score = (width > 1, same, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_records(
    lines: Iterator[str], file: str, delimiter: str, limits: Limits
) -> Iterator[Record]:
    csv.field_size_limit(limits.max_cell)
    reader = csv.reader(lines, delimiter=delimiter)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                why = f"a cell longer than {limits.max_cell:,} characters"
            else:
                why = f"not valid CSV: {exc}"
            raise FileError(file, why, line=line) from None
        if "".join(cells).strip():
            yield line, cells, None  # type: ignore[misc]
        line = reader.line_num + 1


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise TypeError


def _jsonl_records(lines: Iterator[str], file: str) -> Iterator[Record]:
    """The first object's keys are the header (a record of their own), then one record a line."""
    keys: list[str] | None = None
    index: dict[str, int] = {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as exc:
            if keys is None and text.lstrip().startswith("["):
                raise FileError(
                    file, "a JSON array: salespool reads JSON Lines, one object per line"
                ) from None
            yield number, [], (-1, text.strip(), f"not valid JSON: {exc.msg}")
            continue
        if keys is None and isinstance(item, list):
            raise FileError(file, "a JSON array: salespool reads JSON Lines, one object per line")
        if not isinstance(item, dict):
            yield number, [], (-1, text.strip(), "not a JSON object")
            continue
        if keys is None:
            keys = [str(k) for k in item]
            index = {k: i for i, k in enumerate(keys)}
            yield number, list(keys), None
        cells: list[str | None] = [None] * len(keys)
        issue: Issue | None = None
        for key, value in item.items():
            at = index.get(key)
            if at is None:
                issue = issue or (UNKNOWN_KEY, key, f"key '{key}' is not among line 1's keys")
                continue
            try:
                cells[at] = _json_text(value)
            except TypeError:
                if issue is None or issue[0] == UNKNOWN_KEY:
                    issue = (at, json.dumps(value, ensure_ascii=False)[:80], "a nested value")
        yield number, cells, issue


# --- XLSX ----------------------------------------------------------------------


def check_zip(path: Path, file: str, limits: Limits) -> None:
    """Refuse a zip that unpacks too big or compresses too well, before anything opens it."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except zipfile.BadZipFile:
        with contextlib.suppress(OSError), path.open("rb") as handle:
            kind = _kind_of_binary(handle.read(8))
            if kind and "xls" in kind:
                raise FileError(file, f"this is {kind}", advises="format") from None
        raise FileError(file, "not an XLSX file (not a zip archive)") from None
    except OSError as exc:
        raise FileError(file, f"cannot open: {exc.strerror}") from exc
    if len(parts) > limits.max_parts:
        raise FileError(file, f"{len(parts):,} parts inside: not a spreadsheet (a zip bomb?)")
    total = sum(p.file_size for p in parts)
    if total > limits.max_bytes:
        raise FileError(file, "unpacked, " + _too_big(total, limits) + " (a zip bomb?)")
    for part in parts:
        if part.file_size > MiB and part.file_size > limits.max_ratio * max(part.compress_size, 1):
            ratio = part.file_size // max(part.compress_size, 1)
            raise FileError(
                file,
                f"part {part.filename} unpacks {ratio:,} times its size (a zip bomb?)",
            )


def _open_xlsx(
    path: Path, file: str, sheet: str | None, limits: Limits, progress: Progress | None
) -> Source:
    _open_binary(path, file, limits)[0].close()
    check_zip(path, file, limits)
    import openpyxl  # slow to import; only XLSX imports need it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise FileError(file, f"cannot read as XLSX: {exc.__class__.__name__}: {exc}") from None
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise BadInput(
                f"{file} has no sheet '{sheet}' (sheets: {', '.join(names)})", option="sheet"
            )
        if not names:
            raise FileError(file, "the workbook has no sheets")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        total = getattr(ws, "max_row", None)
    except BaseException:
        book.close()
        raise
    records = _xlsx_records(
        book, ws, file, limits, total if isinstance(total, int) else None, progress
    )
    return Source(file, Format.xlsx, None, ws.title, [], records, False, [book.close])


def _xlsx_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers typed into Excel come back as 13800138000.0
    if isinstance(value, datetime):
        return value.isoformat(sep="T")  # naive: read in the team's time zone
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _cell_rows(book, ws) -> Iterator[tuple[int, list[dict]]]:
    """The sheet's rows as openpyxl's parser gives them, marking formulas with no saved value.

    openpyxl's read-only sheet shows such a formula as an empty cell; its parser is
    subclassed to tell the two apart. Without those internals, rows come plain.
    """
    try:
        from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

        source = ws._get_source()
        strings = ws._shared_strings
        options = {
            "data_only": True,
            "epoch": book.epoch,
            "date_formats": book._date_formats,
            "timedelta_formats": book._timedelta_formats,
        }
    except (ImportError, AttributeError):
        for index, values in enumerate(ws.iter_rows(values_only=True), start=ws.min_row or 1):
            yield index, [{"column": i, "value": v} for i, v in enumerate(values, start=1)]
        return

    class Parser(WorkSheetParser):
        def parse_cell(self, element):  # type: ignore[no-untyped-def]
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                cell["formula"] = element.findtext(FORMULA_TAG) or ""
            return cell

    with source:
        yield from Parser(source, strings, **options).parse()


def _xlsx_records(
    book, ws, file: str, limits: Limits, total: int | None, progress: Progress | None
) -> Iterator[Record]:
    done = 0
    try:
        for index, parsed in _cell_rows(book, ws):
            done += 1
            if progress is not None and done % PROGRESS_EVERY_ROWS == 0:
                progress(done, total, "rows")
            width = max((c["column"] for c in parsed), default=0)
            cells: list[str | None] = [None] * width
            issue: Issue | None = None
            for cell in parsed:
                at = cell["column"] - 1
                if "formula" in cell:
                    issue = issue or (
                        at,
                        "=" + cell["formula"],
                        "a formula with no saved value (open and save the file in Excel, "
                        "or paste it as values)",
                    )
                    continue
                if cell.get("data_type") == "e":
                    issue = issue or (at, str(cell["value"]), "a spreadsheet error value")
                    continue
                text = _xlsx_text(cell["value"])
                if text is not None and len(text) > limits.max_cell:
                    raise FileError(
                        file, f"a cell longer than {limits.max_cell:,} characters", line=index
                    )
                cells[at] = text
            while cells and (cells[-1] is None or not cells[-1].strip()):
                cells.pop()
            if cells or issue:
                yield index, cells, issue
    except (BadInput, MemoryError):
        raise
    except Exception as exc:  # a broken sheet XML, from deep inside openpyxl
        raise FileError(file, f"cannot read as XLSX: {exc.__class__.__name__}: {exc}") from None
    if progress is not None:
        progress(done, total, "rows")

"""Reading the files people bring: CSV, XLSX and JSON Lines, streamed row by row.

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
import tempfile
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from salespool.errors import BadInput

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
# What the CSV export puts a ' before (OWASP CSV injection); reading it back drops the '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
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


# How many would-be rejects a dry run lists (by line); the result's count has them all.
REPORTED_REJECTS = 1000


def check_rejects_path(rejects: Path, source: Path, option: str = "--rejects") -> None:
    """Refuse, before any work, a rejects file that could not be written, in one line.

    A missing or unwritable directory, a directory given as the file, or the file
    being imported: found after an hour's import of a million rows this would be a
    traceback, or the input overwritten. Nothing is left behind by the check.
    """
    if _same_path(rejects, source):
        raise BadInput(f"{option}: {rejects} is the file being imported")
    if rejects.is_dir():
        raise BadInput(f"{option}: {rejects} is a directory (name a file in it)")
    parent = rejects.parent
    if not parent.is_dir():
        raise BadInput(f"{option}: {rejects}: no such directory '{parent}'")
    try:  # the real test, as the write will be done: permissions, read-only mounts
        handle, probe = tempfile.mkstemp(prefix=f".{rejects.name}.", dir=parent)
    except OSError as exc:
        raise BadInput(f"{option}: {rejects}: cannot write in '{parent}': {exc.strerror}") from None
    os.close(handle)
    Path(probe).unlink(missing_ok=True)


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def write_rejects(
    path: Path, header: list[str], rows: Iterable[tuple[int, str, list[str | None] | None]]
) -> None:
    """Write `(line, reason, cells)` rows as CSV: line, reason, then the row's cells as read.

    UTF-8 with a BOM, for Excel; written to a temporary file beside `path` (mode 0600:
    customer data) and moved into place, so a failed write leaves no half file.
    """
    target = path.resolve()
    temp: str | None = None
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with open(handle, "w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "reason", *header])
            for line, reason, cells in rows:
                writer.writerow([line, reason, *("" if c is None else c for c in cells or [])])
        os.replace(temp, target)
    except OSError as exc:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise FileError(str(path), f"cannot write the rejects: {exc.strerror}") from exc
    except BaseException:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise


def shown(value: str, width: int = 60) -> str:
    """A cell as quoted in an error: one line, control characters escaped, cut short."""
    text = value if len(value) <= width else value[:width] + "..."
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


class FileError(BadInput):
    """A file that cannot be read at all: `file: why` or `file:line: why`."""

    def __init__(self, file: str, why: str, line: int | None = None) -> None:
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {why}")


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


def header_key(text: str) -> str:
    """`External ID` -> `external_id`: header names are matched loosely (NFKC, any case)."""
    return "_".join(unicodedata.normalize("NFKC", text).strip().lower().replace("-", " ").split())


def clean(value: str | None, unquote: bool = False) -> str | None:
    """A cell as stored: trimmed, None when blank; `unquote` drops the export's ' guard."""
    if value is None:
        return None
    value = value.strip()
    if unquote and value[:1] == "'" and value[1:2] in FORMULA_STARTS and value[1:2]:
        value = value[1:].strip()
    return value or None


@dataclass
class Layout:
    """Which header positions feed which field."""

    positions: dict[str, list[int]]  # field -> header indexes; the first non-blank wins
    labels: dict[str, str]  # field -> the header text, as errors name it
    ignored: list[str]
    header: list[str]
    fields: Callable[[str], str | None] = field(repr=False, default=lambda _name: None)

    def label(self, index: int) -> str:
        return self.header[index] if index < len(self.header) else f"#{index + 1}"

    def reader(
        self, columns: tuple[str, ...], unquote: bool
    ) -> Callable[[list[str | None]], list[str | None]]:
        """A function from a record's cells to the `columns`' values, each as `clean` gives it.

        The first non-blank of a field's positions wins; an absent field is None.
        Imports call it once per row of files with millions: a row as wide as the
        header, all text, takes a few list comprehensions instead of a call per cell.
        """
        width = len(self.header)
        spots = [self.positions.get(c) for c in columns]

        def slow(cells: list[str | None]) -> list[str | None]:
            count = len(cells)
            return [
                None
                if spot is None
                else next((v for i in spot if i < count and (v := clean(cells[i], unquote))), None)
                for spot in spots
            ]

        if any(spot is not None and len(spot) > 1 for spot in spots):
            return slow
        picks = [-1 if spot is None else spot[0] for spot in spots]

        def read(cells: list[str | None]) -> list[str | None]:
            if len(cells) != width:
                return slow(cells)
            try:
                values = [cells[i].strip() if i >= 0 else "" for i in picks]  # type: ignore[union-attr]
            except AttributeError:  # a None cell (XLSX, JSON null)
                return slow(cells)
            if unquote and "'" in "".join(values):
                return [clean(v, unquote) if v[:1] == "'" else v or None for v in values]
            return [v or None for v in values]

        return read

    def matters(self, issue: Issue) -> bool:
        """Whether a reader's issue is in a column this import reads (else it is ignored)."""
        at, value, _why = issue
        if at == UNKNOWN_KEY:
            return self.fields(header_key(value)) is not None
        if at < 0:
            return True
        return any(at in indexes for indexes in self.positions.values())


def layout(
    file: str,
    header: list[str],
    columns: tuple[str, ...],
    aliases: Mapping[str, str],
    mapping: Mapping[str, str] | None = None,
    required: tuple[str, ...] = (),
) -> Layout:
    """Read a header: contract names (any case), aliases, then `--map` pairs, which win.

    Two different headers naming one field (手机 and 电话) are both read, the first
    non-blank cell winning; the same header twice is refused.
    """
    wanted = {header_key(source): target for source, target in (mapping or {}).items()}
    for source, target in (mapping or {}).items():
        if target not in columns:
            raise BadInput(
                f"--map '{source}={target}': '{target}' is not a column "
                f"(use one of: {', '.join(columns)})"
            )
    keys = [header_key(h) for h in header]
    for source in mapping or {}:
        if header_key(source) not in keys:
            raise BadInput(f"--map '{source}=...': {file} has no column '{source}'")
    positions: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    seen: dict[str, str] = {}
    ignored: list[str] = []
    for index, (raw, key) in enumerate(zip(header, keys, strict=True)):
        target = wanted.get(key) or (key if key in columns else aliases.get(key))
        if target is None:
            if raw.strip():
                ignored.append(raw.strip())
            continue
        if key in seen:
            raise RowError(file, 1, raw, None, "column appears twice in the header")
        seen[key] = target
        positions.setdefault(target, []).append(index)
        labels.setdefault(target, raw.strip())
    for name in required:
        if name not in positions:
            raise FileError(file, f"no '{name}' column in the header", line=1)

    def fields(key: str) -> str | None:
        return wanted.get(key) or (key if key in columns else aliases.get(key))

    return Layout(positions, labels, ignored, header, fields)


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
            raise BadInput(f"--format: '{fmt}' is not one of csv, xlsx, jsonl") from None
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
        raise BadInput(f"--sheet: {file} is not an XLSX file")
    if chosen is Format.xlsx:
        if encoding is not None:
            raise BadInput("--encoding: an XLSX file carries its own encoding")
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
        return "a zip archive (an XLSX file? use --format xlsx)"
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
        raise BadInput("cannot tell the text encoding; pass --encoding (e.g. gb18030, big5)")
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
        if encoding is not None:
            try:
                encoding = codecs.lookup(encoding).name
            except LookupError:
                raise BadInput(f"--encoding: unknown encoding '{encoding}'") from None
            if encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8):
                encoding = "utf-8-sig"
        wide = (encoding or "").startswith(("utf-16", "utf-32")) or sample.startswith(
            (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        )
        if not wide:
            kind = _kind_of_binary(sample)
            if kind:
                raise FileError(file, f"this is {kind}, not {fmt.value.upper()} text")
            at = sample.find(b"\0")
            if at >= 0:
                raise FileError(file, f"binary data (a NUL byte at byte {at:,}), not text")
        if encoding is None:
            if fmt is Format.jsonl and not wide:
                encoding = "utf-8-sig"  # JSON is UTF-8 by definition (RFC 8259)
            else:
                try:
                    encoding = detect_encoding(sample, complete)
                except BadInput as exc:
                    raise FileError(file, str(exc)) from None
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
                "(pass --encoding if the file is in another encoding)",
                line=number,
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
                raise FileError(file, f"this is {kind}") from None
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
            raise BadInput(f"--sheet: {file} has no sheet '{sheet}' (sheets: {', '.join(names)})")
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

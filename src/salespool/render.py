"""All output in one place: a rich table or a sentence for people, JSON or CSV for scripts.

Values from users (customer names, notes) are always printed as plain text,
never interpreted as rich markup.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def choose_format(as_json: bool, as_csv: bool = False) -> Format:
    """The one place the output format is chosen from a command's flags."""
    if as_json and as_csv:
        raise ValueError("--json and --csv cannot be used together")
    if as_json:
        return Format.json
    return Format.csv if as_csv else Format.table


_SCALARS = (str, int, float, bool, type(None))
_PLAIN_TYPES = frozenset(_SCALARS)  # exactly these types (not enums) are JSON as they are
# Per class, a dataclass's field names, or None for any other class: asking
# dataclasses for every one of 300,000 records is most of the time to write them.
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    try:
        return _FIELDS[cls]
    except KeyError:
        names = None
        if dataclasses.is_dataclass(cls):
            names = tuple(f.name for f in dataclasses.fields(cls))
        _FIELDS[cls] = names
        return names


def plain(value: Any) -> Any:
    """Dataclasses, datetimes, Decimals and enums as JSON-ready values."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, _SCALARS) and not isinstance(value, Enum):
        return value
    names = _field_names(type(value))
    if names is not None:
        record = {}
        for name in names:
            field_value = getattr(value, name)
            # The exact-type test spares a call per field of a plain record.
            record[name] = field_value if type(field_value) in _PLAIN_TYPES else plain(field_value)
        return record
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


_encode = json.JSONEncoder(ensure_ascii=False).encode
# List items encoded per call: large enough to amortize the call, small enough
# that the dicts of one chunk weigh little.
_ITEMS_PER_CHUNK = 1000


def _dumps(value: Any) -> str:
    return _encode(plain(value))


def json_chunks(value: Any) -> Iterator[str]:
    """`value` as one line of JSON, in pieces.

    Objects are walked and every list item is encoded on its own, so a first
    recycle of 300,000 customers is written without ever holding them all as
    dicts, or as one string (peak memory stays that of the records themselves).
    The text is what json.dumps(plain(value)) gives.
    """
    names = _field_names(type(value))
    if names is not None:
        pairs: Iterable[tuple[Any, Any]] = ((name, getattr(value, name)) for name in names)
    elif isinstance(value, dict):
        pairs = value.items()
    elif isinstance(value, list | tuple):
        yield "["
        for start in range(0, len(value), _ITEMS_PER_CHUNK):
            chunk = value[start : start + _ITEMS_PER_CHUNK]
            # json.dumps([a, b]) is "[" + dumps(a) + ", " + dumps(b) + "]".
            yield (", " if start else "") + _encode([plain(v) for v in chunk])[1:-1]
        yield "]"
        return
    else:
        yield _dumps(value)
        return
    yield "{"
    for i, (key, item) in enumerate(pairs):
        yield (", " if i else "") + _dumps(str(key)) + ": "
        yield from json_chunks(item)
    yield "}"


@dataclass(frozen=True)
class Col:
    """A table column: the key in the data, its header, and how to align it."""

    key: str
    header: str
    justify: str = "left"
    fmt: Callable[[Any], str] | None = None
    no_wrap: bool = False  # an identifier people copy (a rule key): never broken
    date_only: bool = False  # a time shown as its local date (a hire date has no useful hour)


class Output:
    """Writes one command's result in the chosen format."""

    def __init__(self, fmt: Format, tz: str | Callable[[], str], quiet: bool = False) -> None:
        self.fmt = fmt
        self._tz = tz
        self.quiet = quiet
        self.console = Console(highlight=False, soft_wrap=False, emoji=False)

    @functools.cached_property
    def zone(self) -> ZoneInfo:
        """The zone times are shown in; `tz` may be a function, asked only when needed."""
        return ZoneInfo(self._tz() if callable(self._tz) else self._tz)

    # --- structured documents -------------------------------------------------

    def json(self, data: Any) -> None:
        """One JSON document: indented for a terminal, one line when piped.

        One line makes a cron log JSON Lines, and lets json use its C encoder
        (indenting forces the pure-Python one: several times slower on 300k items).
        """
        stdout = utf8(sys.stdout)
        if stdout.isatty():
            stdout.write(json.dumps(plain(data), ensure_ascii=False, indent=2) + "\n")
            return
        write = stdout.write
        for chunk in json_chunks(data):
            write(chunk)
        write("\n")

    def csv(self, rows: Iterable[dict], keys: Sequence[str]) -> None:
        # CRLF (RFC 4180): csv quotes a field holding any line-terminator character, so
        # a note with a bare CR stays inside its cell.
        writer = csv.writer(utf8(sys.stdout), lineterminator="\r\n")
        writer.writerow(keys)
        for row in rows:
            writer.writerow([_csv_cell(row.get(k)) for k in keys])

    # --- the shapes commands produce ------------------------------------------

    def listing(
        self,
        items: Sequence[Any],
        columns: Sequence[Col],
        title: str | None = None,
        empty: str = "",
    ) -> None:
        """A list of records: every field in JSON/CSV, the chosen columns in the table."""
        if self.fmt is Format.json:
            self.json(items)  # streamed: never all of them as dicts at once
            return
        rows = [plain(i) for i in items]
        if self.fmt is Format.csv:
            keys = list(rows[0]) if rows else [c.key for c in columns]
            self.csv(rows, keys)
        elif not rows:
            self.say(empty or "nothing to show")
        else:
            self.console.print(self.table(items, columns, title))

    def record(self, item: Any, sentence: str) -> None:
        """One result: a sentence for people, the record for scripts."""
        if self.fmt is Format.json:
            self.json(item)
        elif self.fmt is Format.csv:
            row = plain(item)
            self.csv([row], list(row))
        else:
            self.say(sentence)

    def say(self, sentence: str) -> None:
        """A short sentence for people (not markup: names are printed as typed)."""
        if not self.quiet:
            self.console.print(Text(sentence))

    def table(
        self, items: Sequence[Any], columns: Sequence[Col], title: str | None = None
    ) -> Table:
        """A rich table of the given columns."""
        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
        for col in columns:
            table.add_column(col.header, justify=col.justify, overflow="fold", no_wrap=col.no_wrap)
        for item in items:
            get = item.get if isinstance(item, dict) else lambda k, i=item: getattr(i, k, None)
            table.add_row(*(Text(self.cell(get(c.key), c)) for c in columns))
        return table

    def details(self, pairs: Sequence[tuple[str, Any]], title: str | None = None) -> None:
        """One record for people: a `label  value` line per field that has a value."""
        table = Table(
            title=title, box=None, show_header=False, title_justify="left", pad_edge=False
        )
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in pairs:
            if value is not None and value != "":
                table.add_row(Text(label), Text(self.cell(value)))
        self.console.print(table)

    def section(
        self, title: str, items: Sequence[Any], columns: Sequence[Col], empty: str = "none"
    ) -> None:
        """A titled part of a longer page for people: its table, or `title: empty`."""
        if items:
            self.console.print(self.table(items, columns, title))
        else:
            self.say(f"{title}: {empty}")

    def cell(self, value: Any, col: Col | None = None) -> str:
        if col is not None and col.fmt is not None:
            return col.fmt(value)
        if value is None:
            return ""
        if isinstance(value, datetime):
            if col is not None and col.date_only:
                return self.local_date(value)
            return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        return str(value)

    def local_date(self, value: datetime) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d")


def _csv_cell(value: Any) -> Any:
    # true/false as JSON spells them: what scripts and spreadsheets test for, not Python's True.
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def utf8(stream: TextIO) -> TextIO:
    """`stream`, writing UTF-8 whatever the locale says (JSON is UTF-8, RFC 8259; CSV
    for scripts too).

    Under LANG=C or a GBK console a Chinese name would otherwise be refused, or
    written in another encoding than a JSON reader expects.
    """
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    if encoding != "utf8" and hasattr(stream, "reconfigure"):
        stream.flush()
        stream.reconfigure(encoding="utf-8")
    return stream


def forgiving(stream: TextIO) -> None:
    """Let text for people that the locale cannot encode come out as `?`, not a traceback.

    (JSON and CSV switch to UTF-8 instead: see `utf8`.)
    """
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    if encoding != "utf8" and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="replace")


# --- small charts in a table cell ---------------------------------------------------

_EIGHTHS = " ▏▎▍▌▋▊▉"
_SPARKS = "▁▂▃▄▅▆▇█"
_ASCII_SPARKS = "_.-=+*#"  # lowest to highest, each a plain character


def fancy_chars() -> bool:
    """Block characters for a terminal; plain ASCII when piped or with NO_COLOR set
    (a log, a mail, a terminal without the glyphs)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def bar(value: float, most: float, width: int, fancy: bool) -> str:
    """A horizontal bar `width` cells long at `most`; eighth blocks in a terminal, `#`
    otherwise. Anything above nothing shows at least a sliver."""
    if most <= 0 or value <= 0:
        return ""
    cells = width * value / most
    if not fancy:
        return "#" * max(1, round(cells))
    whole, part = int(cells), round((cells - int(cells)) * 8)
    if part == 8:
        whole, part = whole + 1, 0
    text = "█" * whole + (_EIGHTHS[part] if part else "")
    return text or "▏"


def sparkline(values: Sequence[float | None], fancy: bool) -> str:
    """One character per value in [0, 1], higher for more; a space where there is none."""
    marks = _SPARKS if fancy else _ASCII_SPARKS
    top = len(marks) - 1
    return "".join(" " if v is None else marks[round(min(1.0, max(0.0, v)) * top)] for v in values)


def plural(count: int, noun: str) -> str:
    """`1 customer`, `2 customers`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def error(message: str) -> None:
    """One line on stderr, printed as typed."""
    sys.stderr.write(f"error: {message}\n")


def note(message: str) -> None:
    """A message for people that is not the command's data: one line on stderr."""
    sys.stderr.write(f"note: {message}\n")

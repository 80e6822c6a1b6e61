"""All output in one place: a rich table or a sentence for people, JSON or CSV for scripts.

Values from users (customer names, notes) are always printed as plain text,
never interpreted as rich markup.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any
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


def plain(value: Any) -> Any:
    """Dataclasses, datetimes, Decimals and enums as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
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


@dataclass(frozen=True)
class Col:
    """A table column: the key in the data, its header, and how to align it."""

    key: str
    header: str
    justify: str = "left"
    fmt: Callable[[Any], str] | None = None


class Output:
    """Writes one command's result in the chosen format."""

    def __init__(self, fmt: Format, tz: str, quiet: bool = False) -> None:
        self.fmt = fmt
        self.zone = ZoneInfo(tz)
        self.quiet = quiet
        self.console = Console(highlight=False, soft_wrap=False, emoji=False)

    # --- structured documents -------------------------------------------------

    def json(self, data: Any) -> None:
        """One JSON document: indented for a terminal, one line when piped.

        One line makes a cron log JSON Lines, and lets json use its C encoder
        (indenting forces the pure-Python one: several times slower on 300k items).
        """
        indent = 2 if sys.stdout.isatty() else None
        sys.stdout.write(json.dumps(plain(data), ensure_ascii=False, indent=indent) + "\n")

    def csv(self, rows: Iterable[dict], keys: Sequence[str]) -> None:
        # CRLF (RFC 4180): csv quotes a field holding any line-terminator character, so
        # a note with a bare CR stays inside its cell.
        writer = csv.writer(sys.stdout, lineterminator="\r\n")
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
        rows = [plain(i) for i in items]
        if self.fmt is Format.json:
            self.json(rows)
        elif self.fmt is Format.csv:
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
            table.add_column(col.header, justify=col.justify, overflow="fold")
        for item in items:
            get = item.get if isinstance(item, dict) else lambda k, i=item: getattr(i, k, None)
            table.add_row(*(Text(self.cell(get(c.key), c)) for c in columns))
        return table

    def cell(self, value: Any, col: Col | None = None) -> str:
        if col is not None and col.fmt is not None:
            return col.fmt(value)
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        return str(value)

    def local_date(self, value: datetime) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def plural(count: int, noun: str) -> str:
    """`1 customer`, `2 customers`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def error(message: str) -> None:
    """One line on stderr, printed as typed."""
    sys.stderr.write(f"error: {message}\n")


def note(message: str) -> None:
    """A message for people that is not the command's data: one line on stderr."""
    sys.stderr.write(f"note: {message}\n")

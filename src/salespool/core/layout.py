"""What a file's header means: which of its columns feeds which of an import's fields.

A header cell is matched loosely (`header_key`: NFKC, any case) against the
import's column names, then its aliases (core/vocabulary.py), then the user's
own pairs (`mapping`, from `--map`), which win. A `Layout` then reads each
record's cells as the import's fields, by position.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from salespool.core.readers import UNKNOWN_KEY, FileError, Issue, RowError
from salespool.core.vocabulary import guarded
from salespool.errors import FLAG, BadInput


def header_key(text: str) -> str:
    """`External ID` -> `external_id`: header names are matched loosely (NFKC, any case)."""
    return "_".join(unicodedata.normalize("NFKC", text).strip().lower().replace("-", " ").split())


def clean(value: str | None, unquote: bool = False) -> str | None:
    """A cell as stored: trimmed, None when blank; `unquote` drops the export's ' guard."""
    if value is None:
        return None
    value = value.strip()
    if unquote and guarded(value):
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
    """Read a header: contract names (any case), aliases, then `mapping` pairs, which win.

    Two different headers naming one field (手机 and 电话) are both read, the first
    non-blank cell winning; the same header twice is refused.
    """
    wanted = {header_key(source): target for source, target in (mapping or {}).items()}
    for source, target in (mapping or {}).items():
        if target not in columns:
            raise BadInput(
                f"{FLAG} '{source}={target}': '{target}' is not a column "
                f"(use one of: {', '.join(columns)})",
                advises="map",
            )
    keys = [header_key(h) for h in header]
    for source in mapping or {}:
        if header_key(source) not in keys:
            raise BadInput(f"{FLAG} '{source}=...': {file} has no column '{source}'", advises="map")
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

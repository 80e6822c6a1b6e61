"""Normalized keys for matching customers: what two spellings of one company share."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_DIGITS = re.compile(r"[^\d+]")


def text_key(value: str | None) -> str | None:
    """NFKC (full-width to half-width), trimmed, inner spaces collapsed, case-folded."""
    if value is None:
        return None
    key = _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip().casefold()
    return key or None


def email_key(value: str | None) -> str | None:
    """An e-mail address as matched: NFKC, trimmed, lower-case."""
    key = text_key(value)
    return key.replace(" ", "") if key else None


def phone_key(value: str | None, region: str = "CN") -> str | None:
    """A phone number as matched: its digits (and a leading +) after NFKC."""
    if value is None:
        return None
    digits = _NOT_DIGITS.sub("", unicodedata.normalize("NFKC", value))
    return digits or None

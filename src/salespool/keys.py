"""Normalized keys for matching customers: what two spellings of one company share.

The stored customer columns keep what people typed, for display; these keys
(customer.name_key/phone_key/email_key) are what imports match on.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

_NOT_DIGITS = re.compile(r"[^\d+]")
# The common case, a Chinese mobile number, skips phonenumbers' parser (~40 µs a
# number): imports normalize millions of these. Same result as the parser's.
_CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")


def text_key(value: str | None) -> str | None:
    """NFKC (full-width to half-width), trimmed, inner spaces collapsed, case-folded."""
    if value is None:
        return None
    # split() breaks on exactly what the regex \s matches (str.isspace) and drops the
    # ends: the same as collapsing \s+ to one space and stripping, in one C pass.
    key = " ".join(unicodedata.normalize("NFKC", value).split()).casefold()
    return key or None


def email_key(value: str | None) -> str | None:
    """An e-mail address as matched: NFKC, trimmed, lower-case."""
    key = text_key(value)
    return key.replace(" ", "") if key else None


def phone_key(value: str | None, region: str = "CN") -> str | None:
    """A phone number as matched: E.164 (`+8613800138000`), the default country `region`.

    Only a number valid for its region gets a key (a Chinese mobile, 1[3-9] and nine
    digits, is taken as valid without asking phonenumbers). Anything else (`0`, `n/a`,
    `12345`, an extension) has none: placeholders people type into a required phone
    field would otherwise make different companies one customer. No error either way:
    the original is kept for display.
    """
    if value is None:
        return None
    if region == "CN" and len(value) == 11 and value.isascii() and value.isdigit():
        # 13800138000 as typed: what the _CN_MOBILE path below gives, without its steps.
        return "+86" + value if value[0] == "1" and value[1] in "3456789" else _phone_key(value)
    return _phone_key(value, region)


def _phone_key(value: str, region: str = "CN") -> str | None:
    """phone_key of a value the fast path does not take."""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    compact = _NOT_DIGITS.sub("", text)
    if not compact:
        return None
    if region == "CN" or compact.startswith(("+86", "0086")):
        mobile = _CN_MOBILE.match(compact)
        if mobile:
            return "+86" + mobile[1]
    return _e164(text, region)


@functools.lru_cache(maxsize=4096)
def _e164(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # is_valid_number, not is_possible_number: "possible" is only a length check,
    # which 12345 or 0000000 pass.
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

"""Money is exact: integer minor units (cents, 分) in storage, decimal strings outside."""

from __future__ import annotations

import re
from decimal import Decimal

from salespool.errors import BadInput

MINOR_PER_UNIT = 100
# The most one deal may be, in minor units: 900,000,000.00. A store's sums run in signed
# 64-bit integers (SQLite, PostgreSQL bigint); 100 million deals at the cap sum to 9e18,
# under 2**63 - 1 (9.22e18), so no report or commission total can overflow.
MAX_DEAL_MINOR = 90_000_000_000
MAX_DEAL_TEXT = "900,000,000.00"

# Digits 0-9 only, with thousands separators only in the 1,234,567.89 pattern, an optional
# yen/yuan sign, and at most two decimals: nothing else that float() or Decimal() would
# take (1e3, 1_000, ١٢, NaN) is an amount someone meant.
_AMOUNT = re.compile(
    r"[¥￥]?[ \t]*(?P<units>[0-9]+|[1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.(?P<cents>[0-9]{1,2}))?"
)
_LONGEST = 40  # far longer than any amount under the cap, so nothing huge is parsed
_EXAMPLE = "digits with an optional '.' and up to two decimals, e.g. 12000.50 or 1,234,567.89"


def parse_amount(text: str, what: str | None = None) -> int:
    """Read a positive amount (`12000.50`, `1,234,567.89`, `¥1,200`) as minor units.

    Anything else is refused with a BadInput saying why: led by `what` (e.g. "column
    'amount'") if given, else about the `amount` argument. So is an amount over
    MAX_DEAL_MINOR. Cheap enough to call once per cell of an import.
    """
    cleaned = text.strip()
    match = _AMOUNT.fullmatch(cleaned) if len(cleaned) <= _LONGEST else None
    if match is None:
        raise _refused(f"'{_shown(text)}' is not an amount ({_why_not(cleaned)})", what)
    cents = (match["cents"] or "").ljust(2, "0")
    minor = int(match["units"].replace(",", "")) * MINOR_PER_UNIT + int(cents)
    if minor <= 0:
        raise _refused(f"'{_shown(text)}' must be a positive amount", what)
    if minor > MAX_DEAL_MINOR:
        raise _refused(f"'{_shown(text)}' is over the cap of {MAX_DEAL_TEXT} for one deal", what)
    return minor


def _refused(reason: str, what: str | None) -> BadInput:
    return BadInput(f"{what}: {reason}") if what else BadInput(reason, option="amount")


def _shown(text: str, most: int = 80) -> str:
    """The text as one printable line, shortened: refusals are one line."""
    line = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return line if len(line) <= most else line[:most] + "..."


def _why_not(text: str) -> str:
    """The reason a text is not an amount, for the one-line refusal."""
    body = text.lstrip("¥￥ \t")
    if not body:
        return "it is empty"
    if len(text) > _LONGEST:
        return f"too long; one deal is at most {MAX_DEAL_TEXT}"
    if body.startswith("-"):
        return "it must be positive"
    if any(ch.isdigit() and not "0" <= ch <= "9" for ch in body):
        return "use the digits 0-9"
    if re.fullmatch(r"[0-9,]*\.[0-9]{3,}", body):
        return "more than two decimals"
    if "," in body:
        return "',' only separates thousands, as in 1,234,567.89; decimals take '.'"
    return _EXAMPLE


def to_decimal(minor: int | None) -> Decimal:
    """Minor units as an exact Decimal with two places: 1200050 -> Decimal('12000.50')."""
    return (Decimal(minor or 0) / MINOR_PER_UNIT).quantize(Decimal("0.01"))

"""Money is exact: integer minor units (cents, 分) in storage, decimal strings outside."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from salespool.errors import BadInput

MINOR_PER_UNIT = 100


def parse_amount(text: str, what: str = "--amount") -> int:
    """Read a positive amount with at most two decimals (`12000.50`, `1,200`) as minor units."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise BadInput(f"{what}: '{text}' is not a number") from exc
    if not value.is_finite() or value <= 0:
        raise BadInput(f"{what}: '{text}' must be a positive amount")
    minor = value * MINOR_PER_UNIT
    if minor != minor.to_integral_value():
        raise BadInput(f"{what}: '{text}' has more than two decimals")
    return int(minor)


def to_decimal(minor: int | None) -> Decimal:
    """Minor units as an exact Decimal with two places: 1200050 -> Decimal('12000.50')."""
    return (Decimal(minor or 0) / MINOR_PER_UNIT).quantize(Decimal("0.01"))

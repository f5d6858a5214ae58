"""Money on the wire and in storage.

Amounts are `Decimal` in code, `Decimal128` in MongoDB and strings on the wire.
Floats are refused everywhere: a float cannot represent most cents exactly.
The pricing rules (rounding to rating precision and to a currency's minor unit, proration,
discounts, tax) live in the `pricing` library (libs/pricing).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bson.decimal128 import Decimal128


class MoneyError(ValueError):
    pass


def to_decimal(value: Any) -> Decimal:
    """Parse a wire or stored amount. Floats and non-finite values are rejected."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("amounts must be decimal strings, not floats")
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not a decimal amount: {value!r}") from exc
    if not result.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return result


def to_wire(amount: Decimal) -> str:
    return format(amount, "f")


def to_storage(amount: Decimal) -> Decimal128:
    return Decimal128(amount)

"""Money rules in one place.

Amounts are `Decimal` in code, `Decimal128` in MongoDB and strings on the wire.
Floats are refused everywhere: a float cannot represent most cents exactly.
Rating keeps RATING_PLACES decimals; invoice lines round half-up to the
currency's minor unit; totals are sums of rounded lines.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bson.decimal128 import Decimal128

ROUNDING = ROUND_HALF_UP
RATING_PLACES = 6

# ISO 4217 minor units for currencies that differ from 2, plus the common 2-digit ones.
_MINOR_UNITS = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}
_TWO_DIGIT = {
    "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN",
    "CAD", "AUD", "NZD", "CNY", "INR", "BRL", "MXN", "ZAR", "TRY", "RSD", "BAM", "MKD",
    "ALL", "UAH", "ILS", "AED", "SAR", "SGD", "HKD",
}


class MoneyError(ValueError):
    pass


def minor_units(currency: str) -> int:
    code = currency.upper()
    if code in _MINOR_UNITS:
        return _MINOR_UNITS[code]
    if code in _TWO_DIGIT:
        return 2
    raise MoneyError(f"unknown ISO 4217 currency {currency!r}")


def is_currency(code: str) -> bool:
    try:
        minor_units(code)
    except MoneyError:
        return False
    return True


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


def round_rating(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-RATING_PLACES), rounding=ROUNDING)


def round_currency(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUNDING)


def to_wire(amount: Decimal) -> str:
    return format(amount, "f")


def to_storage(amount: Decimal) -> Decimal128:
    return Decimal128(amount)

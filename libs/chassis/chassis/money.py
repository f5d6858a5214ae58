"""Money on the wire and in storage.

Amounts are `Decimal` in code, `Decimal128` in MongoDB and strings on the wire.
Floats are refused everywhere: a float cannot represent most cents exactly.
The pricing rules (rounding to rating precision and to a currency's minor unit, proration,
discounts, tax) live in the `pricing` library (libs/pricing).
"""
from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Any

from bson.decimal128 import Decimal128


class MoneyError(ValueError):
    pass


def to_decimal(value: Any) -> Decimal:
    """Parse a wire or stored amount. Floats and non-finite values are rejected."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("amounts must be decimal strings, not floats")
    if isinstance(value, Decimal128):
        value = from_storage(value)
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not a decimal amount: {value!r}") from exc
    if not result.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return result


def to_wire(amount: Decimal) -> str:
    return format(amount, "f")


# Decimal128 in BID encoding (IEEE 754-2008): sign bit, 14-bit exponent biased by 6176, 113-bit coefficient.
# bson converts in pure Python through a decimal context and a loop over bits (~6 µs a value); the rating hot
# path stores about a dozen amounts per usage event, so the common case is encoded here directly. Any value
# the direct form cannot hold exactly (over 34 digits, an extreme exponent, NaN, infinity) goes through bson.
_BIAS = 6176
_MAX_COEFFICIENT = 10**34 - 1
_LOW_MASK = (1 << 64) - 1
_HIGH_COEFFICIENT_MASK = (1 << 49) - 1
_SPECIAL = 0x6000000000000000  # combination bits 11: the long-coefficient form or NaN/infinity
_WIDE = Context(prec=34)  # exact for every coefficient Decimal128 holds


class _Stored(Decimal128):
    """A Decimal128 that carries its 16 encoded octets: bson's C encoder reads `bid` of every Decimal128 it
    writes, and the base class builds them in Python each time (a third of encoding a usage record, whose
    dozen amounts come from the cache below). Equal to, and encoded as, the plain Decimal128 of the same bits;
    copies and pickles are plain Decimal128s."""

    __slots__ = ("bid",)

    def __init__(self, bits: tuple[int, int]):
        super().__init__(bits)  # type: ignore[arg-type]  # (high, low) bits: bson's own form
        self.bid = _BID(self)  # type: ignore[misc]  # shadows the base class's computing property

    def __reduce__(self) -> tuple[Any, ...]:
        return Decimal128, (self.__getstate__(),)

    def __copy__(self) -> _Stored:
        return self  # immutable

    def __deepcopy__(self, memo: Any) -> _Stored:
        return self


_BID = Decimal128.bid.fget  # type: ignore[attr-defined]


# Recently stored amounts by their exact text (1 and 1.0 differ): usage repeats few distinct values (zero,
# prices, whole units). Decimal128 is immutable, so one instance serves every document.
_STORED: dict[str, Decimal128] = {}
_STORED_MAX = 4096


def to_storage(amount: Decimal) -> Decimal128:
    """`amount` as Decimal128, bit for bit what `Decimal128(amount)` gives (trailing zeros kept)."""
    key = str(amount)
    stored = _STORED.get(key)
    if stored is not None:
        return stored
    sign, digits, exponent = amount.as_tuple()
    if type(exponent) is not int or len(digits) > 34 or not -_BIAS <= exponent <= 6111:
        return Decimal128(amount)
    coefficient = int(amount.copy_abs().scaleb(-exponent, _WIDE))
    high = (sign << 63) | ((exponent + _BIAS) << 49) | (coefficient >> 64)
    stored = _Stored((high, coefficient & _LOW_MASK))
    if len(_STORED) >= _STORED_MAX:
        _STORED.clear()
    _STORED[key] = stored
    return stored


# Recently read amounts by their bits: a charging process reads back the same few amounts (a reservation's
# granted quantity, its holds, the prices it stored) many times. Decimal is immutable, so one instance serves
# every reader. Decimal128 is not hashable: its two 64-bit halves (its slots, read without packing) are the key.
_READ: dict[tuple[int, int], Decimal] = {}
_READ_MAX = 4096
_HIGH = Decimal128._Decimal128__high.__get__  # type: ignore[attr-defined]
_LOW = Decimal128._Decimal128__low.__get__  # type: ignore[attr-defined]


def from_storage(value: Decimal128) -> Decimal:
    """The Decimal a stored Decimal128 holds, as `value.to_decimal()` gives it."""
    key = (_HIGH(value), _LOW(value))
    found = _READ.get(key)
    if found is not None:
        return found
    found = _from_bits(value)
    if len(_READ) >= _READ_MAX:
        _READ.clear()
    _READ[key] = found
    return found


def _from_bits(value: Decimal128) -> Decimal:
    high, low = _HIGH(value), _LOW(value)
    if high & _SPECIAL == _SPECIAL:
        return value.to_decimal()
    coefficient = ((high & _HIGH_COEFFICIENT_MASK) << 64) | low
    if coefficient > _MAX_COEFFICIENT:
        return value.to_decimal()
    exponent = ((high >> 49) & 0x3FFF) - _BIAS
    return Decimal(f"{'-' if high >> 63 else ''}{coefficient}E{exponent}")


_SHOWN: dict[tuple[int, int], str] = {}


def shown_from_storage(value: Decimal128) -> str:
    """A stored amount as the API shows it: `format(value.to_decimal().normalize(), "f")` ("1.50" → "1.5",
    "1E+2" → "100"), kept by its bits like `from_storage`: a usage record's answer shows a dozen amounts."""
    key = (_HIGH(value), _LOW(value))
    shown = _SHOWN.get(key)
    if shown is None:
        if len(_SHOWN) >= _READ_MAX:
            _SHOWN.clear()
        shown = _SHOWN[key] = format(from_storage(value).normalize(), "f")
    return shown

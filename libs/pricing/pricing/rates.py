"""Rate tables: finding the row that prices a usage, and the charge for a usage quantity."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from pricing.rounding import round_rating

WILDCARD = "*"
UNIT_ROUNDING = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "half_up": ROUND_HALF_UP}


def field_text(value: Any) -> str | None:
    """Field values compare as text, so a usage record's 5 matches a rate key "5"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def key_matches(key: Mapping[str, str], values: Mapping[str, Any]) -> bool:
    """Whether a rate row's key covers these field values (`*` matches any value)."""
    return all(expected == WILDCARD or field_text(values.get(name)) == expected for name, expected in key.items())


def keys_overlap(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether some field values would match both rows (the rate would be ambiguous)."""
    return all(a.get(n) == b.get(n) or WILDCARD in (a.get(n), b.get(n)) for n in set(a) | set(b))


def find_rate(rates: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The one rate row matching `values`; the catalog refuses tables whose rows overlap."""
    for rate in rates:
        if key_matches(rate["key"], values):
            return rate
    return None


def billable_units(quantity: Decimal, unit_size: Decimal, rounding: str) -> Decimal:
    """Usage in whole charging units, e.g. 61 s at unit size 60 rounding up → 2 units."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    return (quantity / unit_size).quantize(Decimal(1), rounding=UNIT_ROUNDING[rounding])


def usage_charge(quantity: Decimal, price_per_unit: Decimal, unit_size: Decimal,
                 rounding: str) -> tuple[Decimal, Decimal]:
    """(units, amount) for a usage quantity; the amount keeps rating precision."""
    units = billable_units(quantity, unit_size, rounding)
    return units, round_rating(units * price_per_unit)

"""Rate-table lookup and usage units, as catalog defines them (decision 0202).

Stand-in until the shared pure pricing library of the seams issue lands under libs/: rating may not import
catalog, and the rules must stay identical to catalog's, so this module is replaced by that library.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from chassis.money import round_rating

WILDCARD = "*"
_ROUNDING = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "half_up": ROUND_HALF_UP}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def find_rate(rates: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The one rate row whose key covers these field values (`*` matches any value)."""
    for rate in rates:
        if all(expected == WILDCARD or _text(values.get(name)) == expected for name, expected in rate["key"].items()):
            return rate
    return None


def usage_charge(quantity: Decimal, price_per_unit: Decimal, unit_size: Decimal,
                 rounding: str) -> tuple[Decimal, Decimal]:
    """(units, amount) for a usage quantity; the amount keeps rating precision."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    units = (quantity / unit_size).quantize(Decimal(1), rounding=_ROUNDING[rounding])
    return units, round_rating(units * price_per_unit)

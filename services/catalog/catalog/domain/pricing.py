"""Prices: rate-table lookup, usage charges, proration and discounts. Pure functions on Decimals."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from catalog.domain.model import WILDCARD
from chassis.money import round_rating

_ROUNDING = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "half_up": ROUND_HALF_UP}


def key_matches(key: Mapping[str, str], values: Mapping[str, Any]) -> bool:
    """Whether a rate row's key covers these field values (`*` matches any value)."""
    return all(expected == WILDCARD or field_text(values.get(name)) == expected for name, expected in key.items())


def keys_overlap(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether some field values would match both rows (the rate would be ambiguous)."""
    return all(a.get(n) == b.get(n) or WILDCARD in (a.get(n), b.get(n)) for n in set(a) | set(b))


def field_text(value: Any) -> str | None:
    """Field values compare as text, so a usage record's 5 matches a rate key "5"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def find_rate(rates: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The one rate row matching `values`; validation guarantees rows never overlap."""
    for rate in rates:
        if key_matches(rate["key"], values):
            return rate
    return None


def billable_units(quantity: Decimal, unit_size: Decimal, rounding: str) -> Decimal:
    """Usage in whole charging units, e.g. 61 s at unit size 60 rounding up → 2 units."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    return (quantity / unit_size).quantize(Decimal(1), rounding=_ROUNDING[rounding])


def usage_charge(quantity: Decimal, price_per_unit: Decimal, unit_size: Decimal,
                 rounding: str) -> tuple[Decimal, Decimal]:
    """(units, amount) for a usage quantity; the amount keeps rating precision."""
    units = billable_units(quantity, unit_size, rounding)
    return units, round_rating(units * price_per_unit)


def prorate(amount: Decimal, period_start: datetime, period_end: datetime,
            active_from: datetime, active_to: datetime, policy: str) -> Decimal:
    """The share of a recurring fee for the part of a period a product was active.

    `daily` counts whole days started (a product active for part of a day pays that day);
    `none` charges the full fee whenever the product was active at all in the period.
    """
    start, end = max(period_start, active_from), min(period_end, active_to)
    if end <= start:
        return Decimal(0)
    if policy == "none":
        return amount
    period_days = _days(period_start, period_end)
    active_days = min(_days(start, end), period_days)
    return round_rating(amount * active_days / period_days)


def _days(start: datetime, end: datetime) -> int:
    return max(1, -((start - end) // timedelta(days=1)))  # whole days started, without floats


def discount_amount(amount: Decimal, kind: str, value: Decimal) -> Decimal:
    """How much a discount takes off `amount`; never more than the amount itself."""
    if kind == "percentage":
        off = round_rating(amount * value / 100)
    else:
        off = value
    return min(off, amount) if amount > 0 else Decimal(0)


def discount_applies(discount: Mapping[str, Any], product: Mapping[str, Any]) -> bool:
    """A discount applies to the listed product codes, else to the listed product types, else to every
    chargeable product (never to another discount)."""
    if product["type"] == "discount":
        return False
    target = discount.get("applies_to") or {}
    if target.get("products"):
        return product["code"] in target["products"]
    if target.get("product_types"):
        return product["type"] in target["product_types"]
    return True

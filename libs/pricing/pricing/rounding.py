"""The one rounding policy: rating keeps RATING_PLACES decimals; a bill line rounds half-up to the
currency's minor unit; totals are sums of rounded lines (never rounded sums)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pricing.currency import minor_units

ROUNDING = ROUND_HALF_UP
RATING_PLACES = 6
_RATING_QUANTUM = Decimal(1).scaleb(-RATING_PLACES)


def round_rating(amount: Decimal) -> Decimal:
    return amount.quantize(_RATING_QUANTUM, rounding=ROUNDING)


def round_currency(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUNDING)

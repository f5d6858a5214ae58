"""Proration of recurring fees by explicit instants.

`daily` charges whole days started: a product active for part of a day pays that day. The share is
computed as the difference of two cumulative amounts measured from the period start, each rounded to
rating precision, so consecutive parts of a period split at day boundaries add up to exactly the fee.
`none` charges the whole fee whenever the product was active at all in the period.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pricing.rounding import round_rating

POLICIES = ("daily", "none")
_DAY = timedelta(days=1)


def prorate(amount: Decimal, period_start: datetime, period_end: datetime,
            active_from: datetime, active_to: datetime, policy: str) -> Decimal:
    """The share of a recurring fee for the part of [period_start, period_end) the product was active."""
    _check(policy, period_start, period_end, active_from, active_to)
    start, end = max(period_start, active_from), min(period_end, active_to)
    if end <= start:
        return Decimal(0)
    if policy == "none":
        return amount
    period_days = _days_started(period_start, period_end)
    first_day = (start - period_start) // _DAY  # the day `start` falls in is charged
    last_day = min(_days_started(period_start, end), period_days)
    return _cumulative(amount, last_day, period_days) - _cumulative(amount, first_day, period_days)


def _cumulative(amount: Decimal, days: int, period_days: int) -> Decimal:
    return round_rating(amount * days / period_days)


def _days_started(start: datetime, end: datetime) -> int:
    return max(1, -((start - end) // _DAY))  # ceiling division on timedeltas, without floats


def _check(policy: str, *instants: datetime) -> None:
    if policy not in POLICIES:
        raise ValueError(f"unknown proration policy {policy!r}")
    for instant in instants:
        if not isinstance(instant, datetime) or instant.tzinfo is None:
            raise ValueError("proration instants must be time-zone aware (UTC)")
    if instants[1] <= instants[0]:
        raise ValueError("a period must end after it starts")

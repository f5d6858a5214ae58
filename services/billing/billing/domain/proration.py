"""Proration of a recurring fee over a cycle by explicit instants.

`daily` charges whole days started; the share is the difference of two cumulative amounts measured
from the cycle start, each rounded to rating precision, so the parts of a cycle split at day
boundaries add up to exactly the fee. `none` charges the whole fee if the product was active at all.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pricing import round_rating

_DAY = timedelta(days=1)


def prorate(amount: Decimal, period_start: datetime, period_end: datetime,
            active_from: datetime, active_to: datetime, policy: str) -> Decimal:
    if period_end <= period_start:
        raise ValueError("a period must end after it starts")
    start, end = max(period_start, active_from), min(period_end, active_to)
    if end <= start:
        return Decimal(0)
    if policy == "none":
        return amount
    days = _days_started(period_start, period_end)
    first = (start - period_start) // _DAY
    last = min(_days_started(period_start, end), days)
    return round_rating(amount * last / days) - round_rating(amount * first / days)


def _days_started(start: datetime, end: datetime) -> int:
    return max(1, -((start - end) // _DAY))

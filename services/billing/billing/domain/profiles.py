"""Billing-profile rules, free of I/O: payment types, intervals and billing days."""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum

from chassis.errors import ValidationFailed


class PaymentType(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class Interval(StrEnum):
    """How often the customer is billed (the seed's "interval" / "event type")."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


def check_billing_day(interval: Interval, billing_day: int) -> None:
    """A weekly profile bills on an ISO weekday (1 = Monday .. 7 = Sunday); the others on a day of the month."""
    if interval is Interval.WEEKLY and not 1 <= billing_day <= 7:
        raise ValidationFailed("a weekly billing profile bills on a weekday",
                               {"billingDay": "must be 1 (Monday) to 7 (Sunday) for a weekly interval"})
    if not 1 <= billing_day <= 31:
        raise ValidationFailed("billing day out of range", {"billingDay": "must be between 1 and 31"})


def billing_date(year: int, month: int, billing_day: int) -> date:
    """The billing date of a month: days 29-31 fall back to the month's last day."""
    return date(year, month, min(billing_day, calendar.monthrange(year, month)[1]))


def next_billing_date(after: date, interval: Interval, billing_day: int) -> date:
    """The first billing date strictly after `after` (the seam bill runs will use)."""
    if interval is Interval.DAILY:
        return after + timedelta(days=1)
    if interval is Interval.WEEKLY:
        return after + timedelta(days=(billing_day - after.isoweekday() - 1) % 7 + 1)
    if interval is Interval.MONTHLY:
        year, month = after.year, after.month
        while True:
            candidate = billing_date(year, month, billing_day)
            if candidate > after:
                return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    # Yearly: the billing day of the profile's anniversary month is not known here, so yearly profiles
    # bill on the billing day of the same month one year on.
    candidate = billing_date(after.year, after.month, billing_day)
    if candidate > after:
        return candidate
    return billing_date(after.year + 1, after.month, billing_day)

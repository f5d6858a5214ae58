"""Billing-profile rules, free of I/O: payment types, intervals and billing days."""
from __future__ import annotations

import calendar
from datetime import date
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
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


# Payment terms: an invoice is due this many days after it is issued unless the profile says otherwise.
DEFAULT_PAYMENT_TERMS_DAYS = 14


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

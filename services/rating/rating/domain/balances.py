"""Balances, free of I/O: signs, validity and the order in which several balances of one resource are drawn.

Signs follow the seed: a negative amount is credit (free units, prepaid money) consumed towards zero; a
positive amount is what the customer was charged. A balance is drawn only while it holds credit and is valid.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from chassis.errors import ValidationFailed

ZERO = Decimal(0)


class ValidityKind(StrEnum):
    CYCLE = "cycle"  # the billing profile's current cycle (billing owns cycles: `billing.cycle_started`)
    UNTIL = "until"  # until a chosen instant
    INFINITE = "infinite"


class Direction(StrEnum):
    """How an operator creates a balance (seed): credit lowers the charge, debit increases it."""

    CREDIT = "credit"
    DEBIT = "debit"


# How several balances of one resource are drawn, first criterion first (catalog's resource setting).
CONSUMPTION_CRITERIA = ("earliestExpiry", "latestExpiry", "priority", "oldest", "newest")
DEFAULT_CONSUMPTION_ORDER = ("earliestExpiry", "priority", "oldest")


def signed(amount: Decimal, direction: Direction) -> Decimal:
    """The stored amount of a created balance: credit is negative, debit positive."""
    if amount <= 0:
        raise ValidationFailed("a balance amount must be positive; choose credit or debit for its sign",
                               {"amount": "must be greater than 0"})
    return -amount if direction is Direction.CREDIT else amount


@dataclass(frozen=True)
class Cycle:
    """A billing cycle as billing announced it; `bill_id` is null for a cycle rating derived itself."""

    start: datetime
    end: datetime
    bill_id: str | None = None


# Derived cycles by (year, month, time zone): usage without an announced cycle asks for one per event, and a
# Cycle is immutable.
_MONTHS: dict[tuple[int, int, Any], Cycle] = {}


def calendar_month(as_of: datetime) -> Cycle:
    """The cycle assumed until billing announces one: the calendar month (UTC) containing `as_of`."""
    key = (as_of.year, as_of.month, as_of.tzinfo)
    cycle = _MONTHS.get(key)
    if cycle is None:
        start = as_of.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        cycle = Cycle(start, add_months(start, 1))
        if len(_MONTHS) >= 256:
            _MONTHS.clear()
        _MONTHS[key] = cycle
    return cycle


def add_months(instant: datetime, months: int) -> datetime:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 month → 28/29 Feb)."""
    month_index = instant.month - 1 + months
    year, month = instant.year + month_index // 12, month_index % 12 + 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


def validity_end(start: datetime, unit: str | None, count: int | None) -> datetime | None:
    """When a product's validity (catalog `day|week|month|year|unlimited` x count) ends; None = never."""
    if unit in (None, "unlimited") or not count:
        return None
    if unit == "day":
        return start + timedelta(days=count)
    if unit == "week":
        return start + timedelta(weeks=count)
    if unit == "month":
        return add_months(start, count)
    if unit == "year":
        return add_months(start, 12 * count)
    raise ValueError(f"unknown validity unit {unit!r}")


@dataclass
class Balance:
    """One balance of a resource in a balance group. `amount` is signed (see module doc)."""

    id: str
    balance_group_id: str
    resource: str
    amount: Decimal
    valid_from: datetime
    valid_to: datetime | None
    created_at: datetime
    priority: int = 0
    validity: ValidityKind = ValidityKind.INFINITE

    def valid_at(self, as_of: datetime) -> bool:
        return self.valid_from <= as_of and (self.valid_to is None or as_of < self.valid_to)

    @property
    def credit(self) -> Decimal:
        """What is left to draw (never negative)."""
        return -self.amount if self.amount < 0 else ZERO


def check_consumption_order(order: Sequence[str]) -> None:
    unknown = [c for c in order if c not in CONSUMPTION_CRITERIA]
    if unknown:
        raise ValueError(f"unknown consumption criteria {unknown}")


def _criterion_key(criterion: str, balance: Balance) -> tuple[int, float]:
    # Infinite validity sorts as the latest expiry; timestamps compare as numbers so criteria can be negated.
    expiry = balance.valid_to.timestamp() if balance.valid_to is not None else None
    if criterion == "earliestExpiry":
        return (1, 0.0) if expiry is None else (0, expiry)
    if criterion == "latestExpiry":
        return (0, 0.0) if expiry is None else (1, -expiry)
    if criterion == "priority":
        return (0, balance.priority)
    if criterion == "oldest":
        return (0, balance.created_at.timestamp())
    if criterion == "newest":
        return (0, -balance.created_at.timestamp())
    raise ValueError(f"unknown consumption criterion {criterion!r}")


def in_consumption_order(balances: Iterable[Balance], order: Sequence[str]) -> list[Balance]:
    """Balances sorted by the resource's criteria, first criterion first; the id breaks remaining ties so the
    order never depends on how the balances were read."""
    balances = list(balances)
    if len(balances) < 2:  # most often one balance of a resource per group: nothing to order
        return balances
    criteria = list(order) or list(DEFAULT_CONSUMPTION_ORDER)
    return sorted(balances, key=lambda b: (*(_criterion_key(c, b) for c in criteria), b.id))


@dataclass
class Draw:
    """The result of drawing `quantity` from credit balances: what each balance gave, and what none could cover."""

    taken: list[tuple[str, Decimal]] = field(default_factory=list)
    uncovered: Decimal = ZERO

    @property
    def covered(self) -> Decimal:
        return sum((amount for _, amount in self.taken), ZERO)


def draw(balances: Iterable[Balance], quantity: Decimal, order: Sequence[str], as_of: datetime,
         held: dict[str, Decimal] | None = None) -> Draw:
    """Draw `quantity` from the valid credit balances in consumption order, never past zero.

    `held` is credit already promised elsewhere (reservations) per balance id and is not available. Pure: the
    caller applies `taken` (each amount raises that balance towards zero).
    """
    return draw_ordered(in_consumption_order(balances, order), quantity, as_of, held)


def draw_ordered(ordered: Iterable[Balance], quantity: Decimal, as_of: datetime,
                 held: dict[str, Decimal] | None = None) -> Draw:
    """`draw` from balances already in consumption order (the order does not depend on `as_of`, so a caller
    drawing many times from one set sorts it once)."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    held = held or {}
    result = Draw()
    left = quantity
    for balance in ordered:
        if left <= 0:
            break
        if not balance.valid_at(as_of):
            continue
        available = balance.credit - held.get(balance.id, ZERO)
        if available <= 0:
            continue
        take = min(available, left)
        result.taken.append((balance.id, take))
        left -= take
    result.uncovered = left
    return result


def totals(balances: Iterable[Balance], as_of: datetime) -> dict[str, Decimal]:
    """The total valid amount per resource (seed: "the total valid amount of the balance of each resource")."""
    result: dict[str, Decimal] = {}
    for balance in balances:
        if balance.valid_at(as_of):
            result[balance.resource] = result.get(balance.resource, ZERO) + balance.amount
    return dict(sorted(result.items()))

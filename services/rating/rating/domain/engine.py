"""The rating engine, free of I/O: one usage quantity → rate row → units and price → balance impacts.

Order of consumption (issue 9): free-unit balances of the product's resource first (a sharing member draws
the owner's pool first, within its cap), in the resource's consumption order; what they do not cover is
priced and drawn from the monetary credit balances (prepaid money); what is still uncovered is denied for
prepaid and charged for postpaid.

A `BalanceBook` holds the balances of one batch (or one reservation) in memory: each rating sees the draws of
the events before it, and the book's deltas are what the caller writes, once per balance.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from pricing import field_text, find_rate, round_rating, usage_charge
from rating.domain.balances import ZERO, Balance, Draw, draw_ordered, in_consumption_order
from rating.domain.usage import UsageRejected

PREPAID = "prepaid"
POSTPAID = "postpaid"
DENY = "deny"
FALLBACK = "fallback"
_PRICED_MAX = 1024


@dataclass(frozen=True)
class Tariff:
    """What rating needs of a service product at its catalog version (immutable, so cached forever)."""

    product_code: str
    product_version: int
    resource: str  # the unit resource free units are counted in (MIN, MB, ...)
    price_resource: str  # the monetary resource prices are in (EUR)
    rates: tuple[Mapping[str, Any], ...]
    keys: tuple[str, ...] = ()
    # The row each combination of the rows' key fields prices with, its unit size and price parsed: which row
    # matches depends on those fields' values only, and a tariff sees few combinations (zones, destinations).
    _priced: dict[tuple[str | None, ...], tuple[Mapping[str, Any], Decimal, Decimal] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", tuple(dict.fromkeys(name for row in self.rates for name in row["key"])))

    def priced_row(self, fields: Mapping[str, Any]) -> tuple[Mapping[str, Any], Decimal, Decimal] | None:
        """(the rate row matching `fields`, its unit size, its price per unit), or None."""
        values = tuple([field_text(fields.get(name)) for name in self._names])
        if values in self._priced:
            return self._priced[values]
        row = find_rate(self.rates, fields)
        priced = None if row is None else (row, Decimal(row["unitSize"]), Decimal(row["pricePerUnit"]))
        if len(self._priced) < _PRICED_MAX:  # values no table lists (free text) could grow it without end
            self._priced[values] = priced
        return priced


@dataclass(frozen=True)
class Share:
    """A sharing member's right to the owner's pool for one resource in the current cycle."""

    owner_group_id: str
    member_key: str  # identifies the member's per-cycle consumption counter
    cap: Decimal | None  # per member per cycle; None = no cap
    used: Decimal  # already consumed from the pool this cycle (before this batch)
    on_exhausted: str  # FALLBACK to the member's own balances, or DENY


class Impact(NamedTuple):
    """A named tuple: one or more per rated event, and a frozen dataclass's `__init__` costs several times more."""

    balance_id: str
    resource: str
    amount: Decimal  # what the balance moved towards zero (positive = credit used)


@dataclass(slots=True)
class Rating:
    units: Decimal  # charging units (quantity / unit size, rounded per the rate row)
    quantity: Decimal  # the rounded quantity in the resource's unit
    price_per_unit: Decimal
    price: Decimal  # units x price before any free units
    free_used: Decimal  # resource units covered by free-unit balances (own or shared)
    shared_used: Decimal  # of which from the sharing owner's pool
    paid_quantity: Decimal  # resource units not covered by free units, priced into `amount`
    amount: Decimal  # money of this event (after free units): drawn from monetary credit or charged
    charged: Decimal  # the postpaid part of `amount` added to the cycle's charge
    impacts: list[Impact] = field(default_factory=list)


class BalanceBook:
    """The balances a batch works on; ratings draw from it in order and it remembers every delta."""

    def __init__(self, balances: Iterable[Balance], orders: Mapping[str, Sequence[str]],
                 held: Mapping[str, Decimal] | None = None):
        self.balances: dict[str, Balance] = {}
        self._by_key: dict[tuple[str, str], list[Balance]] = defaultdict(list)
        for balance in balances:
            self.balances[balance.id] = balance
            self._by_key[(balance.balance_group_id, balance.resource)].append(balance)
        self.orders = orders
        self.held = dict(held or {})
        self.deltas: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.shared: dict[str, Decimal] = defaultdict(lambda: ZERO)  # member_key -> consumed in this book
        self.created: set[str] = set()
        # Consumption order per (group, resource), sorted once: what it sorts by never changes in a book.
        self._ordered: dict[tuple[str, str], list[Balance]] = {}

    def of(self, group_id: str, resource: str) -> list[Balance]:
        return self._by_key.get((group_id, resource), [])

    def draw(self, group_id: str, resource: str, quantity: Decimal, as_of: datetime) -> Draw:
        key = (group_id, resource)
        ordered = self._ordered.get(key)
        if ordered is None:
            ordered = self._ordered[key] = in_consumption_order(self.of(group_id, resource),
                                                                self.orders.get(resource, ()))
        return draw_ordered(ordered, quantity, as_of, self.held)

    def apply(self, rating: Rating, shares: Iterable[Share] = ()) -> None:
        for impact in rating.impacts:
            self.balances[impact.balance_id].amount += impact.amount
            self.deltas[impact.balance_id] += impact.amount
        for share in shares:
            self.shared[share.member_key] += rating.shared_used

    def add(self, balance: Balance) -> None:
        """A balance created during the batch (e.g. the cycle's charge balance); written with an upsert."""
        self.balances[balance.id] = balance
        self._by_key[(balance.balance_group_id, balance.resource)].append(balance)
        self._ordered.pop((balance.balance_group_id, balance.resource), None)
        self.created.add(balance.id)

    def charge(self, balance_id: str, amount: Decimal) -> None:
        self.balances[balance_id].amount += amount
        self.deltas[balance_id] += amount

    def total(self, group_id: str, resource: str, as_of: datetime) -> Decimal:
        return sum((b.amount for b in self.of(group_id, resource) if b.valid_at(as_of)), ZERO)


def _show(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def _impacts(result: Draw, resource: str) -> list[Impact]:
    return [Impact(balance_id, resource, amount) for balance_id, amount in result.taken]


def rate(*, fields: Mapping[str, Any], quantity: Decimal, tariff: Tariff, book: BalanceBook, group_id: str,
         payment_type: str, as_of: datetime, share: Share | None = None) -> Rating:
    """Rate one usage quantity against the book without changing it; `book.apply(result)` commits it.
    Raises UsageRejected with the reason when the event cannot be rated or prepaid credit does not cover it."""
    priced = tariff.priced_row(fields)
    if priced is None:
        shown = ", ".join(f"{k}={fields.get(k)!r}" for k in tariff.keys) or "these fields"
        raise UsageRejected(f"no rate of {tariff.product_code} v{tariff.product_version} matches {shown}", "fields")
    row, unit_size, price_per_unit = priced
    units, price = usage_charge(quantity, price_per_unit, unit_size, row["rounding"])
    rounded_quantity = units * unit_size
    impacts: list[Impact] = []
    left = rounded_quantity
    shared_used = ZERO
    if share is not None:
        allowed = left
        if share.cap is not None:
            allowed = min(left, max(ZERO, share.cap - share.used - book.shared[share.member_key]))
        pooled = book.draw(share.owner_group_id, tariff.resource, allowed, as_of)
        impacts += _impacts(pooled, tariff.resource)
        shared_used = pooled.covered
        left -= shared_used
        if left > 0 and share.on_exhausted == DENY:
            raise UsageRejected(f"the sharing group's {tariff.resource} for this member is exhausted "
                                f"({_show(left)} {tariff.resource} not covered) and its policy denies")
    if left > 0:
        own = book.draw(group_id, tariff.resource, left, as_of)
        impacts += _impacts(own, tariff.resource)
        left = own.uncovered
    free_used = rounded_quantity - left
    amount = round_rating(left / unit_size * price_per_unit) if left else ZERO
    charged = ZERO
    if amount > 0:
        money = book.draw(group_id, tariff.price_resource, amount, as_of)
        impacts += _impacts(money, tariff.price_resource)
        if money.uncovered > 0:
            if payment_type == PREPAID:
                raise UsageRejected(f"prepaid credit does not cover {_show(money.uncovered)} {tariff.price_resource}")
            charged = money.uncovered
    return Rating(units=units, quantity=rounded_quantity, price_per_unit=price_per_unit, price=price,
                  free_used=free_used, shared_used=shared_used, paid_quantity=left, amount=amount, charged=charged,
                  impacts=impacts)


@dataclass(frozen=True)
class Threshold:
    kind: str  # "percent" of the credit limit, or an absolute "amount"
    value: Decimal
    channels: tuple[str, ...] = ()

    def level(self, credit_limit: Decimal) -> Decimal:
        return round_rating(credit_limit * self.value / 100) if self.kind == "percent" else self.value


def crossed(thresholds: Iterable[Threshold], credit_limit: Decimal, before: Decimal,
            after: Decimal) -> list[tuple[Threshold, Decimal]]:
    """Thresholds the resource's total went through upwards in this change (below its level before, at or
    above after), with their absolute level. Totals rise as a customer consumes: charges grow positive and
    credit moves towards zero."""
    result = []
    for threshold in thresholds:
        level = threshold.level(credit_limit)
        if before < level <= after:
            result.append((threshold, level))
    return result

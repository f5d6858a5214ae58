"""Recurring and one-time fees of a cycle, free of I/O (decision 0010, money-path step 1).

Billing keeps its own copy of each subscription's product snapshots (one per `subscription.*`
event, with the instant of the change). At bill time the fees of a cycle are computed from that
history: a recurring fee is charged for the part of the cycle its product was active, prorated by
the change instants; a one-time fee once, on the first bill issued after it was purchased.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.domain.cycles import Cycle
from billing.domain.lines import Charge, ItemKind
from chassis.money import to_decimal
from pricing import ProductType, prorate

FEE_TYPES = {ProductType.RECURRING_FEE: ItemKind.RECURRING_FEE, ProductType.ONE_TIME_FEE: ItemKind.ONE_TIME_FEE,
             ProductType.DISCOUNT: ItemKind.DISCOUNT}


@dataclass(frozen=True)
class Snapshot:
    """The subscription's products as of `at` (a `subscription.created/changed` event); `cancelled`
    marks the end of the subscription (`subscription.cancelled`)."""

    at: datetime
    products: Sequence[Mapping[str, Any]]
    cancelled: bool = False


@dataclass(frozen=True)
class Window:
    product: Mapping[str, Any]
    start: datetime
    end: datetime | None  # None: still active


def active_windows(history: Iterable[Snapshot]) -> list[Window]:
    """Each product's active periods: a snapshot's products hold from its instant until the next one."""
    snapshots = sorted(history, key=lambda s: s.at)
    windows: list[Window] = []
    for index, snapshot in enumerate(snapshots):
        if snapshot.cancelled:
            continue
        until = snapshots[index + 1].at if index + 1 < len(snapshots) else None
        for product in snapshot.products:
            if product.get("status", "active") != "active":
                continue
            start = max(snapshot.at, _instant(product.get("validFrom")) or snapshot.at)
            valid_to = _instant(product.get("validTo"))
            end = min((t for t in (until, valid_to) if t is not None), default=None)
            if end is None or end > start:
                windows.append(Window(product, start, end))
    return _merged(windows)


def _merged(windows: list[Window]) -> list[Window]:
    """Adjacent windows of one unchanged product are one window (a change elsewhere in the
    subscription must not split a fee into two lines)."""
    merged: list[Window] = []
    for window in windows:
        last = next((w for w in reversed(merged) if w.product.get("id") == window.product.get("id")), None)
        if last is not None and last.end == window.start and _same_price(last.product, window.product):
            merged[merged.index(last)] = Window(last.product, last.start, window.end)
        else:
            merged.append(window)
    return merged


def _same_price(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("amount", "quantity", "tax", "glCode", "proration", "type")
    return all(a.get(k) == b.get(k) for k in keys)


def recurring_charges(history: Iterable[Snapshot], cycle: Cycle, balance_group_id: str | None) -> list[Charge]:
    charges = []
    for window in active_windows(history):
        product = window.product
        if product.get("type") not in (ProductType.RECURRING_FEE, ProductType.DISCOUNT):
            continue
        end = window.end or cycle.end
        amount = prorate(_price(product), cycle.start, cycle.end, window.start, end, _policy(product))
        if amount == 0:
            continue
        if product["type"] == ProductType.DISCOUNT:
            amount = -abs(amount)
        charges.append(_charge(product, amount, balance_group_id, window, cycle))
    return charges


def one_time_charges(history: Iterable[Snapshot], before: datetime, billed: set[str],
                     balance_group_id: str | None) -> list[Charge]:
    """One-time fees purchased before `before` and not yet on an issued invoice (`billed` product ids)."""
    charges: list[Charge] = []
    seen: set[str | None] = set(billed)
    for window in active_windows(history):
        product = window.product
        if product.get("type") != ProductType.ONE_TIME_FEE or product.get("id") in seen or window.start >= before:
            continue
        seen.add(product.get("id"))
        charges.append(_charge(product, _price(product), balance_group_id, window, None))
    return charges


def _charge(product: Mapping[str, Any], amount: Decimal, balance_group_id: str | None, window: Window,
            cycle: Cycle | None) -> Charge:
    period = {}
    if cycle is not None:
        period = {"from": max(window.start, cycle.start).isoformat(),
                  "to": min(window.end or cycle.end, cycle.end).isoformat()}
    return Charge(kind=FEE_TYPES[product["type"]], description=product.get("name") or product.get("code", "fee"),
                  amount=amount, tax_code=product.get("tax"), gl_code=product.get("glCode"),
                  balance_group_id=balance_group_id, resource=product.get("currency"),
                  reference=str(product.get("id")) if product.get("id") is not None else None,
                  details={"productCode": product.get("code"), **period})


def _price(product: Mapping[str, Any]) -> Decimal:
    return to_decimal(product.get("amount") or 0) * to_decimal(product.get("quantity") or 1)


def _policy(product: Mapping[str, Any]) -> str:
    value = product.get("proration")
    return "none" if value in (None, False, "none", "") else "daily"


def _instant(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))

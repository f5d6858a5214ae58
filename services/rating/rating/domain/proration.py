"""Plan transition preview: credit for the unused part of the old plan's recurring fees, charge for the new
plan's (prorated in the same period) and its one-time fees. Pure, over the shared pricing library."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from chassis.money import to_wire
from pricing import prorate, round_currency
from rating.domain.model import ProductType, current_period


def _line(product: Any, kind: str, amount: Decimal, start: datetime | None, end: datetime | None) -> dict[str, Any]:
    return {"productCode": product.code, "name": product.name, "kind": kind, "amount": amount,
            "currency": product.currency, "periodStart": start, "periodEnd": end}


def _recurring_share(product: Any, anchor: datetime, at: datetime) -> tuple[Decimal, datetime, datetime]:
    """The fee for [at, end of its current period), prorated by the product's policy."""
    interval = product.interval
    start, end = current_period(anchor, interval["unit"], interval.get("count") or 1, at)
    fee = product.value * product.quantity
    return prorate(fee, start, end, at, end, product.proration or "none"), start, end


def transition_preview(old_products: list[Any], new_products: list[Any], anchor: datetime,
                       at: datetime) -> dict[str, Any]:
    """Lines and totals per currency of moving from `old_products` to `new_products` at `at`. `anchor` is when
    the subscription's recurring periods started (its start)."""
    lines = []
    for product in old_products:
        if product.purchased and product.type is ProductType.RECURRING_FEE and product.value is not None \
                and product.interval and (product.valid_to is None or product.valid_to > at):
            share, start, end = _recurring_share(product, anchor, at)
            if share:
                lines.append(_line(product, "credit", -share, start, end))
    for product in new_products:
        if not product.purchased or product.value is None:
            continue
        if product.type is ProductType.RECURRING_FEE and product.interval:
            share, start, end = _recurring_share(product, anchor, at)
            lines.append(_line(product, "charge", share, start, end))
        elif product.type is ProductType.ONE_TIME_FEE:
            lines.append(_line(product, "charge", product.value * product.quantity, None, None))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line["currency"]] += line["amount"]
    return {
        "at": at.isoformat(),
        "lines": [{**line, "amount": to_wire(line["amount"]),
                   "periodStart": line["periodStart"] and line["periodStart"].isoformat(),
                   "periodEnd": line["periodEnd"] and line["periodEnd"].isoformat()} for line in lines],
        "totals": [{"currency": currency, "amount": to_wire(round_currency(amount, currency))}
                   for currency, amount in sorted(totals.items())],
    }

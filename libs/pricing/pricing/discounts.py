"""Discounts: how much one takes off, and which products it applies to."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pricing.products import ProductType
from pricing.rounding import round_rating

KINDS = ("percentage", "amount")


def discount_amount(amount: Decimal, kind: str, value: Decimal) -> Decimal:
    """How much a discount takes off `amount`; never more than the amount itself."""
    if kind not in KINDS:
        raise ValueError(f"unknown discount kind {kind!r}")
    off = round_rating(amount * value / 100) if kind == "percentage" else value
    return min(off, amount) if amount > 0 else Decimal(0)


def discount_applies(applies_to: Mapping[str, Any] | None, product: Mapping[str, Any]) -> bool:
    """A discount applies to the listed product codes, else to the listed product types, else to every
    chargeable product (never to another discount). `applies_to` is the wire shape
    `{"products": [...], "productTypes": [...]}`; `product` needs `code` and `type`."""
    if product["type"] == ProductType.DISCOUNT:
        return False
    target = applies_to or {}
    if target.get("products"):
        return product["code"] in target["products"]
    if target.get("productTypes"):
        return product["type"] in target["productTypes"]
    return True

"""Rating's rules for subscriptions, services, balance groups and sharing groups, free of I/O."""
from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from chassis.errors import ValidationFailed


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class ServiceStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class GroupStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CANCELLED = "cancelled"


class ProductType(StrEnum):
    SERVICE = "service"
    RECURRING_FEE = "recurring_fee"
    ONE_TIME_FEE = "one_time_fee"
    DISCOUNT = "discount"


def check_products(products: list[dict[str, Any]]) -> None:
    """A subscription buys at least one product; every purchased service product names its identifier."""
    errors: dict[str, str] = {}
    if not any(p["purchased"] for p in products):
        errors["products"] = "at least one product must be purchased"
    for i, product in enumerate(products):
        if product["purchased"] and product["type"] is ProductType.SERVICE:
            if not product.get("service_identifier"):
                errors[f"products.{i}.serviceIdentifier"] = "a purchased service product needs a service identifier"
            if not product.get("service_type"):
                errors[f"products.{i}.serviceType"] = "a service product needs its service type"
    if errors:
        raise ValidationFailed("the subscription's products are not valid", errors)


def free_unit_grants(products: list[dict[str, Any]]) -> list[tuple[str, Decimal]]:
    """The balances a new subscription is entitled to: (resource, free units x quantity) per purchased product.

    The balances issue credits these to the subscription's balance group; onboarding only keeps them in the
    product snapshot, so nothing here depends on how balances are stored.
    """
    return [(p["resource"], p["free_units"] * p["quantity"]) for p in products
            if p["purchased"] and p.get("free_units") and p.get("resource")]

"""Rating's rules for subscriptions, services, balance groups and sharing groups, free of I/O."""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from chassis.errors import ValidationFailed
from pricing.products import ProductType  # noqa: F401 -- rating's vocabulary includes it


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class ProductStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class ServiceStatus(StrEnum):
    """A suspended or terminated service rates nothing; only a terminated one frees its identifier."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class GroupStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CANCELLED = "cancelled"


class Change(StrEnum):
    """`subscription.changed`'s `change` (decision 0010)."""

    ADDON = "addon"
    PRODUCT_EDITED = "product_edited"
    PRODUCT_CANCELLED = "product_cancelled"
    PLAN_TRANSITION = "plan_transition"
    VOUCHER = "voucher"


def check_products(products: list[dict[str, Any]], prefix: str = "products") -> None:
    """What a purchase must hold: at least one purchased product; a product that is not optional is bought
    (the seed's Purchase checkbox exists only for optional products); every purchased service product names
    its service type and identifier."""
    errors: dict[str, str] = {}
    if not any(p["purchased"] for p in products):
        errors[prefix] = "at least one product must be purchased"
    for i, product in enumerate(products):
        if not product["purchased"] and not product.get("optional", True):
            errors[f"{prefix}.{i}.purchased"] = f"product {product.get('code')} is not optional: it is always bought"
        if product["purchased"] and product["type"] is ProductType.SERVICE:
            if not product.get("service_identifier"):
                errors[f"{prefix}.{i}.serviceIdentifier"] = "a purchased service product needs a service identifier"
            if not product.get("service_type"):
                errors[f"{prefix}.{i}.serviceType"] = "a service product needs its service type"
    if errors:
        raise ValidationFailed("the products are not valid", errors)


def free_units_of(product: Any) -> Decimal | None:
    """The free units a purchased service product grants: its value (the catalog's free units unless the
    operator edited it) times its quantity; None when it grants nothing."""
    if not product.purchased or ProductType(product.type) is not ProductType.SERVICE or not product.resource:
        return None
    units = product.value if product.value is not None else product.free_units
    return units * product.quantity if units else None


def advance(instant: datetime, unit: str, count: int = 1) -> datetime:
    """`instant` moved by `count` calendar units; a month from 31 January is the last day of February."""
    if unit == "day":
        return instant + timedelta(days=count)
    if unit == "week":
        return instant + timedelta(weeks=count)
    months = count * (12 if unit == "year" else 1)
    if unit not in ("month", "year"):
        raise ValueError(f"unknown period unit {unit!r}")
    month_index = instant.month - 1 + months
    year, month = instant.year + month_index // 12, month_index % 12 + 1
    return instant.replace(year=year, month=month, day=min(instant.day, calendar.monthrange(year, month)[1]))


def validity_end(valid_from: datetime, validity: dict[str, Any] | None) -> datetime | None:
    """The end of a product's validity (`{unit, count}` from the catalog or the operator); none is unlimited."""
    if not validity or validity.get("unit") in (None, "unlimited"):
        return None
    return advance(valid_from, validity["unit"], validity.get("count") or 1)


def current_period(anchor: datetime, unit: str, count: int, at: datetime) -> tuple[datetime, datetime]:
    """The period of a recurring interval (started at `anchor`) that contains `at`."""
    start, periods = anchor, 0
    while True:
        end = advance(anchor, unit, count * (periods + 1))
        if at < end:
            return start, end
        start, periods = end, periods + 1


def check_identifier(identifier: Any, field: str = "identifier") -> str:
    """The seed: a service identifier is any alphanumeric string (1-64 characters here)."""
    if not isinstance(identifier, str) or not 1 <= len(identifier) <= 64 \
            or not (identifier.isascii() and identifier.isalnum()):
        raise ValidationFailed("a service identifier is 1-64 letters or digits",
                               {field: "must be 1-64 letters or digits"})
    return identifier


SERVICE_TRANSITIONS = {
    ServiceStatus.ACTIVE: {ServiceStatus.SUSPENDED, ServiceStatus.TERMINATED},
    ServiceStatus.SUSPENDED: {ServiceStatus.ACTIVE, ServiceStatus.TERMINATED},
    ServiceStatus.TERMINATED: set(),
}


def check_service_status(current: ServiceStatus, wanted: ServiceStatus) -> None:
    if wanted != current and wanted not in SERVICE_TRANSITIONS[current]:
        raise ValidationFailed(f"a {current.value} service cannot become {wanted.value}",
                               {"status": f"a {current.value} service cannot become {wanted.value}"})

"""The purchased-product snapshot as billing reads it (decision 0010: `subscription.created` / `.changed`).

Works on any objects with the stored product's attributes, so the domain needs no storage types.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chassis.money import to_wire
from rating.domain.model import ProductType

FEES = (ProductType.RECURRING_FEE, ProductType.ONE_TIME_FEE)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _plain(value: Any) -> Any:
    """Stored dicts and lists as plain JSON values (storage may hand out its own dict and list types)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def billing_product(product: Any) -> dict[str, Any]:
    """One purchased product: what billing needs to compute its fee (amount x quantity, interval, proration,
    tax, general-ledger code, validity) and to apply a discount."""
    kind = ProductType(product.type)
    amount = product.value if kind in FEES or kind is ProductType.DISCOUNT else None
    return {
        "id": product.id, "code": product.code, "version": product.version, "name": product.name,
        "type": kind.value, "bundleCode": product.bundle_code, "promoCode": product.promo_code,
        "quantity": to_wire(product.quantity), "amount": None if amount is None else to_wire(amount),
        "currency": product.currency, "interval": _plain(product.interval) or None, "proration": product.proration,
        "tax": product.tax, "glCode": product.gl_code, "discount": _plain(product.discount) or None,
        "serviceType": product.service_type, "serviceId": product.service_id, "resource": product.resource,
        "freeUnits": None if product.free_units is None else to_wire(product.free_units),
        "validFrom": _instant(product.valid_from), "validTo": _instant(product.valid_to),
        "status": product.status.value if hasattr(product.status, "value") else product.status,
    }


def created_service(service: Any) -> dict[str, Any]:
    """A service as `subscription.created` lists it among those the subscription was created with."""
    return {"id": service.id, "serviceType": service.service_type, "identifier": service.identifier}


def subscription_event(subscription: Any, at: datetime, change: str | None = None) -> dict[str, Any]:
    """`subscription.created` (no change) or `subscription.changed` with the whole current snapshot."""
    payload: dict[str, Any] = {
        "id": subscription.id, "customerId": subscription.customer_id,
        "balanceGroupId": subscription.balance_group_id, "billingProfileId": subscription.billing_profile_id,
        "planCode": subscription.plan_code, "planVersion": subscription.plan_version,
        "status": subscription.status.value, "at": at.isoformat(),
        "products": [billing_product(p) for p in subscription.products if p.purchased],
    }
    if change is not None:
        payload["change"] = change
    return payload


def cancellation_event(subscription: Any, at: datetime) -> dict[str, Any]:
    return {"id": subscription.id, "customerId": subscription.customer_id,
            "balanceGroupId": subscription.balance_group_id, "billingProfileId": subscription.billing_profile_id,
            "at": at.isoformat()}

"""Per-customer subscription and service counters, kept from rating's events so the
list never asks rating once per row."""
from __future__ import annotations

from chassis.envelope import CloudEvent
from chassis.errors import ValidationFailed
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork
from customer.adapters.documents import CustomerDocument

COUNTED = {
    "subscription.created": ("subscription_count", 1),
    "subscription.cancelled": ("subscription_count", -1),
    "service.created": ("service_count", 1),
    "service.deleted": ("service_count", -1),
}


def count(consumer: str, event: CloudEvent) -> bool:
    """Apply one rating event to its customer's counter, once. Never below zero;
    an event for a customer that no longer exists changes nothing."""
    field, delta = COUNTED[event.type]
    customer_id = event.data.get("customerId") if isinstance(event.data, dict) else None
    if not isinstance(customer_id, int) or isinstance(customer_id, bool):
        raise ValidationFailed(f"{event.type} without an integer customerId", {"customerId": "required integer"})

    def effect(uow: UnitOfWork) -> None:
        uow.collection(CustomerDocument).update_one(
            {"_id": customer_id},
            [{"$set": {field: {"$max": [0, {"$add": [{"$ifNull": [f"${field}", 0]}, delta]}]}}}],
            session=uow.session,
        )

    return apply_once(consumer, event, effect)

"""Per-customer subscription and service counters, kept from rating's events so the
list never asks rating once per row."""
from __future__ import annotations

from chassis.envelope import CloudEvent
from chassis.errors import ValidationFailed
from customer.service_layer.unit_of_work import Transactions

COUNTED = {
    "subscription.created": ("subscription_count", 1),
    "subscription.cancelled": ("subscription_count", -1),
    "service.created": ("service_count", 1),
    "service.deleted": ("service_count", -1),
}


def count(uow: Transactions, event: CloudEvent) -> bool:
    """Apply one rating event to its customer's counters, once. Never below zero;
    an event for a customer that no longer exists changes nothing."""
    field, delta = COUNTED[event.type]
    data = event.data if isinstance(event.data, dict) else {}
    customer_id = data.get("customerId")
    if not isinstance(customer_id, int) or isinstance(customer_id, bool):
        raise ValidationFailed(f"{event.type} without an integer customerId", {"customerId": "required integer"})
    deltas = {field: delta}
    # A new subscription lists the services it was created with (decision 0405; an older event has no list,
    # its services came as service.created events): both counters move in one write.
    services = data.get("services") if event.type == "subscription.created" else None
    if services:
        deltas["service_count"] = len(services)
    return uow.count_event(customer_id, deltas, event.id)

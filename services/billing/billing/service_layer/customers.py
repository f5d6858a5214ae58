"""Billing's reactions to customer events."""
from __future__ import annotations

from typing import Any

from billing.adapters.documents import BillingCustomer
from chassis.envelope import CloudEvent
from chassis.errors import NotFound
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork


def record_customer(consumer: str, event: CloudEvent) -> bool:
    """Apply `customer.created` once; returns False for a redelivery."""
    data = event.data

    def effect(uow: UnitOfWork) -> None:
        uow.insert(BillingCustomer(id=data["id"], name=f"{data['firstName']} {data['lastName']}",
                                   email=data["email"], source_event=event.id))

    return apply_once(consumer, event, effect)


def get_customer(customer_id: int) -> dict[str, Any]:
    customer = BillingCustomer.objects(id=customer_id).first()
    if customer is None:
        raise NotFound(f"billing knows no customer {customer_id}")
    return {"id": customer.id, "name": customer.name, "email": customer.email,
            "recordedAt": customer.recorded_at.isoformat()}

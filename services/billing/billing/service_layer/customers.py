"""Billing's reactions to customer events."""
from __future__ import annotations

from typing import Any

from billing.adapters.documents import (
    Bill,
    BillingCustomer,
    BillingProfile,
    BillItem,
    HierarchyGroup,
    HierarchyMember,
    Invoice,
    SubscriptionFees,
)
from chassis.discarded import record_discarded, was_discarded
from chassis.envelope import CloudEvent
from chassis.errors import NotFound
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork

PURGED = "purged-customer"


def record_customer(consumer: str, event: CloudEvent) -> bool:
    """Apply `customer.created` once; returns False for a redelivery."""
    data = event.data

    def effect(uow: UnitOfWork) -> None:
        # Events of different types travel on different queues: `customer.purged` may overtake
        # `customer.created`. Customer numbers are never reused, so a purged one stays purged.
        if was_discarded(uow, PURGED, str(data["id"])):
            return
        uow.insert(BillingCustomer(id=data["id"], name=f"{data['firstName']} {data['lastName']}",
                                   email=data["email"], country=data.get("country"), source_event=event.id))

    return apply_once(consumer, event, effect)


def purge_customer(consumer: str, event: CloudEvent) -> bool:
    """Apply `customer.purged` once: delete everything billing holds about the customer."""
    customer_id = event.data["id"]

    def effect(uow: UnitOfWork) -> None:
        s = uow.session
        owned = [g["_id"] for g in uow.collection(HierarchyGroup).find({"owner_customer_id": customer_id}, {"_id": 1},
                                                                       session=s)]
        # Members of a group whose owner is gone have no payer left: they leave with it.
        uow.collection(HierarchyMember).delete_many(
            {"$or": [{"customer_id": customer_id}, {"group_id": {"$in": owned}}]}, session=s)
        uow.collection(HierarchyGroup).delete_many({"_id": {"$in": owned}}, session=s)
        profile_ids = [p["_id"] for p in uow.collection(BillingProfile).find({"customer_id": customer_id}, {"_id": 1},
                                                                             session=s)]
        uow.collection(BillItem).delete_many({"billing_profile_id": {"$in": profile_ids}}, session=s)
        for document in (BillingProfile, Invoice, Bill, SubscriptionFees):
            uow.collection(document).delete_many({"customer_id": customer_id}, session=s)
        uow.collection(BillingCustomer).delete_one({"_id": customer_id}, session=s)
        record_discarded(uow, PURGED, str(customer_id))

    return apply_once(consumer, event, effect)


def get_customer(customer_id: int) -> dict[str, Any]:
    customer = BillingCustomer.objects(id=customer_id).first()
    if customer is None:
        raise NotFound(f"billing knows no customer {customer_id}")
    return {"id": customer.id, "name": customer.name, "email": customer.email,
            "recordedAt": customer.recorded_at.isoformat()}

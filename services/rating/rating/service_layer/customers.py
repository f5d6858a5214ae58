"""Rating's reactions to customer events."""
from __future__ import annotations

from chassis.envelope import CloudEvent
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork
from rating.adapters.documents import BalanceGroup, Service, SharingGroup, SharingMember, Subscription


def purge_customer(consumer: str, event: CloudEvent) -> bool:
    """Apply `customer.purged` once: delete everything rating holds about the customer."""
    customer_id = event.data["id"]

    def effect(uow: UnitOfWork) -> None:
        s = uow.session
        owned = [g["_id"] for g in uow.collection(SharingGroup).find({"owner_customer_id": customer_id}, {"_id": 1},
                                                                     session=s)]
        # A group whose owner is gone shares nothing any more: its memberships go with it.
        uow.collection(SharingMember).delete_many(
            {"$or": [{"customer_id": customer_id}, {"group_id": {"$in": owned}}]}, session=s)
        uow.collection(SharingGroup).delete_many({"_id": {"$in": owned}}, session=s)
        for document in (Service, Subscription, BalanceGroup):
            uow.collection(document).delete_many({"customer_id": customer_id}, session=s)

    return apply_once(consumer, event, effect)

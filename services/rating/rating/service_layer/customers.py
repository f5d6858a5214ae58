"""Rating's reactions to customer events."""
from __future__ import annotations

from chassis.envelope import CloudEvent
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork
from rating.adapters.documents import Balance, BalanceGroup, Service, SharingGroup, SharingMember, Subscription


def purge_customer(consumer: str, event: CloudEvent) -> bool:
    """Apply `customer.purged` once: delete everything rating holds about the customer."""
    customer_id = event.data["id"]

    def effect(uow: UnitOfWork) -> None:
        s = uow.session
        owned = [g["_id"] for g in uow.collection(SharingGroup).find({"owner_customer_id": customer_id}, {"_id": 1},
                                                                     session=s)]
        # A group whose owner is gone shares nothing any more: its memberships go with it.
        members = {"$or": [{"customer_id": customer_id}, {"group_id": {"$in": owned}}]}
        member_ids = [m["_id"] for m in uow.collection(SharingMember).find(members, {"_id": 1}, session=s)]
        uow.collection("sharing_usage").delete_many({"member_id": {"$in": member_ids}}, session=s)
        uow.collection(SharingMember).delete_many(members, session=s)
        uow.collection(SharingGroup).delete_many({"_id": {"$in": owned}}, session=s)
        groups = [g["_id"] for g in uow.collection(BalanceGroup).find({"customer_id": customer_id}, {"_id": 1},
                                                                       session=s)]
        uow.collection("threshold_crossings").delete_many({"group": {"$in": groups}}, session=s)
        # Usage records, balances, reservations and known cycles carry the customer id.
        for collection in ("usage", "reservations", "billing_cycles"):
            uow.collection(collection).delete_many({"customer_id": customer_id}, session=s)
        for document in (Balance, Service, Subscription, BalanceGroup):
            uow.collection(document).delete_many({"customer_id": customer_id}, session=s)

    return apply_once(consumer, event, effect)

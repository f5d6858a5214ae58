"""Rating's reactions to customer events."""
from __future__ import annotations

from typing import Any

from chassis.clock import utc_now
from chassis.discarded import record_discarded
from chassis.envelope import CloudEvent
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork
from rating.adapters.documents import Balance, BalanceGroup, Service, SharingGroup, SharingMember, Subscription


def purge_customer(consumer: str, event: CloudEvent) -> bool:
    """Apply `customer.purged` once: delete everything rating holds about the customer."""
    customer_id = event.data["id"]

    def effect(uow: UnitOfWork) -> None:
        s = uow.session
        # Remembered, so an event about the customer that overtakes this one (a billing.cycle_started of
        # a profile an onboarding compensation discarded) stores nothing afterwards (decision 0009).
        record_discarded(uow, "customer", str(customer_id))
        owned = [g["_id"] for g in uow.collection(SharingGroup).find({"owner_customer_id": customer_id}, {"_id": 1},
                                                                     session=s)]
        # A group whose owner is gone shares nothing any more: its memberships go with it.
        members = {"$or": [{"customer_id": customer_id}, {"group_id": {"$in": owned}}]}
        memberships = list(uow.collection(SharingMember).find(members, {"group_id": 1, "customer_id": 1}, session=s))
        _publish_purged_memberships(uow, memberships)
        member_ids = [m["_id"] for m in memberships]
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


def _publish_purged_memberships(uow: UnitOfWork, memberships: list[dict[str, Any]]) -> None:
    """Each membership the purge ends is removed as far as other services know: the purged customer's own,
    and other customers' in the groups it owned (they consume their own balances from now on)."""
    groups = {m["group_id"] for m in memberships}
    owners = {g["_id"]: g["owner_customer_id"] for g in uow.collection(SharingGroup).find(
        {"_id": {"$in": list(groups)}}, {"owner_customer_id": 1}, session=uow.session)}
    at = utc_now().isoformat()
    uow.publish_many([("sharing_member.removed", {
        "id": m["_id"], "groupId": m["group_id"], "customerId": m["customer_id"],
        "ownerCustomerId": owners[m["group_id"]], "reason": "purged", "at": at}, m["_id"])
        for m in memberships if m["group_id"] in owners])

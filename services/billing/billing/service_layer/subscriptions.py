"""Billing's copy of rating's subscriptions (decision 0010): each `subscription.*` event appends the
product snapshot with the instant of the change; fees are computed from it at bill time."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.adapters.documents import SubscriptionFees
from billing.service_layer.customers import PURGED
from chassis.discarded import was_discarded
from chassis.envelope import CloudEvent
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork


def record_subscription(consumer: str, event: CloudEvent) -> bool:
    data = event.data
    cancelled = event.type == "subscription.cancelled"
    at = _instant(data.get("at") or data.get("createdAt") or event.time)

    def effect(uow: UnitOfWork) -> None:
        # Rating's events and customer.purged travel on different queues: a subscription event may arrive
        # after its customer was purged (an onboarding undone), and must not bring the subscription back.
        if was_discarded(uow, PURGED, str(data["customerId"])):
            return
        entry: dict[str, Any] = {"at": at, "event": event.id, "cancelled": cancelled, "type": event.type,
                                 "change": data.get("change")}
        if not cancelled:
            entry["products"] = [p for p in data.get("products") or []]
        update: dict[str, Any] = {"$push": {"history": entry},
                                  "$setOnInsert": {"customer_id": data["customerId"]}}
        fields = {"billing_profile_id": data.get("billingProfileId"), "balance_group_id": data.get("balanceGroupId"),
                  "plan_code": data.get("planCode")}
        present = {k: v for k, v in fields.items() if v is not None}
        if present:
            update["$set"] = present
        uow.collection(SubscriptionFees).update_one({"_id": data["id"]}, update, upsert=True, session=uow.session)

    return apply_once(consumer, event, effect)


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))

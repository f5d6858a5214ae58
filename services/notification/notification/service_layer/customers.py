"""Notification's reaction to a purged customer: its notifications and preferences go, and a late
event about it (events of other types travel on other queues) stores nothing."""
from __future__ import annotations

from chassis.discarded import record_discarded, was_discarded
from chassis.envelope import CloudEvent
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork
from notification.adapters.documents import CustomerPreferences, NotificationDocument

PURGED = "purged-customer"


def purge_customer(consumer: str, event: CloudEvent) -> bool:
    customer_id = event.data["id"]

    def effect(uow: UnitOfWork) -> None:
        uow.collection(NotificationDocument).delete_many({"customer_id": customer_id}, session=uow.session)
        uow.collection(CustomerPreferences).delete_one({"_id": customer_id}, session=uow.session)
        record_discarded(uow, PURGED, str(customer_id))

    return apply_once(consumer, event, effect)


def is_purged(uow: UnitOfWork, customer_id: int) -> bool:
    return was_discarded(uow, PURGED, str(customer_id))

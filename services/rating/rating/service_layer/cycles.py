"""Billing cycles as rating knows them: billing owns cycles and announces each with `billing.cycle_started`
(decision 0010); rating keeps the current one per billing profile for cycle-valid balances, per-cycle caps,
threshold state and late usage."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.client_session import ClientSession
from pymongo.database import Database

from chassis.envelope import CloudEvent
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork
from rating.adapters.documents import BillingCycle
from rating.domain.balances import Cycle, calendar_month

COLLECTION = BillingCycle._meta["collection"]


def current_cycle(db: Database, billing_profile_id: str | None, as_of: datetime,
                  session: ClientSession | None = None) -> Cycle:
    """The profile's cycle containing `as_of`; the calendar month until billing has announced one."""
    if billing_profile_id is not None:
        raw = db[COLLECTION].find_one({"_id": billing_profile_id}, session=session)
        if raw is not None and raw["start"] <= as_of < raw["end"]:
            return Cycle(raw["start"], raw["end"], raw.get("bill_id"))
    return calendar_month(as_of)


def cycle_from_raw(raw: dict[str, Any] | None) -> Cycle | None:
    return None if raw is None else Cycle(raw["start"], raw["end"], raw.get("bill_id"))


def on_cycle_started(consumer: str, event: CloudEvent) -> bool:
    """Remember the profile's new cycle. Cycles only move forward: a late or redelivered older announcement
    changes nothing."""
    data = event.data
    start = datetime.fromisoformat(data["cycleStart"])
    end = datetime.fromisoformat(data["cycleEnd"])

    def record(uow: UnitOfWork) -> None:
        cycles = uow.collection(COLLECTION)
        known = cycles.find_one({"_id": data["billingProfileId"]}, session=uow.session)
        if known is not None and known["start"] >= start:
            return
        cycles.replace_one({"_id": data["billingProfileId"]}, {
            "_id": data["billingProfileId"], "customer_id": data["customerId"], "bill_id": data.get("billId"),
            "start": start, "end": end, "previous_start": None if known is None else known["start"],
            "payment_type": data.get("paymentType"), "currency": data.get("currency")},
            upsert=True, session=uow.session)

    return apply_once(consumer, event, record)

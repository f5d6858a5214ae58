"""Opening cycles: the bills a profile starts with, and `billing.cycle_started` when a bill becomes active."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.adapters.documents import Bill, BillingProfile
from billing.domain.bills import BillStatus
from billing.domain.cycles import Calendar, Cycle
from billing.domain.profiles import Interval
from chassis.mongo import UnitOfWork

BILL_SEQUENCE = "bill"


def _field(profile: BillingProfile | dict[str, Any], name: str) -> Any:
    """A field of a profile, a document (a missing key: None) or a stored record."""
    return profile.get(name) if isinstance(profile, dict) else getattr(profile, name)


def calendar_of(profile: BillingProfile | dict[str, Any]) -> Calendar:
    return Calendar(Interval(_field(profile, "interval")), int(_field(profile, "billing_day")),
                    int(_field(profile, "anchor_month") or 1))


def open_first_cycle(uow: UnitOfWork, profile: BillingProfile) -> tuple[Bill, Bill]:
    calendar = calendar_of(profile)
    current = calendar.cycle_containing(profile.valid_from)
    active = new_bill(uow, profile, BillStatus.ACTIVE, current)
    inactive = new_bill(uow, profile, BillStatus.INACTIVE, calendar.next_cycle(current))
    publish_cycle_started(uow, profile, active.id, current)
    return active, inactive


def new_bill(uow: UnitOfWork, profile: BillingProfile, status: BillStatus, cycle: Cycle) -> Bill:
    bill = Bill(id=uow.next_sequence(BILL_SEQUENCE), billing_profile_id=profile.id, customer_id=profile.customer_id,
                status=status, cycle_start=cycle.start, cycle_end=cycle.end, currency=profile.resource)
    uow.insert(bill)
    return bill


def cycle_started_event(profile: BillingProfile | dict[str, Any], bill_id: int, cycle: Cycle) -> dict[str, Any]:
    payment_type = _field(profile, "payment_type")
    return {"billingProfileId": str(_field(profile, "id") if not isinstance(profile, dict) else profile["_id"]),
            "customerId": int(_field(profile, "customer_id")), "billId": bill_id,
            "cycleStart": _iso(cycle.start), "cycleEnd": _iso(cycle.end),
            "paymentType": getattr(payment_type, "value", payment_type), "currency": str(_field(profile, "resource"))}


def publish_cycle_started(uow: UnitOfWork, profile: BillingProfile, bill_id: int, cycle: Cycle) -> None:
    uow.publish("billing.cycle_started", cycle_started_event(profile, bill_id, cycle), subject=profile.id)


def _iso(at: datetime) -> str:
    return at.isoformat()

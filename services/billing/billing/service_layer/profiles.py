"""Billing-profile use cases. Wire data in, wire data out, typed errors."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from billing.adapters.documents import Bill, BillingProfile, Invoice, SubscriptionFees
from billing.domain.invoices import UNPAID
from billing.domain.profiles import check_billing_day
from billing.schemas import BillingProfileCreateSchema, BillingProfileSchema, BillSchema
from billing.service_layer import cycles
from billing.service_layer.catalog import Catalog, require_monetary
from chassis.discarded import create_once, discard
from chassis.errors import load_wire
from chassis.money import to_decimal, to_wire
from chassis.mongo import UnitOfWork, get_or_not_found, transaction
from chassis.periods import start_period

SOURCE = "billing"
KIND = "billing_profile"
_create = BillingProfileCreateSchema()
_out = BillingProfileSchema()
_bill_out = BillSchema()


def create_billing_profile(payload: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """A profile starts with its active bill (the cycle containing validFrom) and the inactive next one."""
    data = start_period(load_wire(_create, payload))
    check_billing_day(data["interval"], data["billing_day"])
    require_monetary(catalog, data["resource"])
    data["id"] = str(data["id"] or uuid.uuid4())
    data["anchor_month"] = data["valid_from"].month

    def store(uow: UnitOfWork) -> dict[str, Any]:
        # A retried create with the same id returns what the first one made (and opens no second pair of bills).
        profile = create_once(uow, BillingProfile(**data), KIND, "customer_id",
                              created=lambda made: cycles.open_first_cycle(uow, made))
        return _out.dump(profile)

    return transaction(store, source=SOURCE)


def get_billing_profile(profile_id: str) -> dict[str, Any]:
    profile = get_or_not_found(BillingProfile, profile_id, "billing profile")
    return _out.dump(profile)


def profile_view(profile_id: str) -> dict[str, Any]:
    """The seed's profile view: billing day, payment type, resource, event type, event generators,
    validity, total pending due, credit balance (payment information comes from the customer service)."""
    profile = get_or_not_found(BillingProfile, profile_id, "billing profile")
    view = _out.dump(profile)
    due = Invoice.objects(billing_profile_id=profile_id, status__in=list(UNPAID)).only("due_amount")
    view["eventType"] = view["interval"]
    view["totalPendingDue"] = to_wire(sum((to_decimal(i.due_amount or 0) for i in due), Decimal(0)))
    view["creditBalance"] = to_wire(to_decimal(profile.credit_balance or 0))
    view["eventGenerators"] = [
        {"subscriptionId": fees.id, "planCode": fees.plan_code, "balanceGroupId": fees.balance_group_id,
         "cancelled": bool(fees.history and fees.history[-1].get("cancelled"))}
        for fees in SubscriptionFees.objects(billing_profile_id=profile_id)]
    view["bills"] = {b.status.value: _bill_out.dump(b)
                     for b in Bill.objects(billing_profile_id=profile_id, status__in=["active", "inactive"])}
    return view


def list_billing_profiles(customer_id: int) -> list[dict[str, Any]]:
    return [_out.dump(p) for p in BillingProfile.objects(customer_id=customer_id).order_by("created_at")]


def delete_billing_profile(profile_id: str) -> bool:
    """Saga compensation: remove a profile created moments ago (with its empty bills). Idempotent."""

    def remove(uow: UnitOfWork) -> bool:
        uow.collection(Bill).delete_many({"billing_profile_id": profile_id, "status": {"$in": ["active", "inactive"]},
                                          "items": 0}, session=uow.session)
        return discard(uow, BillingProfile, KIND, profile_id)

    return transaction(remove, source=SOURCE)

"""Billing-profile use cases. Wire data in, wire data out, typed errors."""
from __future__ import annotations

import uuid
from typing import Any

from billing.adapters.documents import BillingProfile
from billing.domain.profiles import check_billing_day
from billing.schemas import BillingProfileCreateSchema, BillingProfileSchema
from chassis.discarded import create_once, discard
from chassis.errors import load_wire
from chassis.mongo import get_or_not_found, transaction
from chassis.periods import start_period

SOURCE = "billing"
KIND = "billing_profile"
_create = BillingProfileCreateSchema()
_out = BillingProfileSchema()


def create_billing_profile(payload: dict[str, Any]) -> dict[str, Any]:
    data = start_period(load_wire(_create, payload))
    check_billing_day(data["interval"], data["billing_day"])
    data["id"] = str(data["id"] or uuid.uuid4())
    # A retried create with the same id returns what the first one made.
    return transaction(lambda uow: _out.dump(create_once(uow, BillingProfile(**data), KIND, "customer_id")),
                       source=SOURCE)


def get_billing_profile(profile_id: str) -> dict[str, Any]:
    profile = get_or_not_found(BillingProfile, profile_id, "billing profile")
    return _out.dump(profile)


def list_billing_profiles(customer_id: int) -> list[dict[str, Any]]:
    return [_out.dump(p) for p in BillingProfile.objects(customer_id=customer_id).order_by("created_at")]


def delete_billing_profile(profile_id: str) -> bool:
    """Saga compensation: remove a profile created moments ago. Idempotent; returns whether it existed."""

    return transaction(lambda uow: discard(uow, BillingProfile, KIND, profile_id), source=SOURCE)

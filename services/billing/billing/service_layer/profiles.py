"""Billing-profile use cases. Wire data in, wire data out, typed errors."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from billing.adapters.documents import BillingProfile
from billing.domain.profiles import check_billing_day
from billing.schemas import BillingProfileCreateSchema, BillingProfileSchema
from chassis.discarded import discard, existing_or_refused
from chassis.errors import Conflict, NotFound, load_wire
from chassis.mongo import UnitOfWork, transaction
from chassis.periods import check_validity

SOURCE = "billing"
KIND = "billing_profile"
_create = BillingProfileCreateSchema()
_out = BillingProfileSchema()


def create_billing_profile(payload: dict[str, Any]) -> dict[str, Any]:
    data = load_wire(_create, payload)
    check_billing_day(data["interval"], data["billing_day"])
    data["valid_from"] = data["valid_from"] or datetime.now(UTC)
    check_validity(data["valid_from"], data["valid_to"])
    data["id"] = str(data["id"] or uuid.uuid4())

    def store(uow: UnitOfWork) -> dict[str, Any]:
        existing = existing_or_refused(uow, BillingProfile, KIND, data["id"])
        if existing is not None:
            # A retried create with the same id returns what the first one made.
            if existing.customer_id != data["customer_id"]:
                raise Conflict(f"billing profile {data['id']} belongs to another customer")
            return _out.dump(existing)
        profile = BillingProfile(**data)
        uow.insert(profile)
        return _out.dump(uow.find_one(BillingProfile, {"_id": profile.id}))

    return transaction(store, source=SOURCE)


def get_billing_profile(profile_id: str) -> dict[str, Any]:
    profile = BillingProfile.objects(id=profile_id).first()
    if profile is None:
        raise NotFound(f"billing profile {profile_id} does not exist")
    return _out.dump(profile)


def list_billing_profiles(customer_id: int) -> list[dict[str, Any]]:
    return [_out.dump(p) for p in BillingProfile.objects(customer_id=customer_id).order_by("created_at")]


def delete_billing_profile(profile_id: str) -> bool:
    """Saga compensation: remove a profile created moments ago. Idempotent; returns whether it existed."""

    return transaction(lambda uow: discard(uow, BillingProfile, KIND, profile_id), source=SOURCE)

"""Balance-group use cases (rating owns balance groups: it charges them in real time; see decision 0401)."""
from __future__ import annotations

import uuid
from typing import Any

from chassis.clock import utc_now
from chassis.discarded import create_once, discard
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.mongo import UnitOfWork, get_or_not_found, transaction
from chassis.periods import start_period
from rating.adapters.documents import BalanceGroup, Subscription
from rating.domain.model import SubscriptionStatus
from rating.schemas import BalanceGroupCreateSchema, BalanceGroupEditSchema, BalanceGroupSchema

SOURCE = "rating"
KIND = "balance_group"
_in = BalanceGroupCreateSchema()
_edit_in = BalanceGroupEditSchema()
_out = BalanceGroupSchema()


def create_balance_group(payload: dict[str, Any]) -> dict[str, Any]:
    data = start_period(load_wire(_in, payload))
    data["id"] = str(data["id"] or uuid.uuid4())
    return transaction(lambda uow: _out.dump(create_once(uow, BalanceGroup(**data), KIND, "customer_id")),
                       source=SOURCE)


def get_balance_group(group_id: str, customer_id: int | None = None) -> dict[str, Any]:
    group = get_or_not_found(BalanceGroup, group_id, "balance group")
    if customer_id is not None and group.customer_id != customer_id:
        raise NotFound(f"balance group {group_id} does not exist")
    return _out.dump(group)


def edit_balance_group(customer_id: int, group_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Rename a balance group or choose the credit profile whose thresholds rating watches after every balance
    change. `balance_group.changed` tells the stream's and the charging process's caches, which keep credit
    profiles (decision 0410): a batch that starts once they have seen it judges by the new profile."""
    data = load_wire(_edit_in, patch)
    if not data:
        raise ValidationFailed("nothing to change", {"creditProfile": "give name or creditProfile"})

    def store(uow: UnitOfWork) -> dict[str, Any]:
        group = uow.find_one(BalanceGroup, {"_id": group_id})
        if group is None or group.customer_id != customer_id:
            raise NotFound(f"balance group {group_id} does not exist")
        uow.collection(BalanceGroup).update_one({"_id": group_id}, {"$set": data}, session=uow.session)
        changed = uow.find_one(BalanceGroup, {"_id": group_id})
        uow.publish("balance_group.changed", {
            "id": changed.id, "customerId": changed.customer_id, "billingProfileId": changed.billing_profile_id,
            "name": changed.name, "creditProfile": changed.credit_profile, "at": utc_now().isoformat()},
            subject=changed.id)
        return _out.dump(changed)

    return transaction(store, source=SOURCE)


def list_balance_groups(customer_id: int) -> list[dict[str, Any]]:
    return [_out.dump(g) for g in BalanceGroup.objects(customer_id=customer_id).order_by("created_at")]


def delete_balance_group(group_id: str) -> bool:
    """Compensation (and operator removal of an unused group). Idempotent; returns whether it existed."""

    def remove(uow: UnitOfWork) -> bool:
        in_use = uow.collection(Subscription).find_one(
            {"balance_group_id": group_id, "status": SubscriptionStatus.ACTIVE.value}, session=uow.session)
        if in_use is not None:
            raise Conflict(f"balance group {group_id} is used by subscription {in_use['_id']}")
        return discard(uow, BalanceGroup, KIND, group_id)

    return transaction(remove, source=SOURCE)

"""Sharing groups (seed "Sharing"): members consume the owner's subscription resources in real time."""
from __future__ import annotations

import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from chassis.clock import utc_now
from chassis.discarded import discard, existing_or_refused
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.mongo import UnitOfWork, get_or_not_found, transaction
from chassis.periods import start_period
from rating.adapters.documents import SharingGroup, SharingMember, Subscription
from rating.domain.model import GroupStatus, SubscriptionStatus
from rating.schemas import SharingGroupCreateSchema, SharingGroupSchema, SharingJoinSchema, SharingMemberSchema

SOURCE = "rating"
MEMBER_KIND = "sharing_member"
_group_in = SharingGroupCreateSchema()
_group_out = SharingGroupSchema()
_join_in = SharingJoinSchema()
_member_out = SharingMemberSchema()


def create_sharing_group(payload: dict[str, Any]) -> dict[str, Any]:
    data = start_period(load_wire(_group_in, payload))
    data["id"] = str(data["id"] or uuid.uuid4())

    def store(uow: UnitOfWork) -> dict[str, Any]:
        subscription = uow.find_one(Subscription, {"_id": data["subscription_id"]})
        if (subscription is None or subscription.customer_id != data["owner_customer_id"]
                or subscription.status is not SubscriptionStatus.ACTIVE):
            raise ValidationFailed("a sharing group shares an active subscription of its owner",
                                   {"subscriptionId": "is not an active subscription of the owner"})
        group = SharingGroup(**data)
        uow.insert(group)
        return _group_out.dump(uow.find_one(SharingGroup, {"_id": group.id}))

    return transaction(store, source=SOURCE)


def get_sharing_group(group_id: str) -> dict[str, Any]:
    group = get_or_not_found(SharingGroup, group_id, "sharing group")
    result = _group_out.dump(group)
    result["members"] = [_member_out.dump(m) for m in SharingMember.objects(group_id=group_id)]
    return result


def join_sharing_group(payload: dict[str, Any]) -> dict[str, Any]:
    data = load_wire(_join_in, payload)
    data["id"] = str(data["id"] or uuid.uuid4())

    def store(uow: UnitOfWork) -> dict[str, Any]:
        existing = existing_or_refused(uow, SharingMember, MEMBER_KIND, data["id"])
        if existing is not None:
            return _member_out.dump(existing)
        group = uow.find_one(SharingGroup, {"_id": data["group_id"]})
        if group is None:
            raise NotFound(f"sharing group {data['group_id']} does not exist", {"groupId": "no such group"})
        if group.status is not GroupStatus.ACTIVE:
            raise Conflict(f"sharing group {group.id} is {group.status.value}", {"groupId": "group is not active"})
        if group.owner_customer_id == data["customer_id"]:
            raise ValidationFailed("the owner cannot be a member of its own group", {"customerId": "is the owner"})
        now = utc_now()
        member = SharingMember(id=data["id"], group_id=group.id, customer_id=data["customer_id"],
                               valid_from=max(now, group.valid_from), valid_to=group.valid_to, joined_at=now)
        try:
            uow.insert(member)
        except DuplicateKeyError as exc:
            raise Conflict(f"customer {data['customer_id']} is already a member of sharing group {group.id}",
                           {"customerId": "already a member"}) from exc
        return _member_out.dump(uow.find_one(SharingMember, {"_id": member.id}))

    return transaction(store, source=SOURCE)


def leave_sharing_group(member_id: str) -> bool:
    """Remove a membership (also the saga compensation). Idempotent; returns whether it existed."""
    return transaction(lambda uow: discard(uow, SharingMember, MEMBER_KIND, member_id), source=SOURCE)

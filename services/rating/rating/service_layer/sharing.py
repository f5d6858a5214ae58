"""Sharing groups (seed "Sharing"): members consume the owner's subscription resources in real time.

Every change commits with its event on `rating.events` (`sharing_group.created|changed|cancelled`,
`sharing_member.joined|changed|removed`; contracts/events/), so integrators follow groups and memberships
without polling.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from chassis.clock import utc_now
from chassis.discarded import discard, existing_or_refused
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.mongo import UnitOfWork, get_or_not_found, transaction
from chassis.periods import check_validity, start_period
from rating.adapters.documents import SharingGroup, SharingMember, Subscription
from rating.domain.model import GroupStatus, SubscriptionStatus
from rating.schemas import (
    PeriodEditSchema,
    SharingGroupCreateSchema,
    SharingGroupSchema,
    SharingJoinSchema,
    SharingMemberSchema,
)

SOURCE = "rating"
MEMBER_KIND = "sharing_member"
_group_in = SharingGroupCreateSchema()
_group_out = SharingGroupSchema()
_join_in = SharingJoinSchema()
_member_out = SharingMemberSchema()
_period_in = PeriodEditSchema()


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


def _publish_group(uow: UnitOfWork, event_type: str, group: SharingGroup, at: datetime) -> None:
    uow.publish(event_type, {
        "id": group.id, "name": group.name, "ownerCustomerId": group.owner_customer_id,
        "subscriptionId": group.subscription_id, "policy": group.policy, "status": group.status.value,
        "validFrom": _iso(group.valid_from), "validTo": _iso(group.valid_to), "at": at.isoformat()}, subject=group.id)


def _owner_of(uow: UnitOfWork, group_id: str) -> int:
    group = uow.find_one(SharingGroup, {"_id": group_id})
    # A membership never outlives its group: the owner's purge removes both in one transaction.
    assert group is not None, f"membership of a missing sharing group {group_id}"
    return group.owner_customer_id


def _publish_member(uow: UnitOfWork, event_type: str, member: SharingMember, owner_customer_id: int,
                    at: datetime) -> None:
    uow.publish(event_type, {
        "id": member.id, "groupId": member.group_id, "customerId": member.customer_id,
        "ownerCustomerId": owner_customer_id, "status": member.status.value, "validFrom": _iso(member.valid_from),
        "validTo": _iso(member.valid_to), "at": at.isoformat()}, subject=member.id)


def _publish_removed(uow: UnitOfWork, member: SharingMember, reason: str) -> None:
    uow.publish("sharing_member.removed", {
        "id": member.id, "groupId": member.group_id, "customerId": member.customer_id,
        "ownerCustomerId": _owner_of(uow, member.group_id), "reason": reason, "at": utc_now().isoformat()},
        subject=member.id)


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
        stored = uow.find_one(SharingGroup, {"_id": group.id})
        _publish_group(uow, "sharing_group.created", stored, stored.created_at)
        return _group_out.dump(stored)

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
        stored = uow.find_one(SharingMember, {"_id": member.id})
        _publish_member(uow, "sharing_member.joined", stored, group.owner_customer_id, now)
        return _member_out.dump(stored)

    return transaction(store, source=SOURCE)


def leave_sharing_group(member_id: str) -> bool:
    """Remove a membership (also the saga compensation). Idempotent; returns whether it existed."""

    def remove(uow: UnitOfWork) -> bool:
        member = uow.find_one(SharingMember, {"_id": member_id})
        if member is not None:
            _publish_removed(uow, member, "discarded")
        return discard(uow, SharingMember, MEMBER_KIND, member_id)

    return transaction(remove, source=SOURCE)


def list_sharing_groups(owner_customer_ids: list[int] | None = None,
                        member_customer_id: int | None = None) -> list[dict[str, Any]]:
    """Groups owned by any of `owner_customer_ids` (the member's search by the owner's full name), or the
    groups a customer is a member of; each with its members."""
    query: dict[str, Any] = {}
    if owner_customer_ids is not None:
        query["owner_customer_id__in"] = owner_customer_ids
    if member_customer_id is not None:
        query["id__in"] = [m.group_id for m in SharingMember.objects(customer_id=member_customer_id)]
    groups = list(SharingGroup.objects(**query).order_by("created_at"))
    members: dict[str, list[SharingMember]] = {}
    for member in SharingMember.objects(group_id__in=[g.id for g in groups]).order_by("joined_at"):
        members.setdefault(member.group_id, []).append(member)
    return [{**_group_out.dump(g), "members": [_member_out.dump(m) for m in members.get(g.id, [])]} for g in groups]


def _edit(document: type, entity_id: str, owner_field: str, customer_id: int, patch: dict[str, Any],
          what: str, published: Any) -> dict[str, Any]:
    """Edit sharing (seed): status and validity, by the owner (group) or the member (membership);
    `published(uow, stored, at)` records the change's event in the same transaction."""
    data = load_wire(_period_in, patch)
    if not data:
        raise ValidationFailed("nothing to change", {"status": "give status or validity"})

    def store(uow: UnitOfWork) -> Any:
        entity = uow.find_one(document, {"_id": entity_id})
        if entity is None or getattr(entity, owner_field) != customer_id:
            raise NotFound(f"{what} {entity_id} does not exist")
        if entity.status is GroupStatus.CANCELLED:
            raise Conflict(f"{what} {entity_id} is cancelled", {"status": "a cancelled group is final"})
        for name, value in data.items():
            setattr(entity, name, value)
        check_validity(entity.valid_from, entity.valid_to)
        uow.replace(entity)
        stored = uow.find_one(document, {"_id": entity_id})
        published(uow, stored, utc_now())
        return stored

    return transaction(store, source=SOURCE)


def edit_sharing_group(owner_customer_id: int, group_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    return _group_out.dump(_edit(
        SharingGroup, group_id, "owner_customer_id", owner_customer_id, patch, "sharing group",
        lambda uow, group, at: _publish_group(uow, "sharing_group.changed", group, at)))


def edit_membership(customer_id: int, member_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    return _member_out.dump(_edit(
        SharingMember, member_id, "customer_id", customer_id, patch, "membership",
        lambda uow, member, at: _publish_member(uow, "sharing_member.changed", member,
                                                _owner_of(uow, member.group_id), at)))


def cancel_sharing_group(owner_customer_id: int, group_id: str) -> dict[str, Any]:
    """The owner ends the group: from now its members consume their own balances only."""

    def store(uow: UnitOfWork) -> Any:
        group = uow.find_one(SharingGroup, {"_id": group_id})
        if group is None or group.owner_customer_id != owner_customer_id:
            raise NotFound(f"sharing group {group_id} does not exist")
        if group.status is GroupStatus.CANCELLED:
            return group  # already cancelled: nothing changes, nothing is published again
        now = utc_now()
        uow.collection(SharingGroup).update_one({"_id": group_id}, {"$set": {
            "status": GroupStatus.CANCELLED.value, "cancelled_at": now,
            "valid_to": min(group.valid_to or now, now)}}, session=uow.session)
        cancelled = uow.find_one(SharingGroup, {"_id": group_id})
        _publish_group(uow, "sharing_group.cancelled", cancelled, cancelled.cancelled_at)
        return cancelled

    return _group_out.dump(transaction(store, source=SOURCE))


def remove_membership(customer_id: int, member_id: str) -> bool:
    """The member leaves the group (seed: Remove from sharing)."""

    def remove(uow: UnitOfWork) -> bool:
        member = uow.find_one(SharingMember, {"_id": member_id})
        if member is None or member.customer_id != customer_id:
            raise NotFound(f"membership {member_id} does not exist")
        _publish_removed(uow, member, "removed")
        return uow.collection(SharingMember).delete_one({"_id": member_id}, session=uow.session).deleted_count == 1

    return transaction(remove, source=SOURCE)

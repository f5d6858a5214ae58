"""Hierarchy groups and their members (seed "Hierarchy"). Onboarding joins an existing group."""
from __future__ import annotations

import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from billing.adapters.documents import BillingProfile, HierarchyGroup, HierarchyMember
from billing.domain.hierarchy import GroupStatus
from billing.schemas import HierarchyGroupCreateSchema, HierarchyGroupSchema, HierarchyJoinSchema, HierarchyMemberSchema
from chassis.clock import utc_now
from chassis.discarded import discard, existing_or_refused
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.mongo import UnitOfWork, get_or_not_found, transaction
from chassis.periods import check_validity, start_period

SOURCE = "billing"
MEMBER_KIND = "hierarchy_member"
_group_in = HierarchyGroupCreateSchema()
_group_out = HierarchyGroupSchema()
_join_in = HierarchyJoinSchema()
_member_out = HierarchyMemberSchema()


def create_hierarchy_group(payload: dict[str, Any]) -> dict[str, Any]:
    data = start_period(load_wire(_group_in, payload))
    data["id"] = str(data["id"] or uuid.uuid4())

    def store(uow: UnitOfWork) -> dict[str, Any]:
        profile = uow.find_one(BillingProfile, {"_id": data["billing_profile_id"]})
        if profile is None or profile.customer_id != data["owner_customer_id"]:
            # The owner pays the members' invoices, so the group needs one of the owner's own profiles.
            raise ValidationFailed("the group needs a billing profile of its owner",
                                   {"billingProfileId": "is not a billing profile of the owner"})
        group = HierarchyGroup(**data)
        uow.insert(group)
        return _group_out.dump(uow.find_one(HierarchyGroup, {"_id": group.id}))

    return transaction(store, source=SOURCE)


def join_hierarchy_group(payload: dict[str, Any]) -> dict[str, Any]:
    data = load_wire(_join_in, payload)
    data["id"] = str(data["id"] or uuid.uuid4())

    def store(uow: UnitOfWork) -> dict[str, Any]:
        existing = existing_or_refused(uow, HierarchyMember, MEMBER_KIND, data["id"])
        if existing is not None:
            return _member_out.dump(existing)
        group = uow.find_one(HierarchyGroup, {"_id": data["group_id"]})
        if group is None:
            raise NotFound(f"hierarchy group {data['group_id']} does not exist", {"groupId": "no such group"})
        if group.status is not GroupStatus.ACTIVE:
            raise Conflict(f"hierarchy group {group.id} is {group.status.value}", {"groupId": "group is not active"})
        if group.owner_customer_id == data["customer_id"]:
            raise ValidationFailed("the owner cannot be a member of its own group", {"customerId": "is the owner"})
        now = utc_now()
        member = HierarchyMember(id=data["id"], group_id=group.id, customer_id=data["customer_id"],
                                 valid_from=data["valid_from"] or max(now, group.valid_from),
                                 valid_to=data["valid_to"] or group.valid_to, joined_at=now)
        check_validity(member.valid_from, member.valid_to)
        try:
            uow.insert(member)
        except DuplicateKeyError as exc:
            raise Conflict(f"customer {data['customer_id']} already belongs to a hierarchy group",
                           {"customerId": "already a member of a hierarchy group"}) from exc
        return _member_out.dump(uow.find_one(HierarchyMember, {"_id": member.id}))

    return transaction(store, source=SOURCE)


def leave_hierarchy_group(member_id: str) -> bool:
    """Remove a membership (also the saga compensation). Idempotent; returns whether it existed."""

    return transaction(lambda uow: discard(uow, HierarchyMember, MEMBER_KIND, member_id), source=SOURCE)


def get_hierarchy_group(group_id: str) -> dict[str, Any]:
    group = get_or_not_found(HierarchyGroup, group_id, "hierarchy group")
    result = _group_out.dump(group)
    result["members"] = [_member_out.dump(m) for m in HierarchyMember.objects(group_id=group_id)]
    return result

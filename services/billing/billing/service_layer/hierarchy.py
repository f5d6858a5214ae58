"""Hierarchy groups and their members (seed "Hierarchy"): a member's invoice total moves to the
owner's active bill when the member is billed, and the owner becomes payment-responsible."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pymongo.errors import DuplicateKeyError

from billing.adapters.documents import Bill, BillingCustomer, BillingProfile, BillItem, HierarchyGroup, HierarchyMember
from billing.domain.hierarchy import GroupStatus, check_no_cycle
from billing.domain.lines import ItemKind
from billing.schemas import (
    HierarchyGroupCreateSchema,
    HierarchyGroupPatchSchema,
    HierarchyGroupSchema,
    HierarchyJoinSchema,
    HierarchyMemberSchema,
)
from chassis.clock import utc_now
from chassis.discarded import discard, existing_or_refused
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.money import to_storage
from chassis.mongo import UnitOfWork, get_or_not_found, transaction
from chassis.periods import check_validity, start_period

SOURCE = "billing"
MEMBER_KIND = "hierarchy_member"
HIERARCHY_LOCK = "hierarchy"  # joins are serialised so two joins cannot close a cycle together
_group_in = HierarchyGroupCreateSchema()
_group_out = HierarchyGroupSchema()
_group_patch = HierarchyGroupPatchSchema()
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


def update_hierarchy_group(group_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Edit status (active, inactive) and validity (owner)."""
    return _change_group(group_id, load_wire(_group_patch, patch))


def _change_group(group_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Cancelling is final: a cancelled group takes no members and transfers nothing."""

    def check(group: HierarchyGroup) -> None:
        if group.status is GroupStatus.CANCELLED:
            raise Conflict(f"hierarchy group {group_id} is cancelled", {"status": "a cancelled group cannot change"})

    return _edit_period(HierarchyGroup, group_id, "hierarchy group", data, _group_out, check)


def _edit_period(document: Any, entity_id: str, what: str, data: dict[str, Any], out: Any,
                 check: Any = None) -> dict[str, Any]:
    """Change status and validity of a group or a membership (`data` loaded), validity checked."""

    def store(uow: UnitOfWork) -> dict[str, Any]:
        entity = uow.find_one(document, {"_id": entity_id})
        if entity is None:
            raise NotFound(f"{what} {entity_id} does not exist")
        if check is not None:
            check(entity)
        for key, value in data.items():
            setattr(entity, key, value)
        check_validity(entity.valid_from, entity.valid_to)
        uow.replace(entity)
        return dict(out.dump(entity))

    return transaction(store, source=SOURCE)


def cancel_hierarchy_group(group_id: str) -> dict[str, Any]:
    """Cancel (owner). Cancelling again changes nothing."""
    if get_or_not_found(HierarchyGroup, group_id, "hierarchy group").status is GroupStatus.CANCELLED:
        return get_hierarchy_group(group_id)
    # Not through the patch shape: cancelling has its own operation, the patch only activates or deactivates.
    return _change_group(group_id, {"status": GroupStatus.CANCELLED})


def find_hierarchy_groups(owner_name: str | None = None, owner_customer_id: int | None = None,
                          member_customer_id: int | None = None) -> list[dict[str, Any]]:
    """Members join by searching the owner by full name, then picking the group; the details page
    shows the groups a customer owns (`owner_customer_id`) and the one it belongs to (`member_customer_id`).
    Each group comes with its members."""
    query: dict[str, Any] = {}
    if owner_customer_id is not None:
        query["owner_customer_id"] = owner_customer_id
    if owner_name:
        owners = [c.id for c in BillingCustomer.objects(name__icontains=owner_name.strip()).only("id").limit(200)]
        query["owner_customer_id__in"] = owners
    if member_customer_id is not None:
        query["id__in"] = [m.group_id for m in HierarchyMember.objects(customer_id=member_customer_id).only("group_id")]
    groups = list(HierarchyGroup.objects(**query).order_by("name").limit(200))
    members: dict[str, list[dict[str, Any]]] = {g.id: [] for g in groups}
    for member in HierarchyMember.objects(group_id__in=list(members)):
        members[member.group_id].append(_member_out.dump(member))
    return [{**_group_out.dump(g), "ownerName": _name(g.owner_customer_id), "members": members[g.id]} for g in groups]


def _name(customer_id: int) -> str | None:
    customer = BillingCustomer.objects(id=customer_id).only("name").first()
    return customer.name if customer else None


def join_hierarchy_group(payload: dict[str, Any]) -> dict[str, Any]:
    data = load_wire(_join_in, payload)
    data["id"] = str(data["id"] or uuid.uuid4())

    def store(uow: UnitOfWork) -> dict[str, Any]:
        existing = existing_or_refused(uow, HierarchyMember, MEMBER_KIND, data["id"])
        if existing is not None:
            return _member_out.dump(existing)
        uow.lock(HIERARCHY_LOCK)
        group = uow.find_one(HierarchyGroup, {"_id": data["group_id"]})
        if group is None:
            raise NotFound(f"hierarchy group {data['group_id']} does not exist", {"groupId": "no such group"})
        if group.status is not GroupStatus.ACTIVE:
            raise Conflict(f"hierarchy group {group.id} is {group.status.value}", {"groupId": "group is not active"})
        if group.owner_customer_id == data["customer_id"]:
            raise ValidationFailed("the owner cannot be a member of its own group", {"customerId": "is the owner"})
        check_no_cycle(data["customer_id"], group.owner_customer_id, owner_map(uow))
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


def update_membership(member_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """A member edits its own status and validity."""
    return _edit_period(HierarchyMember, member_id, "hierarchy member", load_wire(_group_patch, patch), _member_out)


def owner_map(uow: UnitOfWork | None = None) -> dict[int, int]:
    """member customer -> owner customer, over memberships of groups that are not cancelled."""
    if uow is not None:
        groups = {g["_id"]: g["owner_customer_id"] for g in uow.collection(HierarchyGroup).find(
            {"status": {"$ne": GroupStatus.CANCELLED.value}}, {"owner_customer_id": 1}, session=uow.session)}
        members = uow.collection(HierarchyMember).find({}, {"customer_id": 1, "group_id": 1}, session=uow.session)
    else:
        db = HierarchyGroup._get_db()
        groups = {g["_id"]: g["owner_customer_id"] for g in db.hierarchy_groups.find(
            {"status": {"$ne": GroupStatus.CANCELLED.value}}, {"owner_customer_id": 1})}
        members = db.hierarchy_members.find({}, {"customer_id": 1, "group_id": 1})
    return {m["customer_id"]: groups[m["group_id"]] for m in members if m["group_id"] in groups}


def leave_hierarchy_group(member_id: str) -> bool:
    """Remove a membership (also the saga compensation). Idempotent; returns whether it existed."""

    return transaction(lambda uow: discard(uow, HierarchyMember, MEMBER_KIND, member_id), source=SOURCE)


def get_hierarchy_group(group_id: str) -> dict[str, Any]:
    group = get_or_not_found(HierarchyGroup, group_id, "hierarchy group")
    result = _group_out.dump(group)
    result["ownerName"] = _name(group.owner_customer_id)
    result["members"] = [_member_out.dump(m) for m in HierarchyMember.objects(group_id=group_id)]
    return result


# -- at billing time ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Payer:
    """Who pays a member's invoice: the owner's billing profile and its active bill."""

    group_id: str
    billing_profile_id: str
    bill_id: int
    currency: str

    def wire(self) -> dict[str, Any]:
        return {"groupId": self.group_id, "billingProfileId": self.billing_profile_id, "billId": self.bill_id}


def _active_at(doc: dict[str, Any], at: datetime) -> bool:
    return (doc.get("status") == GroupStatus.ACTIVE.value and doc["valid_from"] <= at
            and (doc.get("valid_to") is None or at < doc["valid_to"]))


def payers(uow: UnitOfWork, customer_ids: list[int], at: datetime) -> dict[int, Payer]:
    """The payer of each customer that is an active member of an active group at `at`."""
    s = uow.session
    members = [m for m in uow.collection(HierarchyMember).find({"customer_id": {"$in": customer_ids}}, session=s)
               if _active_at(m, at)]
    if not members:
        return {}
    groups = {g["_id"]: g for g in uow.collection(HierarchyGroup).find(
        {"_id": {"$in": [m["group_id"] for m in members]}}, session=s) if _active_at(g, at)}
    profile_ids = [g["billing_profile_id"] for g in groups.values()]
    bills = {b["billing_profile_id"]: b for b in uow.collection(Bill).find(
        {"billing_profile_id": {"$in": profile_ids}, "status": "active"}, session=s)}
    found = {}
    for member in members:
        group = groups.get(member["group_id"])
        bill = bills.get(group["billing_profile_id"]) if group else None
        if group is not None and bill is not None:
            found[member["customer_id"]] = Payer(group["_id"], group["billing_profile_id"], bill["_id"],
                                                 bill["currency"])
    return found


def transfer_to_owner(uow: UnitOfWork, payer: Payer, issue: Any, member_profile: dict[str, Any], at: datetime
                      ) -> None:
    """The member invoice's total becomes an item of the owner's active bill that references it."""
    total: Decimal = issue.totals.total
    uow.collection(BillItem).insert_one({
        "_id": f"transfer:{issue.invoice_id}", "bill_id": payer.bill_id, "billing_profile_id": payer.billing_profile_id,
        "kind": ItemKind.HIERARCHY_TRANSFER.value,
        "description": f"Invoice {issue.number} of customer {member_profile['customer_id']}",
        "amount": to_storage(total), "currency": payer.currency, "reference": issue.invoice_id, "events": 0,
        "at": at, "created_at": utc_now()}, session=uow.session)
    uow.collection(Bill).update_one({"_id": payer.bill_id}, {"$inc": {"charged": to_storage(total), "items": 1}},
                                    session=uow.session)

"""Balance use cases: grant (inside a caller's unit of work), create, adjust, list with totals per resource.

`grant_balance` is the one way balances come into being: subscriptions grant free units through it inside
their own transaction, the operator's "create a balance" goes through it too.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from chassis.clock import utc_now
from chassis.errors import NotFound, ValidationFailed, load_wire
from chassis.money import to_decimal, to_storage
from chassis.mongo import UnitOfWork, database, transaction
from rating.adapters.documents import Balance, BalanceGroup
from rating.balance_schemas import BalanceAdjustSchema, BalanceCreateSchema, BalanceSchema
from rating.domain import balances as rules
from rating.domain.balances import ValidityKind
from rating.service_layer.cycles import current_cycle

SOURCE = "rating"
_create_in = BalanceCreateSchema()
_adjust_in = BalanceAdjustSchema()
_out = BalanceSchema()

# The catalog's view of a resource (`kind`, `currency`, `consumptionOrder`), or None when it does not exist.
ResourceLookup = Callable[[str], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Grant:
    """A balance to add to a group. `amount` is signed as stored: negative = credit, positive = charge."""

    balance_group_id: str
    resource: str
    amount: Decimal
    validity: ValidityKind
    valid_from: datetime
    valid_to: datetime | None = None
    priority: int = 0
    source: str = "manual"
    bill_item: str | None = None
    id: str | None = None


def free_units_grant(balance_group_id: str, resource: str, units: Decimal, valid_from: datetime,
                     validity_unit: str | None, validity_count: int | None, source: str,
                     grant_id: str | None = None) -> Grant:
    """The credit a purchased product's free units give, valid for the product's validity."""
    valid_to = rules.validity_end(valid_from, validity_unit, validity_count)
    return Grant(balance_group_id=balance_group_id, resource=resource, amount=-units,
                 validity=ValidityKind.INFINITE if valid_to is None else ValidityKind.UNTIL,
                 valid_from=valid_from, valid_to=valid_to, source=source, id=grant_id)


def grant_balance(uow: UnitOfWork, grant: Grant) -> dict[str, Any]:
    """Store a balance in the caller's transaction; idempotent on `grant.id`. Returns its wire form."""
    balances = uow.collection(Balance)
    if grant.id is not None:
        existing = balances.find_one({"_id": grant.id}, session=uow.session)
        if existing is not None:
            return _out.dump(Balance._from_son(existing))
    group = uow.find_one(BalanceGroup, {"_id": grant.balance_group_id})
    if group is None:
        raise ValidationFailed("the balance needs an existing balance group",
                               {"balanceGroupId": "is not a balance group"})
    balance = new_balance(uow, group, grant)
    uow.insert(balance)
    return _out.dump(balance)


def new_balance(uow: UnitOfWork, group: BalanceGroup, grant: Grant) -> Balance:
    """The balance `grant` adds to `group` (not stored yet): its validity resolved, refused when never valid."""
    valid_to = grant.valid_to
    if grant.validity is ValidityKind.CYCLE:
        valid_to = current_cycle(uow.db, group.billing_profile_id, grant.valid_from, uow.session).end
    elif grant.validity is ValidityKind.INFINITE:
        valid_to = None
    if valid_to is not None and valid_to <= grant.valid_from:
        raise ValidationFailed("the balance would never be valid", {"validity.validTo": "must be in the future"})
    return Balance(
        id=grant.id or str(uuid.uuid4()), balance_group_id=group.id, customer_id=group.customer_id,
        billing_profile_id=group.billing_profile_id, resource=grant.resource, amount=grant.amount,
        initial=grant.amount, validity=grant.validity, valid_from=grant.valid_from, valid_to=valid_to,
        priority=grant.priority, source=grant.source, bill_item=grant.bill_item, created_at=utc_now())


def create_balance(payload: dict[str, Any], resources: ResourceLookup) -> dict[str, Any]:
    """The operator's "create a new balance": resource, amount, credit or debit, validity."""
    data = load_wire(_create_in, payload)
    if resources(data["resource"]) is None:
        raise ValidationFailed("unknown resource", {"resource": f"{data['resource']!r} is not a catalog resource"})
    amount = rules.signed(data["amount"], data["direction"])
    grant = Grant(balance_group_id=data["balance_group_id"], resource=data["resource"], amount=amount,
                  validity=data["validity"]["kind"], valid_from=utc_now(), valid_to=data["validity"]["valid_to"],
                  priority=data["priority"], source="manual", bill_item=data["bill_item"],
                  id=str(data["id"] or uuid.uuid4()))

    def store(uow: UnitOfWork) -> dict[str, Any]:
        _own_group(uow, data["customer_id"], data["balance_group_id"])
        return grant_balance(uow, grant)

    return transaction(store, source=SOURCE)


def adjust_balance(payload: dict[str, Any], resources: ResourceLookup) -> dict[str, Any]:
    """Change a balance by a signed amount for a bill item, optionally with tax; billing learns it from
    `balance.adjusted`."""
    data = load_wire(_adjust_in, payload)

    def adjust(uow: UnitOfWork) -> dict[str, Any]:
        raw = uow.collection(Balance).find_one({"_id": data["balance_id"]}, session=uow.session)
        if raw is None or raw["customer_id"] != data["customer_id"]:
            # Another customer's balance is reported as absent: ids must not leak across customers.
            raise NotFound(f"balance {data['balance_id']} does not exist for customer {data['customer_id']}")
        now = utc_now()
        uow.collection(Balance).update_one({"_id": raw["_id"]}, {"$inc": {"amount": to_storage(data["amount"])}},
                                           session=uow.session)
        resource = resources(raw["resource"]) or {}
        tax = data["tax"]
        uow.publish("balance.adjusted", {
            "customerId": raw["customer_id"], "billingProfileId": raw.get("billing_profile_id"),
            "balanceGroupId": raw["balance_group_id"], "resource": raw["resource"],
            "amount": format(data["amount"], "f"), "currency": resource.get("currency"),
            "billItem": data["bill_item"],
            "tax": None if tax is None else {"code": tax["code"], "supplier": tax["supplier"],
                                             "glCode": tax["gl_code"]},
            "at": now.isoformat()}, subject=raw["_id"])
        return _out.dump(Balance._from_son(uow.collection(Balance).find_one({"_id": raw["_id"]},
                                                                            session=uow.session)))

    return transaction(adjust, source=SOURCE)


def _own_group(uow: UnitOfWork, customer_id: int, group_id: str) -> None:
    group = uow.collection(BalanceGroup).find_one({"_id": group_id}, session=uow.session)
    if group is None or group["customer_id"] != customer_id:
        raise ValidationFailed("the balance group is not this customer's",
                               {"balanceGroupId": "is not a balance group of this customer"})


def parse_as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValidationFailed("not an instant", {"asOf": "must be an ISO 8601 instant with a time zone"})
    return instant


def to_domain(raw: dict[str, Any]) -> rules.Balance:
    return rules.Balance(
        id=raw["_id"], balance_group_id=raw["balance_group_id"], resource=raw["resource"],
        amount=to_decimal(raw["amount"]), valid_from=raw["valid_from"], valid_to=raw.get("valid_to"),
        created_at=raw["created_at"], priority=raw.get("priority", 0), validity=ValidityKind(raw["validity"]))


def list_balances(customer_id: int, balance_group_id: str | None = None,
                  as_of: datetime | None = None) -> dict[str, Any]:
    """Per balance group of the customer: the total valid amount per resource and every balance's details
    (decision 0010's `rating.list_balances`). Expired balances stay in the details, flagged not valid."""
    as_of = as_of or utc_now()
    db = database()
    query: dict[str, Any] = {"customer_id": customer_id}
    if balance_group_id is not None:
        query["_id"] = balance_group_id
    groups = list(db[BalanceGroup._get_collection_name()].find(query).sort("created_at", 1))
    if balance_group_id is not None and not groups:
        raise NotFound(f"balance group {balance_group_id} does not exist for customer {customer_id}")
    raw_balances = list(db[Balance._get_collection_name()].find(
        {"balance_group_id": {"$in": [g["_id"] for g in groups]}}).sort([("resource", 1), ("created_at", 1)]))
    result = []
    for group in groups:
        mine = [b for b in raw_balances if b["balance_group_id"] == group["_id"]]
        domain = [to_domain(b) for b in mine]
        details = []
        for raw, balance in zip(mine, domain, strict=True):
            wire = _out.dump(Balance._from_son(raw))
            wire["valid"] = balance.valid_at(as_of)
            details.append(wire)
        result.append({
            "balanceGroupId": group["_id"], "name": group["name"], "billingProfileId": group["billing_profile_id"],
            "totals": [{"resource": r, "amount": format(a, "f")} for r, a in rules.totals(domain, as_of).items()],
            "balances": details})
    return {"customerId": customer_id, "asOf": as_of.isoformat(), "balanceGroups": result}

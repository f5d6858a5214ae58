"""Bills and their items: the list, Info (a bill's items), adjustments, and rating's charges.

Every change is a new item; nothing on a bill is edited in place. Items only go on open bills
(active, or inactive for charges of the next cycle); billed and closed bills are frozen.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.adapters.documents import Bill, BillingProfile, BillItem
from billing.domain.bills import OPEN, BillStatus
from billing.domain.lines import ItemKind
from billing.schemas import AdjustmentSchema, BillItemSchema, BillSchema, ItemAdjustmentSchema
from billing.service_layer.catalog import Catalog, TaxCache
from chassis.clock import utc_now
from chassis.envelope import CloudEvent
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.idempotency import apply_once
from chassis.money import MoneyError, to_decimal, to_storage
from chassis.mongo import UnitOfWork, get_or_not_found, transaction

SOURCE = "billing"
_bill_out = BillSchema()
_item_out = BillItemSchema()
_adjust_in = AdjustmentSchema()
_adjust_item_in = ItemAdjustmentSchema()


def list_bills(profile_id: str) -> list[dict[str, Any]]:
    get_or_not_found(BillingProfile, profile_id, "billing profile")
    return [_bill_out.dump(b) for b in Bill.objects(billing_profile_id=profile_id).order_by("-id")]


def get_bill(bill_id: int) -> dict[str, Any]:
    """A bill with its items (the seed's Info)."""
    bill = get_or_not_found(Bill, bill_id, "bill")
    view = _bill_out.dump(bill)
    view["items"] = [_item_out.dump(i) for i in BillItem.objects(bill_id=bill_id).order_by("created_at", "id")]
    return view


def adjust_bill(bill_id: int, payload: dict[str, Any], catalog: Catalog, item_id: str | None = None
                ) -> dict[str, Any]:
    """An adjustment (positive or negative) kept as its own item; with tax, the tax code must exist."""
    if item_id is None:
        data = load_wire(_adjust_in, payload)
    else:  # the item adjusted is named by the path, not the body (gateway ItemAdjustment)
        data = {**load_wire(_adjust_item_in, payload), "bill_item": item_id}
    tax = data["tax"]
    if tax is not None:
        found = TaxCache(catalog).tax(tax["code"], field="tax.code")
        tax = {**tax, "supplier": tax["supplier"] or found.supplier, "gl_code": tax["gl_code"] or found.gl_code}

    def store(uow: UnitOfWork) -> dict[str, Any]:
        bill = _open_bill(uow, bill_id)
        reference = data["bill_item"]
        if item_id is not None:
            target = uow.collection(BillItem).find_one({"_id": item_id, "bill_id": bill_id}, session=uow.session)
            if target is None:
                raise NotFound(f"bill {bill_id} has no item {item_id}", {"billItem": "no such item on this bill"})
            reference = item_id
        item = {"_id": str(uuid.uuid4()), "bill_id": bill_id, "billing_profile_id": bill["billing_profile_id"],
                "kind": ItemKind.ADJUSTMENT.value,
                "description": data["description"] or f"Adjustment: {data['bill_item']}",
                "amount": to_storage(data["amount"]), "currency": bill["currency"],
                "balance_group_id": data["balance_group_id"], "reference": reference,
                "gl_code": (tax or {}).get("gl_code") or data["gl_code"], "tax_code": (tax or {}).get("code"),
                "tax_supplier": (tax or {}).get("supplier"), "events": 0, "at": utc_now(), "created_at": utc_now()}
        add_item(uow, bill, item)
        return _item_out.dump(BillItem._from_son(item))

    return transaction(store, source=SOURCE)


def _open_bill(uow: UnitOfWork, bill_id: int) -> dict[str, Any]:
    bill = uow.collection(Bill).find_one({"_id": bill_id}, session=uow.session)
    if bill is None:
        raise NotFound(f"bill {bill_id} does not exist")
    if BillStatus(bill["status"]) not in OPEN:
        raise Conflict(f"bill {bill_id} is {bill['status']}: an issued bill is corrected with a credit or debit note",
                       {"billId": f"bill is {bill['status']}"})
    return bill


def add_item(uow: UnitOfWork, bill: dict[str, Any], item: dict[str, Any]) -> None:
    uow.collection(BillItem).insert_one(item, session=uow.session)
    uow.collection(Bill).update_one({"_id": bill["_id"]}, {"$inc": {"charged": item["amount"], "items": 1}},
                                    session=uow.session)


def _target_bill(uow: UnitOfWork, profile_id: str | None, bill_id: Any) -> dict[str, Any] | None:
    """The bill a charge goes on: the bill rating named if it is still open, else the profile's active bill
    (late usage of a cycle already billed lands on the current one)."""
    if bill_id is not None:
        named = uow.collection(Bill).find_one({"_id": bill_id, "status": {"$in": [s.value for s in OPEN]}},
                                              session=uow.session)
        if named is not None and (profile_id is None or named["billing_profile_id"] == profile_id):
            return named
    if profile_id is None:
        return None
    return uow.collection(Bill).find_one({"billing_profile_id": profile_id, "status": BillStatus.ACTIVE.value},
                                         session=uow.session)


def record_usage_charged(consumer: str, event: CloudEvent) -> bool:
    """`usage.charged`: one item per event (Info shows them; the invoice sums them per service)."""
    data = event.data

    def effect(uow: UnitOfWork) -> None:
        bill = _target_bill(uow, data.get("billingProfileId"), data.get("billId"))
        if bill is None:
            return  # no billing profile: nothing to bill (a prepaid balance group without one)
        add_item(uow, bill, {
            "_id": f"usage:{event.id}", "bill_id": bill["_id"], "billing_profile_id": bill["billing_profile_id"],
            "kind": ItemKind.USAGE.value,
            "description": f"{data.get('serviceType') or 'usage'} {data.get('serviceIdentifier') or ''}".strip(),
            "amount": to_storage(_amount(data["amount"])), "currency": data.get("currency") or bill["currency"],
            "balance_group_id": data.get("balanceGroupId"), "resource": data.get("resource"),
            "service_id": data.get("serviceId"), "service_identifier": data.get("serviceIdentifier"),
            "units": to_storage(_amount(data.get("units") or 0)), "events": int(data.get("events") or 0),
            "tax_code": data.get("tax"), "gl_code": data.get("glCode"),
            "at": _instant(data.get("lastStart")), "source_event": event.id, "created_at": utc_now()})

    return apply_once(consumer, event, effect)


def record_adjusted(consumer: str, event: CloudEvent) -> bool:
    """`balance.adjusted` / `usage.adjusted`: an adjustment item with the tax, supplier and GL code given."""
    data = event.data

    def effect(uow: UnitOfWork) -> None:
        bill = _target_bill(uow, data.get("billingProfileId"), None)
        if bill is None:
            return
        tax = data.get("tax") or {}
        add_item(uow, bill, {
            "_id": f"adjusted:{event.id}", "bill_id": bill["_id"], "billing_profile_id": bill["billing_profile_id"],
            "kind": ItemKind.ADJUSTMENT.value, "description": f"{event.type.split('.')[0].title()} adjustment: "
                                                              f"{data.get('billItem') or data.get('resource')}",
            "amount": to_storage(_amount(data["amount"])), "currency": data.get("currency") or bill["currency"],
            "balance_group_id": data.get("balanceGroupId"), "resource": data.get("resource"),
            "reference": data.get("usageId") or data.get("billItem"), "tax_code": tax.get("code"),
            "tax_supplier": tax.get("supplier"), "gl_code": tax.get("glCode"), "events": 0,
            "at": _instant(data.get("at")), "source_event": event.id, "created_at": utc_now()})

    return apply_once(consumer, event, effect)


def _amount(value: Any) -> Decimal:
    try:
        return to_decimal(value)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), {"amount": str(exc)}) from exc


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None

"""Usage reads and operator actions: the usage list (the service type's fields as columns), usage
adjustments, events created by hand and batches through the API. Rating itself is `rating_batch`."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from bson.decimal128 import Decimal128

from chassis import rpc_contracts
from chassis.clock import utc_now
from chassis.errors import NotFound, ValidationFailed, load_wire
from chassis.money import shown_from_storage
from chassis.mongo import UnitOfWork, database, transaction
from rating.adapters.catalog import CatalogCache
from rating.service_layer.rating_batch import USAGE, rate_batch
from rating.usage_schemas import ManualEventSchema, UsageAdjustSchema, UsageFilterSchema

SOURCE = "rating"
# The HTTP contract's bound on a batch, applied to rate_usage callers over RPC as well.
MAX_BATCH: int = rpc_contracts.resolve({"$ref": "http:gateway#/components/schemas/UsageBatch"})["properties"][
    "events"]["maxItems"]
_filters = UsageFilterSchema()
_adjust_in = UsageAdjustSchema()
_manual_in = ManualEventSchema()
FIXED_BEFORE = [{"name": "eventId", "title": "Event ID"}, {"name": "createdAt", "title": "Created at"}]
FIXED_AFTER = [{"name": "amount", "title": "Amount"}]


def title(field_name: str) -> str:
    """A field name as a column heading: `startTime` → `Start time` (the seed's headings)."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", field_name).lower()
    return words[:1].upper() + words[1:]


def _dec(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal128):
        return shown_from_storage(value)
    return format(value.normalize(), "f")


def usage_wire(record: dict[str, Any]) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "eventId": record["_id"], "createdAt": record["created_at"].isoformat(), "status": record["status"],
        "serviceId": record.get("service_id"), "serviceType": record.get("service_type"),
        "serviceIdentifier": record.get("service_identifier"), "customerId": record.get("customer_id"),
        "startTime": record["start_time"].isoformat(), "quantity": _dec(record.get("quantity")),
        "fields": record.get("fields") or {}, "late": record.get("late", False), "source": record.get("source")}
    if record["status"] == "rated":
        wire.update(units=_dec(record["units"]), resource=record["resource"], currency=record["currency"],
                    pricePerUnit=_dec(record["price_per_unit"]), price=_dec(record["price"]),
                    freeUnits=_dec(record["free_used"]), sharedUnits=_dec(record["shared_used"]),
                    amount=_dec(record["amount"]), charged=_dec(record["charged"]), billId=record.get("bill_id"),
                    balances=[{"balanceId": i["balance_id"], "resource": i["resource"], "amount": _dec(i["amount"])}
                              for i in record.get("impacts", [])],
                    adjustments=[{"amount": _dec(a["amount"]), "billItem": a["bill_item"],
                                  "at": a["at"].isoformat()} for a in record.get("adjustments", [])])
    else:
        wire.update(amount=None, reason=record.get("reason"), reasonField=record.get("reason_field"))
    return wire


def list_usage(customer_id: int, filters: dict[str, Any] | None, catalog: CatalogCache) -> dict[str, Any]:
    """One page of a customer's usage events, newest start first, with the columns the seed shows: event id,
    created at, the service type's fields, amount (decision 0010's `rating.list_usage`)."""
    data = load_wire(_filters, filters or {})
    query: dict[str, Any] = {"customer_id": customer_id}
    if data["service_id"]:
        query["service_id"] = data["service_id"]
    if data["status"]:
        query["status"] = data["status"]
    period = {k: v for k, v in (("$gte", data["start_from"]), ("$lt", data["start_to"])) if v is not None}
    if period:
        query["start_time"] = period
    collection = database()[USAGE]
    total = collection.count_documents(query)
    records = list(collection.find(query).sort([("start_time", -1), ("_id", 1)]).skip(data["offset"])
                   .limit(data["limit"]))
    columns: list[dict[str, str]] = []
    for service_type in dict.fromkeys(r["service_type"] for r in records):
        for field in (catalog.service_type(service_type) or {}).get("fields", []):
            if all(c["name"] != field["name"] for c in columns):
                columns.append({"name": field["name"], "title": title(field["name"])})
    return {"columns": [*FIXED_BEFORE, *columns, *FIXED_AFTER], "items": [usage_wire(r) for r in records],
            "total": total}


def adjust_usage(payload: dict[str, Any]) -> dict[str, Any]:
    """Change a rated event's amount (only the amount, seed), optionally with tax; billing learns it from
    `usage.adjusted`. The amount never goes below zero."""
    data = load_wire(_adjust_in, payload)

    def adjust(uow: UnitOfWork) -> dict[str, Any]:
        usage = uow.collection(USAGE)
        record = usage.find_one({"_id": data["usage_id"]}, session=uow.session)
        if record is None or record.get("customer_id") != data["customer_id"]:
            # Another customer's event is reported as absent: ids must not leak across customers.
            raise NotFound(f"usage event {data['usage_id']} does not exist for customer {data['customer_id']}")
        if record["status"] != "rated":
            raise ValidationFailed("only a rated event can be adjusted", {"usageId": "the event was rejected"})
        new_amount = record["amount"].to_decimal() + data["amount"]
        if new_amount < 0:
            raise ValidationFailed("an adjustment cannot make the amount negative",
                                   {"amount": f"must not be below -{_dec(record['amount'])}"})
        now = utc_now()
        tax = data["tax"]
        usage.update_one({"_id": record["_id"]}, {
            "$set": {"amount": Decimal128(new_amount)},
            "$push": {"adjustments": {"amount": Decimal128(data["amount"]), "bill_item": data["bill_item"],
                                      "tax": tax, "at": now}}}, session=uow.session)
        uow.publish("usage.adjusted", {
            "customerId": record["customer_id"], "billingProfileId": record.get("billing_profile_id"),
            "balanceGroupId": record["balance_group_id"], "resource": record["currency"],
            "amount": format(data["amount"], "f"), "currency": record["currency"], "billItem": data["bill_item"],
            "tax": None if tax is None else {"code": tax["code"], "supplier": tax["supplier"],
                                             "glCode": tax["gl_code"]},
            "usageId": record["_id"], "at": now.isoformat()}, subject=record["_id"])
        adjusted = usage.find_one({"_id": record["_id"]}, session=uow.session)
        assert adjusted is not None, "the record was updated in this transaction"
        return usage_wire(adjusted)

    return transaction(adjust, source=SOURCE)


def create_usage_event(payload: dict[str, Any], catalog: CatalogCache, lateness: timedelta) -> dict[str, Any]:
    """The operator's "create event": a service of the customer, a start time and field values, rated at once.
    Bad input is refused naming the field; a prepaid denial is stored and returned as a rejected event."""
    data = load_wire(_manual_in, payload)
    service = database()["services"].find_one({"_id": data["service_id"]})
    if service is None or service["customer_id"] != data["customer_id"]:
        raise ValidationFailed("the service is not this customer's", {"serviceId": "is not a service of the customer"})
    event = {"id": data["id"] or str(uuid.uuid4()), "serviceType": service["service_type"],
             "serviceIdentifier": service["identifier"], "startTime": data["start_time"],
             "quantity": data["quantity"], "fields": data["fields"]}
    try:
        [outcome] = rate_batch([event], catalog, source="manual", lateness=lateness, strict=True)
    except ValidationFailed as error:
        # Name the fields as the caller sent them, not as items of a batch.
        raise ValidationFailed("the usage event is not valid", {
            name.removeprefix("events.0."): reason for name, reason in error.fields.items()}) from None
    stored = database()[USAGE].find_one({"_id": outcome.id})
    assert stored is not None, "the event is stored (rated, denied, or a duplicate of one): strict refuses the rest"
    return usage_wire(stored)


def rate_usage_batch(events: Any, catalog: CatalogCache, lateness: timedelta) -> dict[str, Any]:
    """`POST /api/v1/usage`: a batch of events, all or nothing for bad input, each rated once."""
    if not isinstance(events, list) or not events or len(events) > MAX_BATCH:
        raise ValidationFailed(f"a usage batch is a list of 1 to {MAX_BATCH} events",
                               {"events": f"must hold 1 to {MAX_BATCH} events"})
    outcomes = rate_batch(events, catalog, source="api", lateness=lateness, strict=True)
    results = []
    summary: dict[str, int] = {}
    for outcome in outcomes:
        result: dict[str, Any] = {"id": outcome.id, "status": outcome.status}
        if outcome.reason:
            result["reason"] = outcome.reason
        if outcome.record is not None and outcome.status == "rated":
            result["amount"] = _dec(outcome.record["amount"])
        results.append(result)
        summary[outcome.status] = summary.get(outcome.status, 0) + 1
    return {"summary": summary, "events": results}

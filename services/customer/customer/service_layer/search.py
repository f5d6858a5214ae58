"""The customer list: filtered search with paging, and the export pages behind the CSV."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from chassis.errors import ValidationFailed, from_marshmallow
from customer.adapters.documents import CustomerDocument
from customer.domain import model
from customer.schemas import SearchFiltersSchema

MAX_LIMIT = 1000
MAX_EXPORT_PAGE = 5000
_ROW = {"first_name": 1, "last_name": 1, "email": 1, "city": 1, "country": 1, "status": 1, "customer_type": 1,
        "payment_method": 1, "payment_info.direct_debit.iban": 1, "subscription_count": 1, "service_count": 1,
        "contacts.city": 1}
_EXPORT = {"first_name": 1, "last_name": 1, "email": 1, "subscription_count": 1, "service_count": 1}


def _query(filters: dict[str, Any] | None) -> dict[str, Any]:
    try:
        loaded = SearchFiltersSchema().load(filters or {})
    except ValidationError as exc:
        raise from_marshmallow(exc) from exc
    return model.search_query(loaded)


def _row(raw: dict[str, Any]) -> dict[str, Any]:
    iban = ((raw.get("payment_info") or {}).get("direct_debit") or {}).get("iban")
    return {
        "id": raw["_id"], "name": model.full_name(raw["first_name"], raw["last_name"]),
        "firstName": raw["first_name"], "lastName": raw["last_name"], "email": raw["email"],
        "city": raw["contacts"][0]["city"], "country": raw["country"], "status": raw["status"],
        "customerType": raw["customer_type"], "paymentMethod": raw.get("payment_method"),
        "iban": model.mask_iban(iban), "subscriptionCount": raw.get("subscription_count", 0),
        "serviceCount": raw.get("service_count", 0),
    }


def search_customers(filters: dict[str, Any] | None, offset: int = 0, limit: int = 20) -> dict[str, Any]:
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("Bad paging", {"offset" if offset < 0 else "limit": f"offset >= 0, 1 <= limit <= {MAX_LIMIT}"})
    query = _query(filters)
    collection = CustomerDocument._get_collection()
    total = collection.count_documents(query)
    items: list[dict[str, Any]] = []
    if offset < total:
        cursor = collection.find(query, _ROW).sort("_id", 1).skip(offset).limit(limit)
        items = [_row(raw) for raw in cursor]
    return {"items": items, "total": total}


def export_page(filters: dict[str, Any] | None, after_id: int = 0, size: int = 2000) -> dict[str, Any]:
    """One page of the export, in customer-number order after `after_id` (a range scan on
    `_id`, so every page costs the same however deep the export is)."""
    size = max(1, min(size, MAX_EXPORT_PAGE))
    query = {**_query(filters), "_id": {"$gt": after_id}}
    rows = [
        [raw["_id"], model.full_name(raw["first_name"], raw["last_name"]), raw["email"],
         raw.get("subscription_count", 0), raw.get("service_count", 0)]
        for raw in CustomerDocument._get_collection().find(query, _EXPORT).sort("_id", 1).limit(size)
    ]
    return {"rows": rows, "nextAfterId": rows[-1][0] if len(rows) == size else None}

"""The customer list: filtered search with paging, and the export pages behind the CSV.

A view (cosmicpython, chapter 12): reads that serve a screen go straight to the collection with
projections and index-only counts; they change nothing, so they need no unit of work."""
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


GRAM_COUNT_CAP = 5000


def _query(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """The MongoDB filter, or None when a trigram of the text occurs nowhere (nothing can match)."""
    try:
        loaded = SearchFiltersSchema().load(filters or {})
    except ValidationError as exc:
        raise from_marshmallow(exc) from exc
    counts = _gram_counts(model.text_grams(loaded))
    if 0 in counts.values():
        return None
    return model.search_query(loaded, min(counts, key=counts.__getitem__) if counts else None)


def _count(collection: Any, query: dict[str, Any]) -> int:
    """The number of matches. The unfiltered list (the page operators open first) is all but
    the closed accounts: the collection's size from its metadata minus an index count."""
    if query == model.search_query({}):
        closed = collection.count_documents({"status": model.CustomerStatus.CLOSED.value})
        return max(collection.estimated_document_count() - closed, 0)
    return collection.count_documents(query)


def _gram_counts(grams: list[str]) -> dict[str, int]:
    """How many customers have each trigram, by index-only counts capped at GRAM_COUNT_CAP
    (each costs at most a short index scan); stops at the first that occurs nowhere."""
    counts: dict[str, int] = {}
    collection = CustomerDocument._get_collection()
    for gram in grams:
        counts[gram] = collection.count_documents({"grams": gram}, limit=GRAM_COUNT_CAP)
        if counts[gram] == 0:
            break
    return counts


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
        field = "offset" if offset < 0 else "limit"
        raise ValidationFailed("Bad paging", {field: f"offset >= 0, 1 <= limit <= {MAX_LIMIT}"})
    query = _query(filters)
    if query is None:
        return {"items": [], "total": 0}
    collection = CustomerDocument._get_collection()
    total = _count(collection, query)
    items: list[dict[str, Any]] = []
    if offset < total:
        cursor = collection.find(query, _ROW).sort("_id", 1).skip(offset).limit(limit)
        items = [_row(raw) for raw in cursor]
    return {"items": items, "total": total}


def export_page(filters: dict[str, Any] | None, after_id: int = 0, size: int = 2000) -> dict[str, Any]:
    """One page of the export, in customer-number order after `after_id` (a range scan on
    `_id`, so every page costs the same however deep the export is)."""
    size = max(1, min(size, MAX_EXPORT_PAGE))
    query = _query(filters)
    if query is None:
        return {"rows": [], "nextAfterId": None}
    query["_id"] = {"$gt": after_id}
    rows = [
        [raw["_id"], model.full_name(raw["first_name"], raw["last_name"]), raw["email"],
         raw.get("subscription_count", 0), raw.get("service_count", 0)]
        for raw in CustomerDocument._get_collection().find(query, _EXPORT).sort("_id", 1).limit(size)
    ]
    return {"rows": rows, "nextAfterId": rows[-1][0] if len(rows) == size else None}

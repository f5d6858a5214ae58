"""Helpers every catalog use case shares."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError
from pymongo.errors import DuplicateKeyError

from chassis.errors import Conflict, ValidationFailed, from_marshmallow
from chassis.mongo import UnitOfWork, transaction

SOURCE = "catalog"
MAX_LIMIT = 1000


def load(schema: Schema, payload: Any, *, partial: bool = False) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationFailed("the body must be a JSON object", {"_schema": "must be an object"})
    try:
        return schema.load(payload, partial=partial)
    except ValidationError as exc:
        raise from_marshmallow(exc) from exc


def page(query: Any, offset: int, limit: int, dump: Any) -> dict[str, Any]:
    """One page of a query: `items` and the `total` before paging (for X-Total-Count)."""
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("offset must be >= 0 and limit 1..1000", {"offset": "paging", "limit": "paging"})
    return {"items": [dump(doc) for doc in query.skip(offset).limit(limit)], "total": query.count()}


def commit(fn: Any, duplicate: str) -> Any:
    """Run a write in one transaction; a unique-index clash becomes a 409 naming what clashed."""
    try:
        return transaction(fn, source=SOURCE)
    except DuplicateKeyError as exc:
        raise Conflict(duplicate) from exc


def insert(doc: Any) -> Any:
    def write(uow: UnitOfWork) -> Any:
        uow.insert(doc)
        return doc

    return write

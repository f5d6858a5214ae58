"""Reads of the catalog's own documents as plain dicts (the form the domain rules take)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import mongoengine as me
from bson.decimal128 import Decimal128

from catalog.adapters.documents import OFFERING_DOCUMENTS, Resource, ServiceType, Tax
from catalog.domain.model import Status


def plain(value: Any) -> Any:
    """A document (or its SON) as nested dicts and lists with Decimals; drops Mongo's `_id`."""
    if isinstance(value, me.Document):
        value = value.to_mongo()
    if isinstance(value, me.EmbeddedDocument):
        value = value.to_mongo()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items() if k != "_id"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal128):
        return value.to_decimal()
    return value


def offering_doc(kind: str, code: str, version: int | None = None, *, at: datetime | None = None) -> Any:
    """One version: the given one; else the one active at `at`; else the active one."""
    documents = OFFERING_DOCUMENTS[kind].objects(code=code)
    if version is not None:
        return documents.filter(version=version).first()
    if at is not None:
        return active_at(documents, at).first()
    return documents.filter(status=Status.ACTIVE).first()


def active_at(documents: Any, at: datetime) -> Any:
    """Versions that were on sale at `at` (published, and not yet retired then)."""
    return documents.filter(published_at__lte=at).filter(
        me.Q(retired_at=None) | me.Q(retired_at__gt=at))


class MongoReferences:
    """`catalog.domain.rules.References` over this service's database."""

    def resource(self, code: str) -> dict[str, Any] | None:
        return _first(Resource.objects(code=code))

    def service_type(self, code: str) -> dict[str, Any] | None:
        return _first(ServiceType.objects(code=code))

    def tax(self, code: str) -> dict[str, Any] | None:
        return _first(Tax.objects(code=code))

    def offering(self, kind: str, code: str, version: int | None) -> dict[str, Any] | None:
        doc = offering_doc(kind, code, version)
        if doc is None and version is None:
            # No active version yet: a draft may be referenced (publishing requires it to be active).
            doc = OFFERING_DOCUMENTS[kind].objects(code=code, status=Status.DRAFT).order_by("-version").first()
        return None if doc is None else {**plain(doc), "kind": kind}


def _first(query: Any) -> dict[str, Any] | None:
    doc = query.first()
    return None if doc is None else plain(doc)

"""The catalog worker."""
from __future__ import annotations

from catalog.adapters.documents import ALL_DOCUMENTS
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase


class CatalogService(WorkerBase):
    name = "catalog"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

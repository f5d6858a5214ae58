"""The selfcare worker."""
from __future__ import annotations

from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase
from selfcare.adapters.documents import ALL_DOCUMENTS


class SelfcareService(WorkerBase):
    name = "selfcare"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

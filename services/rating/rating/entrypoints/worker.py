"""The rating worker."""
from __future__ import annotations

from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase
from rating.adapters.documents import ALL_DOCUMENTS


class RatingService(WorkerBase):
    name = "rating"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

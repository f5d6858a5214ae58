"""The gateway worker."""
from __future__ import annotations

from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase
from gateway.adapters.documents import ALL_DOCUMENTS


class GatewayService(WorkerBase):
    name = "gateway"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

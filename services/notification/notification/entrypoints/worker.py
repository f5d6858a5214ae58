"""The notification worker."""
from __future__ import annotations

from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase
from notification.adapters.documents import ALL_DOCUMENTS


class NotificationService(WorkerBase):
    name = "notification"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

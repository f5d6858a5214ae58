"""Indexes of the collections rating writes with raw pymongo on the hot path (no mongoengine document:
the stream writes them in bulk)."""
from __future__ import annotations

from chassis.mongo import database


def ensure_usage_indexes() -> None:
    db = database()
    # The usage list: per customer (and service) by start time, newest first.
    db["usage"].create_index([("customer_id", 1), ("start_time", -1)])
    db["usage"].create_index([("service_id", 1), ("start_time", -1)])
    # Committed postpaid charges waiting for the worker's flush (decision 0415): only they are in this index.
    db["usage"].create_index([("created_at", 1)], name="pending_charges",
                             partialFilterExpression={"pending_charge": {"$exists": True}})
    db["reservations"].create_index([("status", 1), ("expires_at", 1)])
    db["sharing_usage"].create_index("member_id")
    db["threshold_crossings"].create_index("at", expireAfterSeconds=400 * 24 * 3600)

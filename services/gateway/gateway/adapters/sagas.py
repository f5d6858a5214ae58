"""The onboarding saga's persisted state, in the gateway's own database.

Every step is recorded as `started` before its call and `done` (with what it made) after, so a
crashed gateway leaves a record the recovery sweep can compensate. Writes are conditional on the
saga's `owner`: when the sweep takes over a stale saga, the original process can no longer write.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import mongoengine as me
from pymongo.collection import Collection

from chassis.clock import utc_now
from chassis.leases import LeaseLost, Leases

# Saga status.
RUNNING, COMPLETED, COMPENSATING, COMPENSATED, COMPENSATION_FAILED = (
    "running", "completed", "compensating", "compensated", "compensation_failed")
# Step status.
STARTED, DONE, FAILED, UNDONE, UNDO_FAILED = "started", "done", "failed", "compensated", "compensation_failed"



class OnboardingSaga(me.Document):
    meta = {
        "collection": "onboardings",
        "indexes": [
            # Idempotency-Key: one onboarding per key (released when a failed onboarding was fully undone).
            {"fields": ["idempotency_key"], "unique": True, "name": "idempotency_key_unique",
             "partialFilterExpression": {"idempotency_key": {"$type": "string"}}},
            {"fields": ["status", "lease_until"], "name": "recovery"},
        ],
    }

    id = me.StringField(primary_key=True)
    idempotency_key = me.StringField()
    request_hash = me.StringField(required=True)
    request = me.DictField(required=True)
    status = me.StringField(required=True)
    ids = me.DictField()  # ids chosen before the steps, so a step whose reply was lost can be compensated
    customer_id = me.IntField()
    steps = me.DictField()  # step -> {"status", "error"?}
    failure = me.DictField()
    response = me.DictField()
    owner = me.StringField(required=True)
    lease_until = me.DateTimeField(required=True)
    created_at = me.DateTimeField(required=True, default=utc_now)
    updated_at = me.DateTimeField(required=True, default=utc_now)


# The recovery sweep took this saga over; the original process must stop touching it.
LostOwnership = LeaseLost


class SagaStore:
    def __init__(self, collection: Collection | None = None, lease_seconds: float = 60.0):
        self.collection = collection if collection is not None else OnboardingSaga._get_collection()
        self.leases = Leases(self.collection, lease_seconds)

    def create(self, saga: dict[str, Any]) -> None:
        """Insert a new saga (with the steps it already records, e.g. its first one `started`);
        DuplicateKeyError when its Idempotency-Key is taken."""
        now = utc_now()
        self.collection.insert_one({"steps": {}, **saga, "status": RUNNING, "lease_until": now + self.leases.duration,
                                    "created_at": now, "updated_at": now})

    def by_key(self, key: str) -> dict[str, Any] | None:
        return self.collection.find_one({"idempotency_key": key})

    def get(self, saga_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": saga_id})

    def update(self, saga: dict[str, Any], changes: dict[str, Any], unset: list[str] | None = None) -> None:
        self.leases.renew(saga["_id"], saga["owner"], changes={**changes, "updated_at": utc_now()}, unset=unset or ())
        for name, value in changes.items():
            _assign(saga, name, value)

    def step(self, saga: dict[str, Any], step: str, status: str, **extra: Any) -> None:
        self.update(saga, {f"steps.{step}": {"status": status, **extra}})

    def claim_stale(self, owner: str, now: datetime | None = None) -> dict[str, Any] | None:
        """Take over one saga whose owner stopped renewing its lease (crashed, or compensation to retry)."""
        now = now or utc_now()
        return self.leases.take({"status": {"$in": [RUNNING, COMPENSATING, COMPENSATION_FAILED]}}, owner,
                                changes={"status": COMPENSATING, "updated_at": now}, sort=[("lease_until", 1)],
                                reentrant=False, now=now)


def _assign(document: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for name in parents:
        document = document.setdefault(name, {})
    document[last] = value

"""Idempotent consumption: an event's effect and the record of having applied it
commit in one transaction, so a redelivered event is applied exactly once."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from chassis.envelope import CloudEvent
from chassis.mongo import UnitOfWork, transaction

APPLIED = "applied_events"


def apply_once(
    consumer: str, event: CloudEvent, effect: Callable[[UnitOfWork], None], *, db: Database | None = None
) -> bool:
    """Apply `effect` unless `consumer` already applied `event`. Returns whether it ran."""

    key = f"{consumer}:{event.id}"

    def run(uow: UnitOfWork) -> bool:
        # Check first: a failed write would abort the whole transaction server-side.
        if uow.collection(APPLIED).find_one({"_id": key}, session=uow.session) is not None:
            return False
        uow.collection(APPLIED).insert_one(
            {"_id": key, "consumer": consumer, "type": event.type, "applied_at": datetime.now(UTC)},
            session=uow.session,
        )
        effect(uow)
        return True

    try:
        return transaction(run, source=consumer.split(".", 1)[0], db=db)
    except DuplicateKeyError:
        # A concurrent delivery of the same event committed between our check and insert.
        return False

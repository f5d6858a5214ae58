"""Saga participants: an id discarded by a compensation stays refused.

A saga may compensate a step whose request is still in flight (the caller timed
out, the message waits in the queue). Recording the discarded id in the same
transaction as the delete, and refusing to create that id afterwards, means the
late request cannot resurrect what the compensation removed.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chassis.errors import Conflict
from chassis.mongo import UnitOfWork

DISCARDED = "discarded_ids"


def record_discarded(uow: UnitOfWork, kind: str, entity_id: str) -> None:
    uow.lock(f"{kind}:{entity_id}")
    uow.collection(DISCARDED).update_one(
        {"_id": f"{kind}:{entity_id}"},
        {"$setOnInsert": {"kind": kind, "discarded_at": datetime.now(UTC)}},
        upsert=True,
        session=uow.session,
    )


def was_discarded(uow: UnitOfWork, kind: str, entity_id: str) -> bool:
    """Whether `entity_id` was discarded; also locks it, so a discard committing meanwhile makes this
    transaction retry instead of acting on a stale answer."""
    uow.lock(f"{kind}:{entity_id}")
    return uow.collection(DISCARDED).find_one({"_id": f"{kind}:{entity_id}"}, session=uow.session) is not None


def refuse_discarded(uow: UnitOfWork, kind: str, entity_id: str) -> None:
    """Raise Conflict when `entity_id` was discarded before this create arrived."""
    if was_discarded(uow, kind, entity_id):
        raise Conflict(f"{kind} {entity_id} was discarded by a compensation and cannot be created again")


def existing_or_refused(uow: UnitOfWork, document: Any, kind: str, entity_id: str) -> Any:
    """For an idempotent create with a caller-chosen id: the document a previous attempt made (or None);
    Conflict when a compensation already discarded that id."""
    refuse_discarded(uow, kind, entity_id)
    return uow.find_one(document, {"_id": entity_id})


def discard(uow: UnitOfWork, document: Any, kind: str, entity_id: str) -> bool:
    """Compensation: delete the document and remember its id. Idempotent; returns whether it existed."""
    record_discarded(uow, kind, entity_id)
    return uow.collection(document).delete_one({"_id": entity_id}, session=uow.session).deleted_count == 1


def create_once(uow: UnitOfWork, entity: Any, kind: str, owner_field: str | None = None,
                created: Callable[[Any], object] | None = None) -> Any:
    """Insert `entity` (its id chosen by the caller) unless a previous attempt made it, and return the stored
    document; `created(document)` runs only when this call inserted it (what comes with a new entity).
    Conflict when the id was discarded, or belongs to another owner."""
    existing = existing_or_refused(uow, type(entity), kind, entity.pk)
    if existing is not None:
        if owner_field and getattr(existing, owner_field) != getattr(entity, owner_field):
            raise Conflict(f"{kind} {entity.pk} belongs to another {owner_field.removesuffix('_id')}")
        return existing
    # As stored (milliseconds), so the answer shows what a later read will show.
    stored = uow.insert(entity)
    if created is not None:
        created(stored)
    return stored

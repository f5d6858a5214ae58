"""Leases: a worker owns a document for a while and keeps renewing it; when it stops (crashed,
killed, cut off), another worker takes the document over once the lease has expired.

One primitive for every "only one worker at a time, and a successor finishes what a crashed one
left": the outbox relay's single lease, the onboarding sagas the recovery sweep takes over, and
`chassis.jobs`. A lease is two fields on the document (`owner`, `lease_until`); every write of the
owner is conditional on still being the owner, so a worker whose lease was taken over can write nothing.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from chassis.clock import utc_now


class LeaseLost(Exception):
    """Another worker took this document over; the former owner must stop touching it."""


class Leases:
    """Leases on the documents of one collection."""

    def __init__(self, collection: Collection, seconds: float, *, owner_field: str = "owner",
                 until_field: str = "lease_until") -> None:
        self.collection = collection
        self.duration = timedelta(seconds=seconds)
        self.owner_field = owner_field
        self.until_field = until_field

    def take(self, query: dict[str, Any], owner: str, *, changes: dict[str, Any] | None = None,
             sort: Sequence[tuple[str, int]] | None = None, upsert: bool = False, reentrant: bool = True,
             now: datetime | None = None) -> dict[str, Any] | None:
        """Take one document matching `query` whose lease expired (or that `owner` already holds, when
        `reentrant`), applying `changes`. None when every match is held by someone else."""
        now = now or utc_now()
        expired = {self.until_field: {"$lt": now}}
        free = {"$or": [{self.owner_field: owner}, expired]} if reentrant else expired
        condition = {"$and": [query, free]} if "$or" in query or self.until_field in query else {**query, **free}
        try:
            return self.collection.find_one_and_update(
                condition, {"$set": {**(changes or {}), **self._held(owner, now)}},
                sort=list(sort) if sort else None, upsert=upsert, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            return None  # upsert of a document someone else holds: not ours to take

    def renew(self, doc_id: Any, owner: str, *, changes: dict[str, Any] | None = None,
              unset: Sequence[str] = (), increments: dict[str, Any] | None = None,
              push: dict[str, Any] | None = None, session: ClientSession | None = None) -> None:
        """Write as the owner (renewing the lease with every write); LeaseLost if no longer the owner."""
        update: dict[str, Any] = {"$set": {**(changes or {}), self.until_field: utc_now() + self.duration}}
        if unset:
            update["$unset"] = {name: "" for name in unset}
        if increments:
            update["$inc"] = increments
        if push:
            update["$push"] = push
        result = self.collection.update_one({"_id": doc_id, self.owner_field: owner}, update, session=session)
        if result.matched_count == 0:
            raise LeaseLost(doc_id)

    def release(self, doc_id: Any, owner: str, *, changes: dict[str, Any] | None = None,
                delete: bool = False) -> bool:
        """Give the document up (or delete it) as its owner; False when it was not ours any more."""
        if delete:
            return self.collection.delete_one({"_id": doc_id, self.owner_field: owner}).deleted_count == 1
        update = {"$set": {**(changes or {}), self.until_field: utc_now()}}
        return self.collection.update_one({"_id": doc_id, self.owner_field: owner}, update).matched_count == 1

    def _held(self, owner: str, now: datetime) -> dict[str, Any]:
        return {self.owner_field: owner, self.until_field: now + self.duration}

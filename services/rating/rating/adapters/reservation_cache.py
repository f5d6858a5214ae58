"""The active reservations this charging process created or read, so a batch need not read them back from
MongoDB (decision 0410).

Nothing here is trusted: a batch that uses what the cache says verifies it with the very writes it makes, in
its own transaction. A new reservation's id, absent from the cache, is assumed new and its upsert must really
insert; a reservation taken as active is settled with an update filtered on `status: active` that must match.
If either fails (the worker expired it, another charging replica settled it, a purge deleted it, a caller
reused an id), the batch's transaction is abandoned and run again reading every reservation from MongoDB.
So the cache keeps only active reservations (settled ones answer a repeated request from MongoDB, as before),
and is filled only after a transaction committed (a transaction may run more than once).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

ACTIVE = "active"


class ReservationCache:
    """reservation id -> its document as stored while active; least recently used go first. Thread-safe (a
    process may have several batches in flight). Callers must not change what they get."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._kept: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __contains__(self, reservation_id: str) -> bool:
        with self._lock:
            return reservation_id in self._kept

    def active(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The ones of `ids` kept (as active when last seen)."""
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for reservation_id in ids:
                reservation = self._kept.get(reservation_id)
                if reservation is None:
                    self.misses += 1
                else:
                    self.hits += 1
                    found[reservation_id] = reservation
        return found

    def update(self, reservations: Iterable[dict[str, Any]]) -> None:
        """What a committed batch left: active reservations are kept, any other is dropped."""
        with self._lock:
            for reservation in reservations:
                if reservation["status"] == ACTIVE:
                    self._kept[reservation["_id"]] = reservation
                    self._kept.move_to_end(reservation["_id"])
                else:
                    self._kept.pop(reservation["_id"], None)
            while len(self._kept) > self.max_entries:
                self._kept.popitem(last=False)

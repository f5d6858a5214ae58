"""In-memory stand-ins for the onboarding saga: the saga store and the services it calls over RPC."""
from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chassis.clock import utc_now
from chassis.errors import NotFound
from gateway.adapters.sagas import COMPENSATING, COMPENSATION_FAILED, RUNNING, LostOwnership, _assign


class InMemorySagaStore:
    """SagaStore's behaviour on a dict: owner-conditional writes, stale sagas taken over after the lease."""

    def __init__(self, lease_seconds: float = 60.0) -> None:
        self.sagas: dict[str, dict[str, Any]] = {}
        self.lease = timedelta(seconds=lease_seconds)
        self.writes = 0
        self._lock = threading.Lock()

    def create(self, saga: dict[str, Any]) -> None:
        now = utc_now()
        key = saga.get("idempotency_key")
        if key and any(s.get("idempotency_key") == key for s in self.sagas.values()):
            from pymongo.errors import DuplicateKeyError  # what the unique index raises

            raise DuplicateKeyError("idempotency_key")
        self.sagas[saga["_id"]] = copy.deepcopy({"steps": {}, **saga, "status": RUNNING,
                                                 "lease_until": now + self.lease, "created_at": now,
                                                 "updated_at": now})
        self.writes += 1

    def by_key(self, key: str) -> dict[str, Any] | None:
        return next((copy.deepcopy(s) for s in self.sagas.values() if s.get("idempotency_key") == key), None)

    def get(self, saga_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.sagas.get(saga_id))

    def update(self, saga: dict[str, Any], changes: dict[str, Any], unset: list[str] | None = None) -> None:
        with self._lock:
            stored = self.sagas[saga["_id"]]
            if stored["owner"] != saga["owner"]:
                raise LostOwnership(saga["_id"])
            self.writes += 1
            for target in (stored, saga):
                for name, value in changes.items():
                    _assign(target, name, copy.deepcopy(value))
                for name in unset or []:
                    target.pop(name, None)
            stored["updated_at"] = utc_now()
            stored["lease_until"] = stored["updated_at"] + self.lease

    def step(self, saga: dict[str, Any], step: str, status: str, **extra: Any) -> None:
        self.update(saga, {f"steps.{step}": {"status": status, **extra}})

    def claim_stale(self, owner: str, now: datetime | None = None) -> dict[str, Any] | None:
        now = now or utc_now()
        for saga in self.sagas.values():
            if saga["status"] in (RUNNING, COMPENSATING, COMPENSATION_FAILED) and saga["lease_until"] < now:
                saga.update(owner=owner, status=COMPENSATING, lease_until=now + self.lease)
                return copy.deepcopy(saga)
        return None


class FakeRpc:
    """The services as the saga calls them: each (service, method) answers from a handler; `fail` makes a
    call raise; every call is recorded (thread-safe: independent steps call at the same time)."""

    def __init__(self, handlers: dict[tuple[str, str], Callable[..., Any]]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []
        self.failures: dict[tuple[str, str], Exception] = {}
        self._lock = threading.Lock()

    def fail(self, service: str, method: str, error: Exception) -> None:
        self.failures[(service, method)] = error

    def call(self, service: str, method: str, *args: Any) -> Any:
        with self._lock:
            self.calls.append((service, method, args))
        if (service, method) in self.failures:
            raise self.failures[(service, method)]
        handler = self.handlers.get((service, method))
        if handler is None:
            raise NotFound(f"{service}.{method} is not faked")
        return handler(*args)

    def methods(self) -> list[str]:
        return [f"{service}.{method}" for service, method, _ in self.calls]

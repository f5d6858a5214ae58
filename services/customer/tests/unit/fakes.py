"""In-memory stand-ins for the customer use cases' ports (service_layer/unit_of_work.py) and for the
other services they call: unit tests run the real use cases with no database and no broker."""
from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from chassis.errors import Conflict, NotFound, ValidationFailed

T = TypeVar("T")


class FakeCustomerRepository:
    def __init__(self, rows: dict[int, dict[str, Any]]) -> None:
        self.rows = rows

    def get(self, customer_id: int) -> dict[str, Any] | None:
        return copy.deepcopy(self.rows.get(customer_id))

    def by_request(self, request_id: str) -> dict[str, Any] | None:
        return next((copy.deepcopy(r) for r in self.rows.values() if r.get("request_id") == request_id), None)

    def add(self, record: dict[str, Any]) -> None:
        assert record["_id"] not in self.rows, "ids are never reused"
        self.rows[record["_id"]] = copy.deepcopy(record)

    def update(self, customer_id: int, changes: dict[str, Any]) -> None:
        if customer_id in self.rows:
            self.rows[customer_id].update(copy.deepcopy(changes))

    def delete(self, customer_id: int, due_by: datetime | None = None) -> bool:
        row = self.rows.get(customer_id)
        if row is None or (due_by is not None and not _due(row, due_by)):
            return False
        del self.rows[customer_id]
        return True

    def due_for_purge(self, as_of: datetime) -> list[int]:
        return sorted(cid for cid, row in self.rows.items() if _due(row, as_of))


def _due(row: dict[str, Any], as_of: datetime) -> bool:
    return row.get("status") == "closed" and row.get("purge_after") is not None and row["purge_after"] <= as_of


class FakeUnitOfWork:
    def __init__(self, store: FakeTransactions) -> None:
        self.store = store
        self.customers = FakeCustomerRepository(store.rows)
        self.events: list[tuple[str, dict[str, Any], str | None]] = []

    def next_customer_id(self) -> int:
        self.store.sequence += 1
        return self.store.sequence

    def publish(self, event_type: str, data: dict[str, Any], subject: str | None = None) -> None:
        self.events.append((event_type, data, subject))

    def record_discarded(self, kind: str, entity_id: str) -> None:
        self.store.discarded.add((kind, entity_id))

    def refuse_discarded(self, kind: str, entity_id: str) -> None:
        if (kind, entity_id) in self.store.discarded:
            raise Conflict(f"{kind} {entity_id} was discarded by a compensation and cannot be created again")


class FakeTransactions:
    """All or nothing, like the MongoDB transaction: the rows are restored when the work raises, and
    events reach `published` only on commit."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.sequence = 0
        self.discarded: set[tuple[str, str]] = set()
        self.published: list[tuple[str, dict[str, Any], str | None]] = []
        self.counted: dict[int, set[str]] = {}

    def run(self, fn: Callable[[FakeUnitOfWork], T]) -> T:
        saved = copy.deepcopy((self.rows, self.sequence, self.discarded))
        uow = FakeUnitOfWork(self)
        try:
            result = fn(uow)
        except BaseException:
            self.rows.clear()
            self.rows.update(saved[0])
            self.sequence, self.discarded = saved[1], saved[2]
            raise
        self.published.extend(uow.events)
        return result

    def reader(self) -> FakeCustomerRepository:
        return FakeCustomerRepository(self.rows)

    def within(self, uow: Any) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def count_event(self, customer_id: int, deltas: dict[str, int], event_id: str) -> bool:
        row = self.rows.get(customer_id)
        if row is None or event_id in self.counted.setdefault(customer_id, set()):
            return False
        self.counted[customer_id].add(event_id)
        for field, delta in deltas.items():
            row[field] = max(0, row.get(field, 0) + delta)
        return True

    def event_types(self) -> list[str]:
        return [event_type for event_type, _, _ in self.published]


class FakeServices:
    """The catalog and billing as the customer use cases call them (`services.call(...)`)."""

    def __init__(self, customer_types: tuple[str, ...] = ("regular",), segments: tuple[str, ...] = ("smb",),
                 unpaid_invoices: int = 0) -> None:
        self.customer_types, self.segments, self.unpaid_invoices = customer_types, segments, unpaid_invoices
        self.calls: list[tuple[str, str]] = []

    def call(self, service: str, method: str, *args: Any) -> Any:
        self.calls.append((service, method))
        handler = getattr(self, f"_{service}_{method}")
        return handler(*args)

    def _catalog_get_customer_type(self, code: str) -> dict[str, Any]:
        if code not in self.customer_types:
            raise NotFound(f"customer type {code} does not exist")
        return {"code": code, "name": code.title(), "description": None}

    def _catalog_validate_custom_attributes(self, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        bad = {f"customAttributes.{k}": "unknown or bad value" for k, v in values.items()
               if k != "segment" or (v is not None and v not in self.segments)}
        if bad:
            raise ValidationFailed("bad custom attributes", bad)
        return {k: v for k, v in values.items() if v is not None}

    def _billing_count_unpaid_invoices(self, customer_id: int) -> int:
        return self.unpaid_invoices

"""The MongoDB side of the customer use cases' ports (service_layer/unit_of_work.py)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from chassis import discarded
from chassis.mongo import UnitOfWork as ChassisUnitOfWork
from chassis.mongo import transaction
from customer.adapters.documents import CustomerDocument
from customer.domain.model import CUSTOMER_SEQUENCE, CustomerStatus

T = TypeVar("T")
SOURCE = "customer"
APPLIED_KEPT = 200  # event ids a customer document remembers for its counters (redeliveries come soon)


class MongoCustomerRepository:
    def __init__(self, uow: ChassisUnitOfWork | None = None) -> None:
        self._uow = uow
        self._collection = uow.collection(CustomerDocument) if uow else CustomerDocument._get_collection()
        self._session = uow.session if uow else None

    def get(self, customer_id: int) -> dict[str, Any] | None:
        return self._collection.find_one({"_id": customer_id}, session=self._session)

    def by_request(self, request_id: str) -> dict[str, Any] | None:
        return self._collection.find_one({"request_id": request_id}, session=self._session)

    def add(self, record: dict[str, Any]) -> None:
        CustomerDocument._from_son(record).validate()  # the document's field rules; the record is stored as is
        self._collection.insert_one(dict(record), session=self._session)

    def update(self, customer_id: int, changes: dict[str, Any]) -> None:
        self._collection.update_one({"_id": customer_id}, {"$set": changes}, session=self._session)

    def delete(self, customer_id: int, due_by: datetime | None = None) -> bool:
        query: dict[str, Any] = {"_id": customer_id}
        if due_by is not None:
            query.update(status=CustomerStatus.CLOSED.value, purge_after={"$lte": due_by})
        return self._collection.delete_one(query, session=self._session).deleted_count == 1

    def due_for_purge(self, as_of: datetime) -> list[int]:
        due = {"status": CustomerStatus.CLOSED.value, "purge_after": {"$lte": as_of}}
        return [raw["_id"] for raw in self._collection.find(due, {"_id": 1}, session=self._session).sort("_id", 1)]


class MongoUnitOfWork:
    def __init__(self, uow: ChassisUnitOfWork) -> None:
        self._uow = uow
        self.customers = MongoCustomerRepository(uow)

    def next_customer_id(self) -> int:
        return self._uow.next_sequence(CUSTOMER_SEQUENCE)

    def publish(self, event_type: str, data: dict[str, Any], subject: str | None = None) -> None:
        self._uow.publish(event_type, data, subject=subject)

    def record_discarded(self, kind: str, entity_id: str) -> None:
        discarded.record_discarded(self._uow, kind, entity_id)

    def refuse_discarded(self, kind: str, entity_id: str) -> None:
        discarded.refuse_discarded(self._uow, kind, entity_id)


class MongoTransactions:
    """The customer database behind the ports; `within` adapts a chassis unit of work (a job's step)."""

    def run(self, fn: Callable[[MongoUnitOfWork], T]) -> T:
        return transaction(lambda uow: fn(MongoUnitOfWork(uow)), source=SOURCE)

    @staticmethod
    def within(uow: ChassisUnitOfWork) -> MongoUnitOfWork:
        return MongoUnitOfWork(uow)

    def reader(self) -> MongoCustomerRepository:
        return MongoCustomerRepository()

    def count_event(self, customer_id: int, deltas: dict[str, int], event_id: str) -> bool:
        # The event id is kept in the customer's own document and checked in the same single-document
        # update, so the counter needs no transaction and concurrent events never conflict (issue 15).
        applied = {"$ifNull": ["$counted_events", []]}
        counted = {field: {"$max": [0, {"$add": [{"$ifNull": [f"${field}", 0]}, delta]}]}
                   for field, delta in deltas.items()}
        result = CustomerDocument._get_collection().update_one(
            {"_id": customer_id, "counted_events": {"$ne": event_id}},
            [{"$set": {**counted,
                       "counted_events": {"$slice": [{"$concatArrays": [applied, [event_id]]}, -APPLIED_KEPT]}}}])
        return result.modified_count == 1

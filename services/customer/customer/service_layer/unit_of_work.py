"""What the customer use cases need from storage, as ports (cosmicpython's repository and unit of work).

The use cases in `customers` receive `Transactions` and work on plain records (snake_case dicts, `_id`
the customer id). The MongoDB implementation is `customer.adapters.repository`; the in-memory fakes the
unit tests use are in `tests/unit/fakes.py`.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Record = dict[str, Any]


class CustomerRepository(Protocol):
    def get(self, customer_id: int) -> Record | None: ...

    def by_request(self, request_id: str) -> Record | None:
        """The customer a create with this caller's request id made."""

    def add(self, record: Record) -> None: ...

    def update(self, customer_id: int, changes: Record) -> None: ...

    def delete(self, customer_id: int, due_by: datetime | None = None) -> bool:
        """Delete the customer (with `due_by`: only a closed account whose retention ended by then);
        whether it was deleted."""

    def due_for_purge(self, as_of: datetime) -> list[int]:
        """Closed accounts whose retention ended by `as_of`, by id."""


class UnitOfWork(Protocol):
    """The writes of one transaction: state changes and the events they cause commit together."""

    @property
    def customers(self) -> CustomerRepository: ...

    def next_customer_id(self) -> int: ...

    def publish(self, event_type: str, data: Record, subject: str | None = None) -> None: ...

    def record_discarded(self, kind: str, entity_id: str) -> None:
        """Remember an id a compensation removed, so a late create of it is refused."""

    def refuse_discarded(self, kind: str, entity_id: str) -> None:
        """Conflict when `entity_id` was discarded before."""


class Transactions(Protocol):
    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` in one transaction; `fn` may run more than once (transient conflicts are retried)."""

    def reader(self) -> CustomerRepository:
        """Reads outside a transaction."""

    def within(self, uow: Any) -> UnitOfWork:
        """This service's unit of work over a transaction someone else opened (a job's step)."""

    def count_event(self, customer_id: int, deltas: dict[str, int], event_id: str) -> bool:
        """Add each delta to its counter of the customer (never below zero) unless this event was counted;
        one atomic single-document write, no transaction. Whether it changed anything."""

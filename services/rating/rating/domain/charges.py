"""Postpaid charges summed for billing: one `usage.charged` per (billing profile, cycle, service, resource),
never one per usage event.

Pure. The stream and the usage API sum a batch's charges with it; real-time charging marks each committed
record instead, and the worker's flush sums what waits (decision 0415), since a charging batch holds one or two
commits and would otherwise send billing about one message per usage event.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class ChargeSum:
    """One `usage.charged` in the making. `head` names whose charge it is (billing profile, customer, bill,
    balance group, service, resource, currency: the event's identifying members)."""

    head: dict[str, Any]
    units: Decimal
    amount: Decimal
    events: int
    late: bool
    first: datetime
    last: datetime

    def add(self, units: Decimal, amount: Decimal, late: bool, start: datetime) -> None:
        self.units += units
        self.amount += amount
        self.events += 1
        self.late = self.late or late
        self.first = min(self.first, start)
        self.last = max(self.last, start)

    def payload(self) -> dict[str, Any]:
        return {**self.head, "units": format(self.units, "f"), "amount": format(self.amount, "f"),
                "events": self.events, "late": self.late, "firstStart": self.first.isoformat(),
                "lastStart": self.last.isoformat()}


class ChargeSums:
    """Charges summed per key (billing profile, cycle start, service, resource), in the order first seen."""

    def __init__(self) -> None:
        self._sums: dict[Hashable, ChargeSum] = {}

    def add(self, key: Hashable, head: Callable[[], dict[str, Any]], units: Decimal, amount: Decimal, late: bool,
            start: datetime) -> None:
        """Add one rated event's charge; `head` is called only for a key not seen before."""
        found = self._sums.get(key)
        if found is None:
            self._sums[key] = ChargeSum(head(), units, amount, 1, late, start, start)
        else:
            found.add(units, amount, late, start)

    def events(self) -> Iterator[tuple[str, dict[str, Any], str]]:
        """`(type, data, subject)` per sum, as `UnitOfWork.publish_many` takes them; the subject is the service."""
        for total in self._sums.values():
            data = total.payload()
            yield ("usage.charged", data, total.head["serviceId"])

    def __len__(self) -> int:
        return len(self._sums)


def charge_head(billing_profile_id: Any, customer_id: int, bill_id: Any, balance_group_id: str, service_id: str,
                service_identifier: str, service_type: str, resource: str, currency: str) -> dict[str, Any]:
    """The identifying members of a `usage.charged` (contracts/events/usage.charged.v1.json)."""
    return {"billingProfileId": billing_profile_id, "customerId": customer_id, "billId": bill_id,
            "balanceGroupId": balance_group_id, "serviceId": service_id, "serviceIdentifier": service_identifier,
            "serviceType": service_type, "resource": resource, "currency": currency}

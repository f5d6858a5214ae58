"""Bill states and the billing shift, free of I/O (seed "The bill status", "The billing process").

inactive ──(cycle shift)──▶ active ──(run billing / bill now)──▶ billing (due) ──(paid in full)──▶ closed

A profile always has exactly one active bill (the current cycle) and one inactive bill prepared for
the next cycle, so the shift only flips statuses and prepares one new inactive bill.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from billing.domain.cycles import Cycle
from chassis.errors import Conflict


class BillStatus(StrEnum):
    INACTIVE = "inactive"
    ACTIVE = "active"
    BILLING = "billing"
    CLOSED = "closed"


ALLOWED = {
    BillStatus.INACTIVE: {BillStatus.ACTIVE},
    BillStatus.ACTIVE: {BillStatus.BILLING},
    BillStatus.BILLING: {BillStatus.CLOSED},
    BillStatus.CLOSED: set(),
}
# Charges and adjustments may still be added to these bills; billed and closed ones are frozen.
OPEN = (BillStatus.ACTIVE, BillStatus.INACTIVE)


def check_transition(current: BillStatus, target: BillStatus) -> None:
    if target not in ALLOWED[current]:
        raise Conflict(f"a bill in status {current.value} cannot become {target.value}",
                       {"status": f"{current.value} -> {target.value} is not allowed"})


@dataclass(frozen=True)
class BillState:
    id: int
    status: BillStatus
    cycle: Cycle

    def to(self, target: BillStatus) -> BillState:
        check_transition(self.status, target)
        return replace(self, status=target)


@dataclass(frozen=True)
class Shift:
    billed: BillState
    activated: BillState
    prepared: BillState


def shift(active: BillState, inactive: BillState, new_id: int, next_cycle: Cycle) -> Shift:
    """Run billing: active -> billing (due), inactive -> active, a new inactive bill for `next_cycle`."""
    if active.status is not BillStatus.ACTIVE or inactive.status is not BillStatus.INACTIVE:
        raise Conflict("the profile's bills are not one active and one inactive", {"status": "out of order"})
    if next_cycle.start != inactive.cycle.end:
        raise ValueError("the prepared cycle must follow the activated one")
    return Shift(active.to(BillStatus.BILLING), inactive.to(BillStatus.ACTIVE),
                 BillState(new_id, BillStatus.INACTIVE, next_cycle))

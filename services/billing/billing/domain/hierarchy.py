"""Hierarchy groups, free of I/O: a member's invoices are transferred to the owner at billing time."""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from chassis.errors import Conflict


class GroupStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CANCELLED = "cancelled"


def check_no_cycle(joining: int, owner: int, owner_of: Mapping[int, int]) -> None:
    """Refuse a membership that would make a customer (indirectly) pay for itself.

    `owner_of` maps each member customer to the owner of its group. Walking up from the new group's
    owner must never reach the joining customer (A owns B owns A).
    """
    seen: set[int] = set()
    current: int | None = owner
    while current is not None and current not in seen:
        if current == joining:
            raise Conflict(f"customer {joining} already pays, directly or not, for the owner {owner}",
                           {"groupId": "joining this group would make a hierarchy cycle"})
        seen.add(current)
        current = owner_of.get(current)


def billing_levels(owner_of: Mapping[int, int]) -> dict[int, int]:
    """How far each customer is below the top of its hierarchy (owners not members: 0).

    A bill run bills higher levels first, so every member's invoice reaches its owner's active bill
    before the owner is billed.
    """
    levels: dict[int, int] = {}

    def level(customer: int, path: frozenset[int]) -> int:
        if customer in levels:
            return levels[customer]
        owner = owner_of.get(customer)
        value = 0 if owner is None or owner in path else level(owner, path | {customer}) + 1
        levels[customer] = value
        return value

    for customer in owner_of:
        level(customer, frozenset())
    return levels

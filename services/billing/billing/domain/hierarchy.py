"""Hierarchy groups, free of I/O: a member's invoices are transferred to the owner at billing time."""
from __future__ import annotations

from enum import StrEnum


class GroupStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CANCELLED = "cancelled"

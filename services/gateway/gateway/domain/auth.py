"""Operator roles and what each may do (no I/O)."""
from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


def permitted(role: str, method: str, required_roles: Collection[str] | None = None) -> bool:
    """Viewers read; operators also change; an operation may narrow this with
    `x-roles` in the OpenAPI (user management: admin only)."""
    if required_roles:
        return role in required_roles
    if method.upper() in READ_METHODS:
        return role in {r.value for r in Role}
    return role in (Role.ADMIN, Role.OPERATOR)

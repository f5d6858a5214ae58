"""The audit trail of operators' changes.

The HTTP layer opens a note per mutating request (`open_note`); the security check
fills in who, the handler may say what changed (`note(target=, before=, after=)`),
and the note becomes an entry once the change succeeded. A handler that says
nothing is still audited: its response body stands as "after".
"""
from __future__ import annotations

import contextvars
import re
from typing import Any

from chassis.clock import utc_now
from gateway.adapters.documents import AuditEntry

_NOTE: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("audit_note", default=None)


def open_note() -> tuple[dict[str, Any], contextvars.Token[dict[str, Any] | None]]:
    note: dict[str, Any] = {}
    return note, _NOTE.set(note)


def close_note(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _NOTE.reset(token)


def note(**facts: Any) -> None:
    """Add facts (actor, role, operation, target, before, after) to the current request's note.
    The note is one shared dict, so a handler running in a worker thread reaches it too."""
    current = _NOTE.get()
    if current is not None:
        current.update(facts)


def actor() -> str | None:
    """The operator making the current request (set by the bearer check)."""
    current = _NOTE.get()
    return current.get("actor") if current else None


def record(note_: dict[str, Any], *, method: str, path: str, status: int, response: Any) -> None:
    target = note_.get("target") or path
    AuditEntry(
        at=utc_now(), actor=note_["actor"], role=note_.get("role", ""),
        operation=note_.get("operation") or "unknown", method=method, path=path,
        target=target, status=status, before=note_.get("before"),
        after=note_["after"] if "after" in note_ else response,
        customer_id=customer_of(note_.get("customer_id"), target, path, response),
    ).save()


_CUSTOMER_TARGET = re.compile(r"^customer/(\d+)(/|$)")
_CUSTOMER_PATH = re.compile(r"^/api/v1/customers/(\d+)(/|$)")


def customer_of(noted: Any, target: str, path: str, response: Any) -> int | None:
    """Which customer a change concerns: what the handler noted, else the customer in its
    target or path, else the customer of its result (an onboarding creates the customer)."""
    if isinstance(noted, int):
        return noted
    for pattern, text in ((_CUSTOMER_TARGET, target), (_CUSTOMER_PATH, path)):
        found = pattern.match(text or "")
        if found:
            return int(found.group(1))
    if isinstance(response, dict):
        customer = response.get("customer")
        for candidate in (response.get("customerId"), customer.get("id") if isinstance(customer, dict) else None):
            if isinstance(candidate, int):
                return candidate
    return None


def record_refusal(*, actor: str, role: str, operation: str, method: str, path: str, status: int,
                   target: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """A refused attempt (failed login, lockout, a role calling what it may not): audited
    like a change, with the status that refused it, so probing shows up in the trail."""
    AuditEntry(at=utc_now(), actor=actor or "anonymous", role=role, operation=operation, method=method,
               path=path, target=target or path, status=status, before=None, after=detail).save()


def list_entries(filters: dict[str, Any], offset: int, limit: int,
                 oldest_first: bool = False) -> tuple[list[dict[str, Any]], int]:
    query = {key: value for key, value in filters.items() if value is not None and value != ""}
    entries = AuditEntry.objects(**query)
    total = entries.count()
    page = entries.order_by("at" if oldest_first else "-at").skip(offset).limit(limit)
    return [
        {"id": str(e.id), "at": e.at.isoformat(), "actor": e.actor, "role": e.role, "operation": e.operation,
         "method": e.method, "path": e.path, "target": e.target, "status": e.status, "before": e.before,
         "after": e.after, "customerId": e.customer_id}
        for e in page
    ], total

"""The audit trail of operators' changes.

The HTTP layer opens a note per mutating request (`open_note`); the security check
fills in who, the handler may say what changed (`note(target=, before=, after=)`),
and the note becomes an entry once the change succeeded. A handler that says
nothing is still audited: its response body stands as "after".
"""
from __future__ import annotations

import contextvars
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
    AuditEntry(
        at=utc_now(), actor=note_["actor"], role=note_.get("role", ""),
        operation=note_.get("operation") or "unknown", method=method, path=path,
        target=note_.get("target") or path, status=status, before=note_.get("before"),
        after=note_["after"] if "after" in note_ else response,
    ).save()


def list_entries(filters: dict[str, Any], offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    query = {key: value for key, value in filters.items() if value}
    entries = AuditEntry.objects(**query)
    total = entries.count()
    page = entries.order_by("-at").skip(offset).limit(limit)
    return [
        {"id": str(e.id), "at": e.at.isoformat(), "actor": e.actor, "role": e.role, "operation": e.operation,
         "method": e.method, "path": e.path, "target": e.target, "status": e.status, "before": e.before,
         "after": e.after}
        for e in page
    ], total

"""Typed errors shared by every service.

Each error carries a human `detail` and optional per-field messages. The same
classes are raised by a service, travel over nameko RPC (they are registered as
deserializable in `nameko_adapter`) and become RFC 7807 problems at the HTTP edge.
Constructor arguments stay JSON-serialisable because nameko re-creates the
exception from them on the caller's side.
"""
from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    status = 500
    title = "Internal error"
    code = "internal"

    def __init__(self, detail: str = "", fields: dict[str, Any] | None = None):
        super().__init__(detail, fields or {})
        self.detail = detail or self.title
        self.fields: dict[str, Any] = fields or {}

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": f"https://monetization.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            problem["instance"] = instance
        if self.fields:
            problem["invalid_params"] = [
                {"name": name, "reason": _reason(reason)} for name, reason in sorted(self.fields.items())
            ]
        return problem

    def __str__(self) -> str:
        return self.detail


def _reason(reason: Any) -> str:
    if isinstance(reason, (list, tuple)):
        return "; ".join(_reason(r) for r in reason)
    if isinstance(reason, dict):
        return "; ".join(f"{k}: {_reason(v)}" for k, v in reason.items())
    return str(reason)


class ValidationFailed(PlatformError):
    status = 400
    title = "Invalid request"
    code = "validation"


class Unauthorized(PlatformError):
    status = 401
    title = "Authentication required"
    code = "unauthorized"


class Forbidden(PlatformError):
    status = 403
    title = "Forbidden"
    code = "forbidden"


class NotFound(PlatformError):
    status = 404
    title = "Not found"
    code = "not-found"


class Conflict(PlatformError):
    status = 409
    title = "Conflict"
    code = "conflict"


class TooManyRequests(PlatformError):
    """Refused for now (throttling, lockout); the client may try again after `retry_after` seconds."""

    status = 429
    title = "Too many requests"
    code = "too-many-requests"

    def __init__(self, detail: str = "", fields: dict[str, Any] | None = None, retry_after: int = 1):
        super().__init__(detail, fields)
        self.args = (detail, fields or {}, retry_after)  # nameko rebuilds the error from its args
        self.retry_after = max(1, int(retry_after))


class Unavailable(PlatformError):
    """A dependency (database, broker, another service) could not be reached. Retryable."""

    status = 503
    title = "Service unavailable"
    code = "unavailable"


def all_error_types() -> list[type[PlatformError]]:
    found: list[type[PlatformError]] = []
    pending: list[type[PlatformError]] = [PlatformError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def from_marshmallow(exc: Any, prefix: str = "") -> ValidationFailed:
    """Flatten marshmallow's nested messages into dotted field names."""
    fields: dict[str, Any] = {}

    def walk(messages: Any, path: str) -> None:
        if isinstance(messages, dict):
            for key, value in messages.items():
                walk(value, f"{path}.{key}" if path else str(key))
        else:
            fields[path or "_schema"] = messages

    walk(exc.messages, prefix)
    names = ", ".join(sorted(fields))
    return ValidationFailed(f"Invalid value for: {names}", fields)


def load_wire(schema: Any, payload: Any) -> Any:
    """`schema.load(payload)` (marshmallow), its errors as one ValidationFailed naming the fields."""
    from marshmallow import ValidationError

    if not isinstance(payload, dict):
        raise ValidationFailed("the payload must be an object", {"_schema": "expected an object"})
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise from_marshmallow(exc) from exc

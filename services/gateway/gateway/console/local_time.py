"""Date-time inputs in the operator's time zone <-> the API's instants (no I/O).

A `datetime-local` input has no zone: the operator types it in their own zone (the browser's, kept in
the `console_tz` cookie), so the console attaches that zone before sending an ISO instant to the API,
and shows an instant from the API in that zone when it fills an input again.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.console.formatting import zone

INPUT_FORMAT = "%Y-%m-%dT%H:%M"
# Inputs with `step="1"` (a usage event's start, a service's validity) show seconds: a minute rounded down
# could lie before a service that began seconds ago.
INPUT_FORMAT_SECONDS = "%Y-%m-%dT%H:%M:%S"


def operator_zone(request: Any) -> str:
    """The operator's time zone: the browser's, which the console keeps in the `console_tz` cookie."""
    return request.cookies.get("console_tz") or "UTC"


def to_instant(value: str | None, tz: str | None) -> str | None:
    """`2026-12-01T00:00` typed in Europe/Ljubljana -> `2026-12-01T00:00:00+01:00`; empty -> None.
    A value that is no date-time is passed on as it is, so the API names the bad field."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    return moment.isoformat()


def to_input(instant: Any, tz: str | None, seconds: bool = False) -> str:
    """An instant from the API as the value of a datetime-local input in the operator's zone."""
    if not instant:
        return ""
    try:
        moment = datetime.fromisoformat(str(instant).replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(tz)).strftime(INPUT_FORMAT_SECONDS if seconds else INPUT_FORMAT)


def now_input(tz: str | None, now: datetime | None = None, seconds: bool = False) -> str:
    moment = (now or datetime.now(UTC)).astimezone(zone(tz))
    return moment.strftime(INPUT_FORMAT_SECONDS if seconds else INPUT_FORMAT)


def instants(body: dict[str, Any], tz: str | None, *names: str) -> dict[str, Any]:
    """The body with its date-time fields typed in the operator's zone turned into instants."""
    for name in names:
        if name in body:
            body[name] = to_instant(body[name], tz)
    return {k: v for k, v in body.items() if v is not None}

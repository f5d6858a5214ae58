"""Usage events, free of I/O: the wire shape every source sends and its validation against the service type.

A usage event is `{"id", "serviceType", "serviceIdentifier", "startTime", "quantity", "fields": {...}}`:
`quantity` is in the unit of the rated product's resource (minutes, MB, messages) and `fields` carries the
service type's mandatory, optional and rating-set fields. A `startTime` field of the service type is taken
from the event's `startTime`, so it is never sent twice.

On the usage stream a message carries one event or a batch of them, `{"events": [event, ...]}`
(`message_events`, decision 0411).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

START_FIELD = "startTime"
MAX_ID_LENGTH = 128
BATCH_MEMBER = "events"  # usage.batch.v1's only member; no usage event has one of that name
_ENVELOPE_KEYS = {"id", "serviceType", "serviceIdentifier", "startTime", "quantity", "fields"}
# What usage.event.v1 declares (tests/contract/test_usage_shapes.py keeps them in step): a quantity string is
# plain digits (Decimal() alone would also take "1e3", " 5" or "+5"), and an instant is an RFC 3339 date-time
# (fromisoformat alone would also take one without seconds, or the basic format "20260301T100000Z").
_QUANTITY = re.compile(r"\d+(\.\d+)?")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


class UsageRejected(Exception):
    """A usage event that cannot be rated; `field` names the offending part, `reason` says why."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class UsageEvent(NamedTuple):
    """A usage event's envelope, parsed (immutable; a named tuple because the stream builds one per event and a
    frozen dataclass's `__init__` cost four times as much)."""

    id: str
    service_type: str
    service_identifier: str
    start_time: datetime
    quantity: Decimal
    fields: dict[str, Any]


def parse_envelope(raw: Any) -> UsageEvent:
    """The parts every usage event has, checked before the service type is known."""
    if type(raw) is not dict and not isinstance(raw, Mapping):  # a decoded JSON object is a dict: no ABC check
        raise UsageRejected("a usage event must be a JSON object")
    unknown = () if _ENVELOPE_KEYS.issuperset(raw) else sorted(set(raw) - _ENVELOPE_KEYS)
    if unknown:
        raise UsageRejected(f"unknown member {unknown[0]!r}", unknown[0])
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > MAX_ID_LENGTH:
        raise UsageRejected(f"must be a non-empty string of at most {MAX_ID_LENGTH} characters", "id")
    for name in ("serviceType", "serviceIdentifier"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise UsageRejected("is required (a non-empty string)", name)
    start = _datetime(raw.get("startTime"), "startTime")
    quantity = _decimal(raw.get("quantity"), "quantity")
    if quantity < 0:
        raise UsageRejected("must not be negative", "quantity")
    if isinstance(raw["quantity"], str) and not _QUANTITY.fullmatch(raw["quantity"]):
        raise UsageRejected("must be a decimal string of digits, such as \"12\" or \"0.5\"", "quantity")
    fields = raw.get("fields", {})
    if type(fields) is not dict and not isinstance(fields, Mapping):
        raise UsageRejected("must be an object of the service type's fields", "fields")
    return UsageEvent(event_id, raw["serviceType"], raw["serviceIdentifier"], start, quantity, dict(fields))


def message_events(document: Any, limit: int) -> tuple[list[Any], bool]:
    """(the usage events one stream message carries, whether it is a batch). An object with an `events` member
    is a batch (usage.batch.v1) of 1 to `limit` events; any other document is one event (usage.event.v1),
    judged with the others by `parse_envelope` when it is rated. Only the batch's own shape is checked here:
    a batch that is not one (another member, not an array, empty, over the limit) raises UsageRejected."""
    if not isinstance(document, dict) or BATCH_MEMBER not in document:
        return [document], False
    if len(document) > 1:
        other = sorted(key for key in document if key != BATCH_MEMBER)[0]
        raise UsageRejected(f"a usage batch has no member but {BATCH_MEMBER!r} (found {other!r})", other)
    events = document[BATCH_MEMBER]
    if not isinstance(events, list) or not events or len(events) > limit:
        found = f"{len(events)} events" if isinstance(events, list) else "no array"
        raise UsageRejected(f"must be an array of 1 to {limit} usage events (found {found})", BATCH_MEMBER)
    return events, True


def check_fields(event: UsageEvent, definitions: list[dict[str, Any]]) -> dict[str, Any]:
    """The event's field values checked against the service type's field definitions (catalog wire shape:
    name, type, role, allowedValues): mandatory present, types right, enum values allowed, nothing unknown.
    Returns the values with the start time filled in and datetimes normalised to ISO strings."""
    by_name = {d["name"]: d for d in definitions}
    values = dict(event.fields)
    for name in values:
        if name not in by_name:
            raise UsageRejected(f"is not a field of service type {event.service_type!r}", f"fields.{name}")
    if START_FIELD in values and START_FIELD in by_name:
        raise UsageRejected("is sent once, as the event's startTime", f"fields.{START_FIELD}")
    checked: dict[str, Any] = {}
    for definition in definitions:
        name = definition["name"]
        if name == START_FIELD:
            checked[name] = event.start_time.isoformat()  # parsed and checked with the envelope already
            continue
        if name not in values or values[name] is None:
            if definition["role"] == "mandatory":
                raise UsageRejected("is mandatory for this service type", f"fields.{name}")
            continue
        checked[name] = _typed(values[name], definition, f"fields.{name}")
    return checked


def _typed(value: Any, definition: dict[str, Any], where: str) -> Any:
    kind = definition["type"]
    if kind == "string":
        if not isinstance(value, str):
            raise UsageRejected("must be a string", where)
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageRejected("must be an integer", where)
        return value
    if kind == "decimal":
        return str(_decimal(value, where))
    if kind == "datetime":
        return _datetime(value, where).isoformat()
    if kind == "enum":
        allowed = definition.get("allowedValues") or []
        if not isinstance(value, str) or value not in allowed:
            raise UsageRejected(f"must be one of {', '.join(allowed)}", where)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise UsageRejected("must be true or false", where)
        return value
    raise UsageRejected(f"has an unsupported type {kind!r}", where)


def _decimal(value: Any, where: str) -> Decimal:
    # Floats are refused like everywhere on the wire: 0.1 has no exact binary value.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UsageRejected("must be a decimal string (floats are refused)", where)
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise UsageRejected("must be a decimal string", where) from exc
    if not number.is_finite():
        raise UsageRejected("must be a finite decimal", where)
    return number


def _datetime(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise UsageRejected("must be an ISO 8601 instant with a time zone", where)
    if not _INSTANT.fullmatch(value):
        if _INSTANT.fullmatch(value + "Z"):
            raise UsageRejected("must carry a time zone (UTC)", where)
        raise UsageRejected("must be an RFC 3339 instant such as 2026-03-01T10:00:00Z", where)
    try:
        instant = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError as exc:  # a day or an hour that does not exist
        raise UsageRejected("must be an ISO 8601 instant with a time zone", where) from exc
    return instant.astimezone(UTC)

"""The forms of the subscriptions, balances and usage sections <-> API bodies and cells (no I/O).

Instants are typed in the operator's time zone (datetime-local inputs) and sent as ISO instants; a
list of codes is typed in one input, so the API's error on one item (`promoCodes.1`) belongs to that
input; a usage event's field values take the type their service type gives them.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from gateway.console.formatting import instant, money
from gateway.console.local_time import to_instant

LIST_INPUTS = ("promoCodes", "codes", "devices", "eventGenerators")  # one text input for the whole list
FIXED_USAGE_COLUMNS = ("eventId", "createdAt", "amount")


def input_errors(fields: dict[str, str]) -> dict[str, str]:
    """The API's field names as the inputs are named: a list typed in one input (`promoCodes.1` ->
    `promoCodes`); a validity's count and unit share one message (`validity`)."""
    errors: dict[str, str] = {}
    for name, reason in fields.items():
        parts = name.split(".")
        if len(parts) > 1 and (parts[-2] in LIST_INPUTS and parts[-1].isdigit() or parts[-2] == "validity"):
            name = ".".join(parts[:-1])
        errors[name] = f"{errors[name]}; {reason}" if name in errors else reason
    return errors


def field_value(value: str, kind: str, tz: str) -> Any:
    """A typed input as the service type's field wants it (the API checks it and names a bad one)."""
    if kind == "datetime":
        return to_instant(value, tz)
    if kind == "integer":
        return int(value) if value.lstrip("-").isdigit() else value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


def event_body(values: dict[str, str], kinds: dict[str, str], tz: str) -> dict[str, Any]:
    """Create event's UsageEventCreate: the service, start and quantity, and the fields that were filled in."""
    body: dict[str, Any] = {"serviceId": values.get("serviceId", "").strip(),
                            "startTime": to_instant(values.get("startTime"), tz),
                            "quantity": values.get("quantity", "").strip(),
                            "fields": {name: field_value(values[f"fields.{name}"].strip(), kind, tz)
                                       for name, kind in kinds.items() if values.get(f"fields.{name}", "").strip()}}
    return {name: value for name, value in body.items() if value not in (None, "", {})}


def usage_cell(event: dict[str, Any], name: str, field_types: dict[str, str], tz: str, country: str | None) -> str:
    """One cell of the usage table: event id, created at, a field of the service type (instants in the
    operator's zone) or the amount in the event's currency."""
    if name == "amount":
        amount = event.get("amount")
        return "—" if amount is None else money(amount, event.get("currency"), country)
    value = event.get(name) if name in FIXED_USAGE_COLUMNS else (event.get("fields") or {}).get(name)
    if name == "createdAt" or field_types.get(name) == "datetime":
        return instant(value, tz)
    return "" if value is None else str(value)


def digest(body: dict[str, Any]) -> str:
    """What a plan transition's preview was made of, so that Confirm applies exactly what was previewed."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

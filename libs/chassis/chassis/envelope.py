"""The CloudEvents 1.0 envelope, structured mode (the JSON body is the envelope).

AMQP 0-9-1 has no CloudEvents binding, so every event travels as
`application/cloudevents+json`. `traceparent` is the W3C trace context of the
producer, so consumers continue the producer's trace.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"
_REQUIRED = ("id", "source", "type", "specversion")


class EnvelopeError(ValueError):
    pass


@dataclass(frozen=True)
class CloudEvent:
    id: str
    source: str
    type: str
    time: str
    subject: str | None
    data: dict[str, Any]
    specversion: str = SPEC_VERSION
    datacontenttype: str = "application/json"
    traceparent: str | None = None

    @property
    def producer(self) -> str:
        """The producing service: the first segment of the type (`customer.created` → `customer`)."""
        return self.type.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        # Members as they are, not `dataclasses.asdict`'s deep copy of `data` (a few % of the charging
        # process's CPU): the dict is only encoded or stored, never changed.
        values = ((name, getattr(self, name)) for name in _MEMBERS)
        return {name: value for name, value in values if value is not None}

    def to_json(self) -> bytes:
        return encode(self.to_dict())

    @classmethod
    def from_dict(cls, raw: Any) -> CloudEvent:
        if not isinstance(raw, dict):
            raise EnvelopeError("an event envelope must be a JSON object")
        missing = [k for k in _REQUIRED if not raw.get(k)]
        if missing:
            raise EnvelopeError(f"envelope misses {', '.join(missing)}")
        if raw["specversion"] != SPEC_VERSION:
            raise EnvelopeError(f"unsupported specversion {raw['specversion']!r}")
        data = raw.get("data", {})
        if not isinstance(data, dict):
            raise EnvelopeError("envelope data must be a JSON object")
        return cls(
            id=str(raw["id"]),
            source=str(raw["source"]),
            type=str(raw["type"]),
            time=str(raw.get("time", "")),
            subject=raw.get("subject"),
            data=data,
            specversion=raw["specversion"],
            datacontenttype=raw.get("datacontenttype", "application/json"),
            traceparent=raw.get("traceparent"),
        )

    @classmethod
    def from_json(cls, body: bytes | str) -> CloudEvent:
        try:
            return cls.from_dict(json.loads(body))
        except json.JSONDecodeError as exc:
            raise EnvelopeError(f"event body is not JSON: {exc}") from exc


_MEMBERS = tuple(member.name for member in fields(CloudEvent))


def new_event(
    type: str, source: str, data: dict[str, Any], subject: str | None = None, traceparent: str | None = None
) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=type,
        time=datetime.now(UTC).isoformat(),
        subject=subject,
        data=data,
        traceparent=traceparent,
    )


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


# Event families named after what they are about rather than who publishes them (decision 0010): rating
# publishes subscriptions, services, usage, balances and sharing groups, so they travel on `rating.events`.
PRODUCER_OF_FAMILY = {"subscription": "rating", "service": "rating", "usage": "rating", "balance": "rating",
                      "sharing_group": "rating", "sharing_member": "rating",
                      "balance_group": "rating"}


def producer_of(event_type: str) -> str:
    family = event_type.split(".", 1)[0]
    return PRODUCER_OF_FAMILY.get(family, family)


def exchange_for(event_type: str) -> str:
    """Each producer publishes on its own topic exchange `<producer>.events` (decision 0007)."""
    return f"{producer_of(event_type)}.events"

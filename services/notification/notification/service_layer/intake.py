"""A consumed event becomes notifications: one per channel and recipient, rendered and stored
with the record of having applied the event, in one transaction (so the same event twice
stores, and therefore sends, once)."""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any, Protocol

from jinja2 import TemplateError

from chassis.clock import utc_now
from chassis.envelope import CloudEvent
from chassis.errors import NotFound, ValidationFailed
from chassis.idempotency import apply_once
from chassis.mongo import UnitOfWork
from notification.adapters.documents import CustomerPreferences, NotificationDocument
from notification.domain.messages import Trigger, UnknownEvent, read_event, with_recipient
from notification.domain.model import Channel, Status, customer_channels
from notification.service_layer import configuration, customers, templates

log = logging.getLogger(__name__)
CONSUMER = "notification.intake"


class Services(Protocol):
    def call(self, service: str, method: str, *args: Any) -> Any: ...


def take(event: CloudEvent, services: Services) -> list[str]:
    """Store the notifications of `event`; the ids to deliver now (none if it was applied before)."""
    try:
        trigger = read_event(event.type, event.data, event.time)
    except UnknownEvent as exc:
        raise ValidationFailed(str(exc), {"data": str(exc)}) from exc
    stored = CustomerPreferences.objects(id=trigger.customer_id).first()
    opted_out = [] if trigger.transactional or stored is None else [c.value for c in stored.opted_out]
    channels = customer_channels(trigger.channels, opted_out)
    contact = _contact(services, trigger, stored.contact_tag if stored else None, channels)
    variables = with_recipient(trigger.variables, contact)
    now = utc_now()
    documents = []
    for channel in channels:
        for recipient, endpoint_id, content in _addressed(channel, trigger, event, contact, variables):
            documents.append(_document(event, trigger, channel, recipient, endpoint_id, content, now))

    stored_ids: list[str] = []

    def store(uow: UnitOfWork) -> None:
        stored_ids.clear()  # the transaction may run more than once
        if customers.is_purged(uow, trigger.customer_id):
            return
        for document in documents:
            uow.insert(document)
            stored_ids.append(document.id)

    apply_once(CONSUMER, event, store)
    return stored_ids


def _contact(services: Services, trigger: Trigger, tag: str | None, channels: list[Channel]) -> dict[str, Any] | None:
    """The customer's contact with the preferred tag, else the primary (the first one)."""
    needs_contact = Channel.SMS in channels or (Channel.EMAIL in channels and not trigger.email)
    if not needs_contact:
        return None
    try:
        contacts = services.call("customer", "list_contacts", trigger.customer_id)
    except NotFound:
        log.warning("no contact for a notification: customer unknown", extra={"customer_id": trigger.customer_id})
        return None
    return next((c for c in contacts if tag and c.get("tag") == tag), contacts[0] if contacts else None)


def _addressed(channel: Channel, trigger: Trigger, event: CloudEvent, contact: dict[str, Any] | None,
               variables: dict[str, Any]) -> list[tuple[str, str | None, dict[str, str]]]:
    """(recipient, webhook endpoint id, content) of each notification on `channel`."""
    if channel is Channel.WEBHOOK:
        return [(endpoint.url, endpoint.id, {}) for endpoint in configuration.endpoints_for(event.type)]
    address = trigger.email if channel is Channel.EMAIL and trigger.email else (contact or {}).get(
        "email" if channel is Channel.EMAIL else "phone")
    if not address:
        return []
    parts = configuration.template_parts(trigger.kind)
    names = ("subject", "text", "html") if channel is Channel.EMAIL else ("sms",)
    try:
        content = {("text" if name == "sms" else name): templates.render(parts, name, variables) for name in names}
    except TemplateError as exc:
        raise ValidationFailed(f"the {trigger.kind.value} template cannot render this event: {exc}",
                               {"template": str(exc)}) from exc
    return [(address, None, content)]


def _document(event: CloudEvent, trigger: Trigger, channel: Channel, recipient: str, endpoint_id: str | None,
              content: dict[str, str], now: datetime) -> NotificationDocument:
    notification_id = str(uuid.uuid4())
    if channel is Channel.WEBHOOK:
        content = {"body": json.dumps(webhook_body(notification_id, event, trigger), separators=(",", ":"))}
    return NotificationDocument(
        id=notification_id, source_event_id=event.id, event_type=event.type, kind=trigger.kind.value,
        customer_id=trigger.customer_id, channel=channel, recipient=recipient, endpoint_id=endpoint_id,
        resource=trigger.resource, threshold=trigger.threshold, threshold_value=trigger.threshold_value,
        triggered_at=_instant(trigger.triggered_at, now), content=content, status=Status.PENDING,
        next_attempt_at=now, created_at=now)


def webhook_body(notification_id: str, event: CloudEvent, trigger: Trigger) -> dict[str, Any]:
    """What a webhook receiver gets: `id` is the delivery id to deduplicate on (also in Webhook-Id)."""
    return {"id": notification_id, "type": event.type, "notificationType": trigger.kind.value,
            "customerId": trigger.customer_id, "occurredAt": trigger.triggered_at, "sourceEventId": event.id,
            "data": event.data}


def _instant(text: str, fallback: datetime) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return fallback
    return parsed if parsed.tzinfo else fallback

"""MongoDB documents of the notification service."""
from __future__ import annotations

import mongoengine as me

from chassis.clock import utc_now
from notification.domain.model import Channel, Status


class Attempt(me.EmbeddedDocument):
    at = me.DateTimeField(required=True)
    outcome = me.StringField(required=True, choices=("delivered", "failed"))
    error = me.StringField(null=True)
    duration_ms = me.IntField(min_value=0)


class NotificationDocument(me.Document):
    """One notification to one recipient on one channel, and its delivery.

    The unique index on (source event, channel, recipient) is what makes a redelivered event
    harmless even if two deliveries of it race past `apply_once`'s check.
    """

    meta = {
        "collection": "notifications",
        "indexes": [
            ("customer_id", "-triggered_at"),
            ("customer_id", "kind", "-triggered_at"),
            ("customer_id", "resource", "-triggered_at"),
            ("status", "next_attempt_at"),
            ("status", "-dead_at"),
            {"fields": ["source_event_id", "channel", "recipient"], "unique": True},
        ],
    }

    id = me.StringField(primary_key=True)
    source_event_id = me.StringField(required=True)
    event_type = me.StringField(required=True)
    kind = me.StringField(required=True)
    customer_id = me.IntField(required=True)
    channel = me.EnumField(Channel, required=True)
    recipient = me.StringField(required=True)
    endpoint_id = me.StringField(null=True)  # webhooks: the operator's endpoint
    resource = me.StringField(null=True)
    threshold = me.DictField(null=True)
    threshold_value = me.StringField(null=True)
    triggered_at = me.DateTimeField(required=True)
    # email: subject, text, html; sms: text; webhook: body (the exact JSON that is signed and sent).
    content = me.DictField(required=True)
    status = me.EnumField(Status, required=True, default=Status.PENDING)
    attempts = me.EmbeddedDocumentListField(Attempt)
    next_attempt_at = me.DateTimeField(null=True)
    lease_until = me.DateTimeField(null=True)
    delivered_at = me.DateTimeField(null=True)
    dead_at = me.DateTimeField(null=True)
    # Attempts before the operator's last retry: each retry gets a fresh round of attempts.
    round_start = me.IntField(default=0, min_value=0)
    created_at = me.DateTimeField(required=True, default=utc_now)


class WebhookEndpoint(me.Document):
    meta = {"collection": "webhook_endpoints"}

    id = me.StringField(primary_key=True)
    url = me.StringField(required=True)
    event_types = me.ListField(me.StringField(), required=True)
    description = me.StringField(null=True)
    enabled = me.BooleanField(default=True)
    secret = me.StringField(null=True)  # never read back through the API
    created_at = me.DateTimeField(required=True, default=utc_now)
    updated_at = me.DateTimeField(required=True, default=utc_now)


class ChannelSettings(me.Document):
    """Operator settings of one channel (`smtp`, `sms`); unset fields fall back to the environment."""

    meta = {"collection": "channel_settings"}

    id = me.StringField(primary_key=True)
    values = me.DictField()
    updated_at = me.DateTimeField(required=True, default=utc_now)


class TemplateDocument(me.Document):
    """An operator's templates of one notification kind (absent: the packaged defaults)."""

    meta = {"collection": "templates"}

    id = me.StringField(primary_key=True)  # the kind
    parts = me.DictField(required=True)
    updated_at = me.DateTimeField(required=True, default=utc_now)


class CustomerPreferences(me.Document):
    meta = {"collection": "customer_preferences"}

    id = me.IntField(primary_key=True)  # the customer id
    opted_out = me.ListField(me.EnumField(Channel))
    contact_tag = me.StringField(null=True)  # None: the primary contact
    updated_at = me.DateTimeField(required=True, default=utc_now)


ALL_DOCUMENTS: list[type[me.Document]] = [NotificationDocument, WebhookEndpoint, ChannelSettings, TemplateDocument,
                                          CustomerPreferences]

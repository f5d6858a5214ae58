"""Wire schemas (camelCase) of the notification service's RPC methods."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from notification.domain.messages import EVENT_TYPES
from notification.domain.model import Channel, Kind, Status

_http_url = fields.Url(schemes={"http", "https"}, require_tld=False, required=True,
                       validate=validate.Length(max=2000))


class SmtpSettingsSchema(Schema):
    host = fields.String(required=True, validate=validate.Length(min=1, max=255))
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    starttls = fields.Boolean(load_default=True)
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255))
    # Write-only: omitted keeps the stored password, null removes it.
    password = fields.String(allow_none=True, validate=validate.Length(min=1, max=500))
    from_address = fields.Email(data_key="fromAddress", required=True)
    timeout_seconds = fields.Float(data_key="timeoutSeconds", load_default=10.0,
                                   validate=validate.Range(min=0.5, max=120))

    @validates_schema
    def _password_needs_username(self, data, **_):
        if data.get("password") and not data.get("username"):
            raise ValidationError("a password needs a username", "username")


class SmsSettingsSchema(Schema):
    url = _http_url
    api_key = fields.String(data_key="apiKey", allow_none=True, validate=validate.Length(min=1, max=500))
    sender = fields.String(load_default="Monetization", validate=validate.Length(min=1, max=20))
    timeout_seconds = fields.Float(data_key="timeoutSeconds", load_default=10.0,
                                   validate=validate.Range(min=0.5, max=120))


class WebhookEndpointSchema(Schema):
    url = _http_url
    event_types = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), data_key="eventTypes",
                              required=True, validate=validate.Length(min=1))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    enabled = fields.Boolean(load_default=True)
    secret = fields.String(allow_none=True, validate=validate.Length(min=16, max=500))


class PreferencesSchema(Schema):
    opt_out = fields.List(fields.String(validate=validate.OneOf([c.value for c in Channel])), data_key="optOut",
                          load_default=list)
    contact_tag = fields.String(data_key="contactTag", load_default=None, allow_none=True,
                                validate=validate.Length(min=1, max=50))


class ListFiltersSchema(Schema):
    kind = fields.String(data_key="type", validate=validate.OneOf([k.value for k in Kind]))
    resource = fields.String(validate=validate.Length(min=1, max=50))
    channel = fields.String(validate=validate.OneOf([c.value for c in Channel]))
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    since = fields.AwareDateTime(data_key="from")
    until = fields.AwareDateTime(data_key="to")

    @validates_schema
    def _period_in_order(self, data, **_):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("must not be before from", "to")

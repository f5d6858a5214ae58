"""Operator configuration: SMTP and SMS settings, webhook endpoints, templates, and each customer's
channel preferences. Everything is validated before it is stored, so bad configuration is refused
with the field named (a 400 at the gateway) instead of failing later at delivery time.

Secrets (SMTP password, SMS API key, webhook signing secrets) are write-only: reads say only
whether one is set. Unset settings fall back to the environment (NOTIFICATION_SMTP_HOST, ...,
filled from Kubernetes Secrets by the chart).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from chassis.clock import utc_now
from chassis.errors import NotFound, ValidationFailed, load_wire
from chassis.mongo import get_or_not_found
from chassis.settings import Settings
from notification.adapters.documents import ChannelSettings, CustomerPreferences, TemplateDocument, WebhookEndpoint
from notification.domain.model import Channel, Kind, RetryPolicy
from notification.schemas import (
    PreferencesSchema,
    SmsSettingsSchema,
    SmtpSettingsSchema,
    TemplatePartsSchema,
    WebhookEndpointSchema,
)
from notification.service_layer import templates

SECRET_FIELDS = {"smtp": "password", "sms": "api_key"}
_SCHEMAS = {"smtp": SmtpSettingsSchema, "sms": SmsSettingsSchema}


@dataclass(frozen=True)
class Environment:
    """The process's notification settings from the environment (`NOTIFICATION_*`)."""

    smtp: dict[str, Any]
    sms: dict[str, Any]
    webhook_secret: str | None
    webhook_timeout: float
    retry: RetryPolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> Environment:
        def env(name: str, default: str = "") -> str:
            return settings.service_setting(name, default)

        return cls(
            smtp={"host": env("SMTP_HOST") or None, "port": int(env("SMTP_PORT", "587")),
                  "starttls": env("SMTP_STARTTLS", "true").lower() in ("1", "true", "yes"),
                  "username": env("SMTP_USERNAME") or None, "password": env("SMTP_PASSWORD") or None,
                  "from_address": env("SMTP_FROM", "notifications@monetization.local"),
                  "timeout_seconds": float(env("SMTP_TIMEOUT_SECONDS", "10"))},
            sms={"url": env("SMS_URL") or None, "api_key": env("SMS_API_KEY") or None,
                 "sender": env("SMS_SENDER", "Monetization"),
                 "timeout_seconds": float(env("SMS_TIMEOUT_SECONDS", "10"))},
            webhook_secret=env("WEBHOOK_SECRET") or None,
            webhook_timeout=float(env("WEBHOOK_TIMEOUT_SECONDS", "5")),
            retry=RetryPolicy(base_seconds=float(env("RETRY_BASE_SECONDS", "5")),
                              cap_seconds=float(env("RETRY_CAP_SECONDS", "600")),
                              max_attempts=int(env("RETRY_MAX_ATTEMPTS", "6"))),
        )


# -- channel settings ------------------------------------------------------------------------

def settings_channel(name: str) -> str:
    if name not in SECRET_FIELDS:
        raise NotFound(f"no settings named {name!r} (settings: {', '.join(sorted(SECRET_FIELDS))})")
    return name


def channel_settings(channel: str, environment: Environment) -> dict[str, Any]:
    """Effective settings of `smtp` or `sms` (secrets included): the operator's, else the environment's."""
    stored = ChannelSettings.objects(id=channel).first()
    return dict(stored.values) if stored else dict(getattr(environment, channel))


def read_settings(channel: str, environment: Environment) -> dict[str, Any]:
    values = channel_settings(channel, environment)
    secret = SECRET_FIELDS[channel]
    wire = _SCHEMAS[channel]().dump({k: v for k, v in values.items() if k != secret})
    stored = ChannelSettings.objects(id=channel).first()
    return {**wire, f"{_camel(secret)}Set": bool(values.get(secret)),
            "source": "operator" if stored else "environment",
            "updatedAt": stored.updated_at.isoformat() if stored else None}


def write_settings(channel: str, payload: dict[str, Any], environment: Environment) -> dict[str, Any]:
    data = load_wire(_SCHEMAS[channel](), payload)
    secret = SECRET_FIELDS[channel]
    if secret not in data:  # write-only: omitted means "keep the one I set before"
        data[secret] = channel_settings(channel, environment).get(secret)
    ChannelSettings(id=channel, values=data, updated_at=utc_now()).save()
    return read_settings(channel, environment)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


# -- webhook endpoints --------------------------------------------------------------------------

def _endpoint_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"id": endpoint.id, "url": endpoint.url, "eventTypes": list(endpoint.event_types),
            "description": endpoint.description, "enabled": endpoint.enabled, "secretSet": bool(endpoint.secret),
            "createdAt": endpoint.created_at.isoformat(), "updatedAt": endpoint.updated_at.isoformat()}


def list_webhooks() -> list[dict[str, Any]]:
    return [_endpoint_out(e) for e in WebhookEndpoint.objects.order_by("created_at")]


def get_webhook(endpoint_id: str) -> dict[str, Any]:
    return _endpoint_out(get_or_not_found(WebhookEndpoint, endpoint_id, "webhook endpoint"))


def create_webhook(payload: dict[str, Any], environment: Environment) -> dict[str, Any]:
    data = load_wire(WebhookEndpointSchema(), payload)
    _require_a_secret(data.get("secret"), environment)
    now = utc_now()
    endpoint = WebhookEndpoint(id=str(uuid.uuid4()), url=data["url"], event_types=data["event_types"],
                               description=data["description"], enabled=data["enabled"],
                               secret=data.get("secret"), created_at=now, updated_at=now)
    endpoint.save(force_insert=True)
    return _endpoint_out(endpoint)


def replace_webhook(endpoint_id: str, payload: dict[str, Any], environment: Environment) -> dict[str, Any]:
    endpoint = get_or_not_found(WebhookEndpoint, endpoint_id, "webhook endpoint")
    data = load_wire(WebhookEndpointSchema(), payload)
    secret = data["secret"] if "secret" in data else endpoint.secret
    _require_a_secret(secret, environment)
    endpoint.update(url=data["url"], event_types=data["event_types"], description=data["description"],
                    enabled=data["enabled"], secret=secret, updated_at=utc_now())
    return get_webhook(endpoint_id)


def delete_webhook(endpoint_id: str) -> None:
    get_or_not_found(WebhookEndpoint, endpoint_id, "webhook endpoint").delete()


def _require_a_secret(secret: str | None, environment: Environment) -> None:
    if not secret and not environment.webhook_secret:
        raise ValidationFailed("A webhook needs a signing secret", {
            "secret": "required: no default signing secret (NOTIFICATION_WEBHOOK_SECRET) is configured"})


def endpoints_for(event_type: str) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects(event_types=event_type, enabled=True).order_by("created_at"))


# -- templates ------------------------------------------------------------------------------------

def template_parts(kind: Kind) -> dict[str, str]:
    stored = TemplateDocument.objects(id=kind.value).first()
    return {**templates.default_parts(kind), **(stored.parts if stored else {})}


def _template_out(kind: Kind) -> dict[str, Any]:
    stored = TemplateDocument.objects(id=kind.value).first()
    return {"type": kind.value, **template_parts(kind), "variables": sorted(templates.template_variables(kind)),
            "customized": stored is not None, "updatedAt": stored.updated_at.isoformat() if stored else None}


def list_templates() -> list[dict[str, Any]]:
    return [_template_out(kind) for kind in Kind]


def get_template(kind_name: str) -> dict[str, Any]:
    return _template_out(templates.kind_of(kind_name))


def write_template(kind_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Replace some or all parts of a kind's templates; parts not sent keep their current text."""
    kind = templates.kind_of(kind_name)
    if not isinstance(payload, dict) or not payload:
        raise ValidationFailed("Send at least one template part", {"_schema": f"parts: {', '.join(templates.PARTS)}"})
    checked = templates.validate(kind, load_wire(TemplatePartsSchema(), payload))
    stored = TemplateDocument.objects(id=kind.value).first()
    TemplateDocument(id=kind.value, parts={**(stored.parts if stored else {}), **checked}, updated_at=utc_now()).save()
    return _template_out(kind)


def reset_template(kind_name: str) -> dict[str, Any]:
    kind = templates.kind_of(kind_name)
    TemplateDocument.objects(id=kind.value).delete()
    return _template_out(kind)


# -- customer preferences ----------------------------------------------------------------------

def preferences(customer_id: int) -> dict[str, Any]:
    stored = CustomerPreferences.objects(id=customer_id).first()
    return {"customerId": customer_id, "optOut": [c.value for c in stored.opted_out] if stored else [],
            "contactTag": stored.contact_tag if stored else None,
            "updatedAt": stored.updated_at.isoformat() if stored else None}


def set_preferences(customer_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    data = load_wire(PreferencesSchema(), payload)
    CustomerPreferences(id=customer_id, opted_out=[Channel(c) for c in sorted(set(data["opt_out"]))],
                        contact_tag=data["contact_tag"], updated_at=utc_now()).save()
    return preferences(customer_id)

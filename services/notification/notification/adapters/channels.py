"""The three delivery channels. Each `send` returns on success or raises DeliveryFailed
with a reason an operator can read; the caller records the attempt and schedules retries.

Only the standard library is used (smtplib, urllib), so the worker's eventlet monkey-patching
makes every send cooperative.
"""
from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

from notification.domain import signing


class DeliveryFailed(Exception):
    pass


def send_email(settings: dict[str, Any], recipient: str, content: dict[str, str], message_id: str) -> None:
    """One message with a text and an HTML part. `message_id` is the notification's id, so a
    receiver (or a human) can tie the email to its record."""
    if not settings.get("host"):
        raise DeliveryFailed("SMTP host is not configured")
    message = EmailMessage()
    message["From"] = settings["from_address"]
    message["To"] = recipient
    message["Subject"] = content["subject"]
    message["Message-ID"] = make_msgid(idstring=message_id, domain="monetization.local")
    message["X-Notification-Id"] = message_id
    message.set_content(content["text"])
    message.add_alternative(content["html"], subtype="html")
    try:
        with smtplib.SMTP(settings["host"], int(settings.get("port") or 25),
                          timeout=float(settings.get("timeout_seconds") or 10)) as smtp:
            if settings.get("starttls"):
                smtp.starttls(context=ssl.create_default_context())
            if settings.get("username"):
                smtp.login(settings["username"], settings.get("password") or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP {settings['host']}:{settings.get('port')}: {exc}") from exc


class SmsProvider(Protocol):
    """What an SMS provider adapter offers; `HttpSmsProvider` is the one shipped."""

    def send(self, to: str, text: str, reference: str) -> None: ...


class HttpSmsProvider:
    """An SMS provider reached by `POST <url>` with JSON `{"from", "to", "text", "reference"}` and
    `Authorization: Bearer <apiKey>`; any 2xx is accepted. `reference` (the notification id) lets
    the provider drop a duplicate."""

    def __init__(self, settings: dict[str, Any]):
        if not settings.get("url"):
            raise DeliveryFailed("SMS provider URL is not configured")
        self.settings = settings

    def send(self, to: str, text: str, reference: str) -> None:
        body = json.dumps({"from": self.settings.get("sender"), "to": to, "text": text,
                           "reference": reference}).encode()
        headers = {"Content-Type": "application/json"}
        if self.settings.get("api_key"):
            headers["Authorization"] = f"Bearer {self.settings['api_key']}"
        post(self.settings["url"], body, headers, float(self.settings.get("timeout_seconds") or 10))


def send_webhook(url: str, body: str, secret: str, delivery_id: str, timestamp: int, timeout: float) -> None:
    raw = body.encode()
    post(url, raw, signing.headers(secret, timestamp, raw, delivery_id), timeout)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    request = urllib.request.Request(url, data=body, headers={"User-Agent": "monetization-notification", **headers},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"{url} answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"{url}: {reason}") from exc

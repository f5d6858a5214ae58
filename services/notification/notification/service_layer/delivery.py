"""Delivery: claim a due notification, send it on its channel, record the attempt, and either
mark it delivered, schedule the next attempt (exponential backoff with jitter), or dead-letter
it after the policy's last attempt. An operator's retry gives a dead notification a new round.

A claim is a lease written atomically, so the event handler (which delivers at once) and the
dispatcher timer (which picks up what is due) never send the same notification together.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from chassis.clock import utc_now
from chassis.errors import Conflict
from chassis.mongo import get_or_not_found
from notification.adapters import channels
from notification.adapters.documents import NotificationDocument, WebhookEndpoint
from notification.domain.model import Channel, Status
from notification.service_layer.configuration import Environment, channel_settings

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=120)


def _collection() -> Any:
    return NotificationDocument._get_collection()


def claim(notification_id: str | None, now: datetime) -> dict[str, Any] | None:
    """Lease one due notification (this one, or the most overdue when None) for sending."""
    query: dict[str, Any] = {"status": Status.PENDING.value, "next_attempt_at": {"$lte": now},
                             "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]}
    if notification_id is not None:
        query["_id"] = notification_id
    return _collection().find_one_and_update(query, {"$set": {"lease_until": now + LEASE}},
                                             sort=[("next_attempt_at", 1)], return_document=ReturnDocument.AFTER)


def deliver(notification_id: str | None, environment: Environment) -> bool:
    """Attempt one notification if it is due and nobody else holds it. Returns whether one was attempted."""
    raw = claim(notification_id, utc_now())
    if raw is None:
        return False
    attempt(raw, environment)
    return True


def attempt(raw: dict[str, Any], environment: Environment) -> None:
    """Send a claimed notification and record the outcome."""
    started = time.perf_counter()
    error = None
    try:
        _send(raw, environment)
    except channels.DeliveryFailed as exc:
        error = str(exc)
    except Exception as exc:  # a bug or an unexpected reply must not leave the lease hanging
        log.exception("delivery crashed", extra={"notification_id": raw["_id"]})
        error = f"unexpected error: {type(exc).__name__}: {exc}"
    _record(raw, error, int((time.perf_counter() - started) * 1000), environment)


def deliver_due(environment: Environment, limit: int = 100) -> int:
    """The dispatcher's sweep: attempt what is due (retries, and anything a crashed handler left)."""
    attempted = 0
    while attempted < limit and deliver(None, environment):
        attempted += 1
    return attempted


def _send(raw: dict[str, Any], environment: Environment) -> None:
    content = raw["content"]
    channel = Channel(raw["channel"])
    if channel is Channel.EMAIL:
        channels.send_email(channel_settings("smtp", environment), raw["recipient"], content, raw["_id"])
    elif channel is Channel.SMS:
        channels.HttpSmsProvider(channel_settings("sms", environment)).send(raw["recipient"], content["text"],
                                                                             raw["_id"])
    else:
        endpoint = WebhookEndpoint.objects(id=raw.get("endpoint_id")).first()
        secret = (endpoint.secret if endpoint else None) or environment.webhook_secret
        if not secret:
            raise channels.DeliveryFailed("no signing secret for this webhook endpoint")
        url = endpoint.url if endpoint else raw["recipient"]
        channels.send_webhook(url, content["body"], secret, raw["_id"], int(time.time()),
                              environment.webhook_timeout)


def _record(raw: dict[str, Any], error: str | None, duration_ms: int, environment: Environment) -> None:
    now = utc_now()
    attempt = {"at": now, "outcome": "failed" if error else "delivered", "error": error, "duration_ms": duration_ms}
    update: dict[str, Any] = {"$push": {"attempts": attempt}, "$set": {"lease_until": None}}
    if error is None:
        update["$set"].update(status=Status.DELIVERED.value, delivered_at=now, next_attempt_at=None)
    else:
        in_round = len(raw.get("attempts", [])) + 1 - raw.get("round_start", 0)
        if environment.retry.gives_up_after(in_round):
            update["$set"].update(status=Status.DEAD.value, dead_at=now, next_attempt_at=None)
            log.warning("notification dead-lettered", extra={"notification_id": raw["_id"], "error": error})
        else:
            update["$set"]["next_attempt_at"] = now + timedelta(seconds=environment.retry.delay_after(in_round))
    _collection().update_one({"_id": raw["_id"], "lease_until": raw["lease_until"]}, update)


def retry(notification_id: str, environment: Environment) -> None:
    """An operator's retry of a dead notification: a new round of attempts, the first one now."""
    document = get_or_not_found(NotificationDocument, notification_id, "notification")
    now = utc_now()
    # Reopened already claimed: the dispatcher cannot take it between the reopening and this attempt.
    reopened = _collection().find_one_and_update(
        {"_id": notification_id, "status": Status.DEAD.value},
        {"$set": {"status": Status.PENDING.value, "next_attempt_at": now, "dead_at": None, "lease_until": now + LEASE,
                  "round_start": len(document.attempts)}}, return_document=ReturnDocument.AFTER)
    if reopened is None:
        raise Conflict(f"notification {notification_id} is {document.status.value}, not dead: nothing to retry")
    attempt(reopened, environment)

"""Reads: a customer's notifications (the details page's table), one notification with its
attempts, and the dead letters an operator may retry."""
from __future__ import annotations

from typing import Any

from chassis.errors import NotFound, load_wire
from notification.adapters.documents import NotificationDocument
from notification.domain.model import Status
from notification.schemas import ListFiltersSchema

MAX_PAGE = 500


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def row(document: NotificationDocument) -> dict[str, Any]:
    return {
        "id": document.id, "customerId": document.customer_id, "triggeredAt": _iso(document.triggered_at),
        "type": document.kind, "eventType": document.event_type, "sourceEventId": document.source_event_id,
        "resource": document.resource, "threshold": document.threshold, "thresholdValue": document.threshold_value,
        "channel": document.channel.value, "recipient": document.recipient, "status": document.status.value,
        "attemptCount": len(document.attempts), "deliveredAt": _iso(document.delivered_at),
        "deadAt": _iso(document.dead_at), "nextAttemptAt": _iso(document.next_attempt_at),
    }


def detail(document: NotificationDocument) -> dict[str, Any]:
    return {**row(document), "content": dict(document.content), "webhookEndpointId": document.endpoint_id,
            "attempts": [{"at": _iso(a.at), "outcome": a.outcome, "error": a.error, "durationMs": a.duration_ms}
                         for a in document.attempts]}


def _page(query: Any, offset: int, limit: int, order: str) -> dict[str, Any]:
    offset, limit = max(0, int(offset)), min(MAX_PAGE, max(1, int(limit)))
    total = query.count()
    return {"items": [row(d) for d in query.order_by(order).skip(offset).limit(limit)], "total": total}


def list_notifications(customer_id: int, filters: dict[str, Any], offset: int = 0, limit: int = 20) -> dict[str, Any]:
    data = load_wire(ListFiltersSchema(), {k: v for k, v in (filters or {}).items() if v not in (None, "")})
    query: dict[str, Any] = {"customer_id": customer_id}
    for name in ("kind", "resource", "channel", "status"):
        if name in data:
            query[name] = data[name]
    if "since" in data:
        query["triggered_at__gte"] = data["since"]
    if "until" in data:
        query["triggered_at__lte"] = data["until"]
    return _page(NotificationDocument.objects(**query), offset, limit, "-triggered_at")


def get_notification(notification_id: str, customer_id: int | None = None) -> dict[str, Any]:
    """One notification; with `customer_id`, another customer's id is NotFound."""
    query: dict[str, Any] = {"id": notification_id}
    if customer_id is not None:
        query["customer_id"] = customer_id
    document = NotificationDocument.objects(**query).first()
    if document is None:
        raise NotFound(f"notification {notification_id} does not exist")
    return detail(document)


def list_dead_letters(offset: int = 0, limit: int = 50) -> dict[str, Any]:
    return _page(NotificationDocument.objects(status=Status.DEAD), offset, limit, "-dead_at")

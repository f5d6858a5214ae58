"""/api/v1/customers/{id}/notifications and /api/v1/notifications: the customer's Notifications
table, dead letters and retries, and the notification configuration (secrets write-only)."""
from __future__ import annotations

from typing import Any

from chassis.http import json_response
from gateway import dependencies
from gateway.service_layer import audit


def _call(method: str, *args: Any) -> Any:
    return dependencies.rpc.call("notification", method, *args)


def _paged(page: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return json_response(page["items"], 200, {"X-Total-Count": str(page["total"]),
                                              "X-Result-Count": str(len(page["items"]))})


def _audited(target: str, read: tuple[Any, ...], change: tuple[Any, ...]) -> tuple[Any, int, dict[str, str]]:
    """Read the state (`read`: method and arguments), make the change, and audit both."""
    before = _call(*read)
    after = _call(*change)
    audit.note(target=target, before=before, after=after)
    return json_response(after)


# -- a customer's notifications ----------------------------------------------------------------

def list_for_customer(customer_id: int, type_: str | None = None, resource: str | None = None,
                      channel: str | None = None, status: str | None = None, from_: str | None = None,
                      to: str | None = None, offset: int = 0, limit: int = 20) -> tuple[Any, int, dict[str, str]]:
    # connexion appends "_" to parameters named like Python builtins and keywords (type, from).
    filters = {"type": type_, "resource": resource, "channel": channel, "status": status, "from": from_, "to": to}
    return _paged(_call("list_notifications", customer_id, filters, offset, limit))


def get_for_customer(customer_id: int, notification_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_notification", notification_id, customer_id))


def get_preferences(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    dependencies.rpc.call("customer", "get_customer", customer_id)  # 404 for an unknown customer
    return json_response(_call("get_preferences", customer_id))


def set_preferences(customer_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    dependencies.rpc.call("customer", "get_customer", customer_id)
    return _audited(f"customer/{customer_id}/notificationPreferences", ("get_preferences", customer_id),
                    ("set_preferences", customer_id, body))


# -- dead letters -----------------------------------------------------------------------------------

def list_dead_letters(offset: int = 0, limit: int = 50) -> tuple[Any, int, dict[str, str]]:
    return _paged(_call("list_dead_letters", offset, limit))


def get(notification_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_notification", notification_id))


def retry(notification_id: str) -> tuple[Any, int, dict[str, str]]:
    return _audited(f"notification/{notification_id}", ("get_notification", notification_id),
                    ("retry_notification", notification_id))


# -- configuration ---------------------------------------------------------------------------------

def _get_settings(channel: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_channel_settings", channel))


def _set_settings(channel: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _audited(f"notification-settings/{channel}", ("get_channel_settings", channel),
                    ("set_channel_settings", channel, body))


def get_smtp_settings() -> tuple[Any, int, dict[str, str]]:
    return _get_settings("smtp")


def set_smtp_settings(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _set_settings("smtp", body)


def get_sms_settings() -> tuple[Any, int, dict[str, str]]:
    return _get_settings("sms")


def set_sms_settings(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _set_settings("sms", body)


def list_webhooks() -> tuple[Any, int, dict[str, str]]:
    endpoints = _call("list_webhooks")
    return json_response(endpoints, 200, {"X-Total-Count": str(len(endpoints)),
                                          "X-Result-Count": str(len(endpoints))})


def create_webhook(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    endpoint = _call("create_webhook", body)
    audit.note(target=f"webhook/{endpoint['id']}", before=None, after=endpoint)
    return json_response(endpoint, 201, {"Location": f"/api/v1/notifications/webhooks/{endpoint['id']}"})


def get_webhook(webhook_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_webhook", webhook_id))


def replace_webhook(webhook_id: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _audited(f"webhook/{webhook_id}", ("get_webhook", webhook_id), ("replace_webhook", webhook_id, body))


def delete_webhook(webhook_id: str) -> tuple[Any, int, dict[str, str]]:
    before = _call("get_webhook", webhook_id)
    _call("delete_webhook", webhook_id)
    audit.note(target=f"webhook/{webhook_id}", before=before, after=None)
    return None, 204, {}


def list_templates() -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("list_templates"))


def get_template(type_: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_template", type_))


def set_template(type_: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _audited(f"notification-template/{type_}", ("get_template", type_), ("set_template", type_, body))


def reset_template(type_: str) -> tuple[Any, int, dict[str, str]]:
    return _audited(f"notification-template/{type_}", ("get_template", type_), ("reset_template", type_))

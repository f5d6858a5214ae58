"""The notification worker: event intake (delivering at once), the retry dispatcher, and the
RPC methods behind the gateway's notification endpoints."""
from __future__ import annotations

from typing import Any

from chassis.envelope import CloudEvent
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, RemoteServices, WorkerBase, cloudevent_handler, rpc, timer
from notification.adapters.documents import ALL_DOCUMENTS
from notification.service_layer import configuration, customers, delivery, intake, queries
from notification.service_layer.configuration import Environment

DISPATCH_SECONDS = 0.5


class NotificationService(WorkerBase):
    name = "notification"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))
    services = RemoteServices()

    @property
    def environment(self) -> Environment:
        return Environment.from_settings(self.settings)

    def _take(self, event: CloudEvent) -> None:
        environment = self.environment
        for notification_id in intake.take(event, self.services):
            delivery.deliver(notification_id, environment)

    @cloudevent_handler("balance.threshold_crossed")
    def on_threshold_crossed(self, event: CloudEvent) -> None:
        self._take(event)

    @cloudevent_handler("billing.invoice_issued")
    def on_invoice_issued(self, event: CloudEvent) -> None:
        self._take(event)

    @cloudevent_handler("billing.payment_failed")
    def on_payment_failed(self, event: CloudEvent) -> None:
        self._take(event)

    @cloudevent_handler("selfcare.email_requested")
    def on_email_requested(self, event: CloudEvent) -> None:
        self._take(event)

    @cloudevent_handler("customer.purged")
    def on_customer_purged(self, event: CloudEvent) -> None:
        customers.purge_customer("notification.on_customer_purged", event)

    @timer(DISPATCH_SECONDS)
    def dispatch_due(self) -> None:
        delivery.deliver_due(self.environment)

    # -- the customer's notifications and the dead letters ---------------------------------

    @rpc
    def list_notifications(self, customer_id: int, filters: dict[str, Any], offset: int = 0,
                           limit: int = 20) -> dict[str, Any]:
        return queries.list_notifications(customer_id, filters, offset, limit)

    @rpc
    def get_notification(self, notification_id: str, customer_id: int | None = None) -> dict[str, Any]:
        return queries.get_notification(notification_id, customer_id)

    @rpc
    def list_dead_letters(self, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        return queries.list_dead_letters(offset, limit)

    @rpc
    def retry_notification(self, notification_id: str) -> dict[str, Any]:
        delivery.retry(notification_id, self.environment)
        return queries.get_notification(notification_id)

    # -- configuration ------------------------------------------------------------------------

    @rpc
    def get_channel_settings(self, channel: str) -> dict[str, Any]:
        return configuration.read_settings(configuration.settings_channel(channel), self.environment)

    @rpc
    def set_channel_settings(self, channel: str, payload: dict[str, Any]) -> dict[str, Any]:
        return configuration.write_settings(configuration.settings_channel(channel), payload, self.environment)

    @rpc
    def list_webhooks(self) -> list[dict[str, Any]]:
        return configuration.list_webhooks()

    @rpc
    def get_webhook(self, endpoint_id: str) -> dict[str, Any]:
        return configuration.get_webhook(endpoint_id)

    @rpc
    def create_webhook(self, payload: dict[str, Any]) -> dict[str, Any]:
        return configuration.create_webhook(payload, self.environment)

    @rpc
    def replace_webhook(self, endpoint_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return configuration.replace_webhook(endpoint_id, payload, self.environment)

    @rpc
    def delete_webhook(self, endpoint_id: str) -> None:
        configuration.delete_webhook(endpoint_id)

    @rpc
    def list_templates(self) -> list[dict[str, Any]]:
        return configuration.list_templates()

    @rpc
    def get_template(self, kind: str) -> dict[str, Any]:
        return configuration.get_template(kind)

    @rpc
    def set_template(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return configuration.write_template(kind, payload)

    @rpc
    def reset_template(self, kind: str) -> dict[str, Any]:
        return configuration.reset_template(kind)

    @rpc
    def get_preferences(self, customer_id: int) -> dict[str, Any]:
        return configuration.preferences(customer_id)

    @rpc
    def set_preferences(self, customer_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        return configuration.set_preferences(customer_id, payload)

"""The rating worker: thin RPC methods and event handlers over the use cases."""
from __future__ import annotations

from typing import Any

from chassis.envelope import CloudEvent
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase, cloudevent_handler, rpc
from rating.adapters.documents import ALL_DOCUMENTS
from rating.service_layer import balance_groups, customers, sharing, subscriptions


class RatingService(WorkerBase):
    name = "rating"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

    @cloudevent_handler("customer.purged")
    def on_customer_purged(self, event: CloudEvent) -> None:
        customers.purge_customer("rating.on_customer_purged", event)

    @rpc
    def create_balance_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        return balance_groups.create_balance_group(payload)

    @rpc
    def get_balance_group(self, group_id: str) -> dict[str, Any]:
        return balance_groups.get_balance_group(group_id)

    @rpc
    def delete_balance_group(self, group_id: str) -> bool:
        return balance_groups.delete_balance_group(group_id)

    @rpc
    def create_subscription(self, payload: dict[str, Any]) -> dict[str, Any]:
        return subscriptions.create_subscription(payload)

    @rpc
    def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        return subscriptions.get_subscription(subscription_id)

    @rpc
    def list_subscriptions(self, customer_id: int) -> list[dict[str, Any]]:
        return subscriptions.list_subscriptions(customer_id)

    @rpc
    def cancel_subscription(self, subscription_id: str, reason: str) -> dict[str, Any]:
        return subscriptions.cancel_subscription(subscription_id, reason)

    @rpc
    def discard_subscription(self, subscription_id: str, reason: str) -> bool:
        return subscriptions.discard_subscription(subscription_id, reason)

    @rpc
    def create_sharing_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        return sharing.create_sharing_group(payload)

    @rpc
    def get_sharing_group(self, group_id: str) -> dict[str, Any]:
        return sharing.get_sharing_group(group_id)

    @rpc
    def join_sharing_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        return sharing.join_sharing_group(payload)

    @rpc
    def leave_sharing_group(self, member_id: str) -> bool:
        return sharing.leave_sharing_group(member_id)

"""The rating worker: thin RPC methods and event handlers over the use cases."""
from __future__ import annotations

from typing import Any

from chassis.envelope import CloudEvent
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, RemoteServices, WorkerBase, cloudevent_handler, rpc, timer
from chassis.settings import Settings
from rating import bootstrap, config
from rating.adapters.catalog import CatalogCache
from rating.adapters.documents import ALL_DOCUMENTS
from rating.adapters.indexes import ensure_usage_indexes
from rating.service_layer import (
    balance_groups,
    balances,
    charging,
    customers,
    cycles,
    pending_charges,
    services,
    sharing,
    subscriptions,
    usage,
)

_catalog: CatalogCache | None = None


def _start() -> None:
    """Before the worker serves: its own settings checked (a bad value stops it at start, not at the first run of
    the timer that reads it), its indexes."""
    config.charge_flush_window(Settings.from_env("rating"))
    ensure_indexes(ALL_DOCUMENTS)
    ensure_usage_indexes()


class RatingService(WorkerBase):
    name = "rating"
    db = MongoConnection(_start)
    remote = RemoteServices()

    @property
    def catalog(self) -> CatalogCache:
        """One cache per process: catalog versions are immutable, configuration is re-read after its TTL."""
        global _catalog
        if _catalog is None:
            client = self.remote
            _catalog = bootstrap.catalog(lambda method, *args: client.call("catalog", method, *args))
        return _catalog

    @cloudevent_handler("customer.purged")
    def on_customer_purged(self, event: CloudEvent) -> None:
        customers.purge_customer("rating.on_customer_purged", event)

    @rpc
    def create_balance_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        return balance_groups.create_balance_group(payload)

    @rpc
    def get_balance_group(self, group_id: str, customer_id: int | None = None) -> dict[str, Any]:
        return balance_groups.get_balance_group(group_id, customer_id)

    @rpc
    def edit_balance_group(self, customer_id: int, group_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        return balance_groups.edit_balance_group(customer_id, group_id, patch)

    @rpc
    def list_balance_groups(self, customer_id: int) -> list[dict[str, Any]]:
        return balance_groups.list_balance_groups(customer_id)

    @rpc
    def delete_balance_group(self, group_id: str) -> bool:
        return balance_groups.delete_balance_group(group_id)

    @rpc
    def create_subscription(self, payload: dict[str, Any]) -> dict[str, Any]:
        return subscriptions.create_subscription(payload)

    @rpc
    def get_subscription(self, subscription_id: str, customer_id: int | None = None) -> dict[str, Any]:
        return subscriptions.get_subscription(subscription_id, customer_id)

    @rpc
    def list_subscriptions(self, customer_id: int) -> list[dict[str, Any]]:
        return subscriptions.list_subscriptions(customer_id)

    @rpc
    def add_products(self, customer_id: int, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return subscriptions.add_products(customer_id, subscription_id, payload)

    @rpc
    def edit_product(self, customer_id: int, subscription_id: str, product_id: str,
                     patch: dict[str, Any]) -> dict[str, Any]:
        return subscriptions.edit_product(customer_id, subscription_id, product_id, patch)

    @rpc
    def cancel_product(self, customer_id: int, subscription_id: str, product_id: str) -> dict[str, Any]:
        return subscriptions.cancel_product(customer_id, subscription_id, product_id)

    @rpc
    def preview_plan_transition(self, customer_id: int, subscription_id: str,
                                payload: dict[str, Any]) -> dict[str, Any]:
        return subscriptions.preview_plan_transition(customer_id, subscription_id, payload)

    @rpc
    def transition_plan(self, customer_id: int, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return subscriptions.transition_plan(customer_id, subscription_id, payload)

    @rpc
    def cancel_subscription(self, subscription_id: str, reason: str,
                            customer_id: int | None = None) -> dict[str, Any]:
        return subscriptions.cancel_subscription(subscription_id, reason, customer_id)

    @rpc
    def discard_subscription(self, subscription_id: str, reason: str) -> bool:
        return subscriptions.discard_subscription(subscription_id, reason)

    @rpc
    def list_services(self, customer_id: int, subscription_id: str | None = None,
                      status: str | None = None) -> list[dict[str, Any]]:
        return services.list_services(customer_id, subscription_id, status)

    @rpc
    def get_service(self, customer_id: int, service_id: str) -> dict[str, Any]:
        return services.get_service(customer_id, service_id)

    @rpc
    def edit_service(self, customer_id: int, service_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        return services.edit_service(customer_id, service_id, patch)

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

    @rpc
    def list_sharing_groups(self, owner_customer_ids: list[int] | None = None,
                            member_customer_id: int | None = None) -> list[dict[str, Any]]:
        return sharing.list_sharing_groups(owner_customer_ids, member_customer_id)

    @rpc
    def edit_sharing_group(self, owner_customer_id: int, group_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        return sharing.edit_sharing_group(owner_customer_id, group_id, patch)

    @rpc
    def cancel_sharing_group(self, owner_customer_id: int, group_id: str) -> dict[str, Any]:
        return sharing.cancel_sharing_group(owner_customer_id, group_id)

    @rpc
    def edit_membership(self, customer_id: int, member_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        return sharing.edit_membership(customer_id, member_id, patch)

    @rpc
    def remove_membership(self, customer_id: int, member_id: str) -> bool:
        return sharing.remove_membership(customer_id, member_id)

    # -- balances ---------------------------------------------------------------------------------
    @rpc
    def create_balance(self, payload: dict[str, Any]) -> dict[str, Any]:
        return balances.create_balance(payload, self.catalog.resource)

    @rpc
    def adjust_balance(self, payload: dict[str, Any]) -> dict[str, Any]:
        return balances.adjust_balance(payload, self.catalog.resource)

    @rpc
    def list_balances(self, customer_id: int, balance_group_id: str | None = None,
                      as_of: str | None = None) -> dict[str, Any]:
        return balances.list_balances(customer_id, balance_group_id, balances.parse_as_of(as_of))

    @cloudevent_handler("billing.cycle_started")
    def on_cycle_started(self, event: CloudEvent) -> None:
        cycles.on_cycle_started("rating.on_cycle_started", event)

    # -- usage ------------------------------------------------------------------------------------
    @rpc
    def rate_usage(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return usage.rate_usage_batch(events, self.catalog, config.lateness_window(self.settings))

    @rpc
    def create_usage_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        return usage.create_usage_event(payload, self.catalog, config.lateness_window(self.settings))

    @rpc
    def list_usage(self, customer_id: int, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        return usage.list_usage(customer_id, filters, self.catalog)

    @rpc
    def adjust_usage(self, payload: dict[str, Any]) -> dict[str, Any]:
        return usage.adjust_usage(payload)

    # -- real-time charging: reserve, commit and release are answered in batches by `python -m rating charging`
    # (RPC service `rating_charging`, decision 0407); the worker expires what nobody settled.
    @timer(1.0)
    def expire_reservations(self) -> None:
        charging.expire_reservations()

    @timer(1.0)
    def flush_pending_charges(self) -> None:
        """Committed postpaid charges reach billing summed per service and cycle (decision 0415)."""
        pending_charges.flush_pending_charges(config.charge_flush_window(self.settings))

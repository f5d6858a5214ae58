"""The customer worker: thin RPC methods and event handlers over the use cases."""
from __future__ import annotations

from typing import Any

from chassis.envelope import CloudEvent
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, RemoteServices, WorkerBase, cloudevent_handler, rpc
from chassis.versions import CachingRpc, ExpiringCache
from customer import bootstrap, views
from customer.adapters.documents import ALL_DOCUMENTS
from customer.service_layer import counters, customers

# A customer type that exists stays (the catalog has no way to remove one): knowing it for a minute saves
# one catalog call per new customer. An unknown type is asked again every time.
_CUSTOMER_TYPES = ExpiringCache(ttl=60)


class CustomerService(WorkerBase):
    name = "customer"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))
    services = RemoteServices()
    uow = bootstrap.transactions()

    @rpc
    def create_customer(self, payload: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
        catalog_reads = CachingRpc(self.services, _CUSTOMER_TYPES, {("catalog", "get_customer_type")})
        return customers.create_customer(self.uow, payload, catalog_reads, request_id)

    @rpc
    def get_customer(self, customer_id: int) -> dict[str, Any]:
        return customers.get_customer(self.uow, customer_id)

    @rpc
    def update_account(self, customer_id: int, patch: dict[str, Any]) -> dict[str, Any]:
        return customers.update_account(self.uow, customer_id, patch, self.services)

    @rpc
    def discard_customer(self, customer_id: int, reason: str) -> dict[str, Any]:
        return customers.discard_customer(self.uow, customer_id, reason)

    @rpc
    def discard_customer_request(self, request_id: str, reason: str) -> dict[str, Any]:
        return customers.discard_customer_request(self.uow, request_id, reason)

    @rpc
    def close_customer(self, customer_id: int) -> dict[str, Any]:
        retention_days = int(self.settings.service_setting("RETENTION_DAYS", "30"))
        return customers.close_customer(self.uow, customer_id, self.services, retention_days)

    @rpc
    def list_contacts(self, customer_id: int) -> list[dict[str, Any]]:
        return customers.list_contacts(self.uow, customer_id)

    @rpc
    def add_contact(self, customer_id: int, contact: dict[str, Any]) -> dict[str, Any]:
        return customers.add_contact(self.uow, customer_id, contact)

    @rpc
    def update_contact(self, customer_id: int, tag: str, changes: dict[str, Any]) -> dict[str, Any]:
        return customers.update_contact(self.uow, customer_id, tag, changes)

    @rpc
    def delete_contact(self, customer_id: int, tag: str) -> dict[str, Any]:
        return customers.delete_contact(self.uow, customer_id, tag)

    @rpc
    def get_payment_info(self, customer_id: int) -> dict[str, Any] | None:
        return customers.get_payment_info(self.uow, customer_id)

    @rpc
    def set_payment_info(self, customer_id: int, payment_info: dict[str, Any]) -> dict[str, Any] | None:
        return customers.set_payment_info(self.uow, customer_id, payment_info)

    @rpc
    def search_customers(self, filters: dict[str, Any], offset: int = 0, limit: int = 20) -> dict[str, Any]:
        return views.search_customers(filters, offset, limit)

    @rpc
    def export_page(self, filters: dict[str, Any], after_id: int = 0, size: int = 2000) -> dict[str, Any]:
        return views.export_page(filters, after_id, size)

    @cloudevent_handler("subscription.created")
    def on_subscription_created(self, event: CloudEvent) -> None:
        counters.count(self.uow, event)

    @cloudevent_handler("subscription.cancelled")
    def on_subscription_cancelled(self, event: CloudEvent) -> None:
        counters.count(self.uow, event)

    @cloudevent_handler("service.created")
    def on_service_created(self, event: CloudEvent) -> None:
        counters.count(self.uow, event)

    @cloudevent_handler("service.deleted")
    def on_service_deleted(self, event: CloudEvent) -> None:
        counters.count(self.uow, event)

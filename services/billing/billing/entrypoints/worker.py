"""The billing worker: thin RPC methods and event handlers over the use cases."""
from __future__ import annotations

from typing import Any

from billing.adapters.documents import ALL_DOCUMENTS
from billing.entrypoints.payments_rpc import PaymentsRpc
from billing.service_layer import customers, hierarchy, invoices, profiles
from chassis.envelope import CloudEvent
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase, cloudevent_handler, rpc


class BillingService(PaymentsRpc, WorkerBase):
    name = "billing"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

    @cloudevent_handler("customer.created")
    def on_customer_created(self, event: CloudEvent) -> None:
        customers.record_customer("billing.on_customer_created", event)

    @cloudevent_handler("customer.purged")
    def on_customer_purged(self, event: CloudEvent) -> None:
        customers.purge_customer("billing.on_customer_purged", event)

    @rpc
    def get_customer(self, customer_id: int) -> dict[str, Any]:
        return customers.get_customer(customer_id)

    @rpc
    def create_billing_profile(self, payload: dict[str, Any]) -> dict[str, Any]:
        return profiles.create_billing_profile(payload)

    @rpc
    def get_billing_profile(self, profile_id: str) -> dict[str, Any]:
        return profiles.get_billing_profile(profile_id)

    @rpc
    def list_billing_profiles(self, customer_id: int) -> list[dict[str, Any]]:
        return profiles.list_billing_profiles(customer_id)

    @rpc
    def delete_billing_profile(self, profile_id: str) -> bool:
        return profiles.delete_billing_profile(profile_id)

    @rpc
    def count_unpaid_invoices(self, customer_id: int) -> int:
        return invoices.count_unpaid_invoices(customer_id)

    @rpc
    def create_hierarchy_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        return hierarchy.create_hierarchy_group(payload)

    @rpc
    def get_hierarchy_group(self, group_id: str) -> dict[str, Any]:
        return hierarchy.get_hierarchy_group(group_id)

    @rpc
    def join_hierarchy_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        return hierarchy.join_hierarchy_group(payload)

    @rpc
    def leave_hierarchy_group(self, member_id: str) -> bool:
        return hierarchy.leave_hierarchy_group(member_id)

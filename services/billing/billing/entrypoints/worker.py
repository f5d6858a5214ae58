"""The billing worker: thin RPC methods and event handlers over the use cases."""
from __future__ import annotations

from typing import Any

from billing.adapters.documents import ALL_DOCUMENTS
from billing.service_layer import customers
from chassis.envelope import CloudEvent
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase, cloudevent_handler, rpc


class BillingService(WorkerBase):
    name = "billing"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

    @cloudevent_handler("customer.created")
    def on_customer_created(self, event: CloudEvent) -> None:
        customers.record_customer("billing.on_customer_created", event)

    @rpc
    def get_customer(self, customer_id: int) -> dict[str, Any]:
        return customers.get_customer(customer_id)

"""The customer worker: thin RPC methods over the use cases."""
from __future__ import annotations

from typing import Any

from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase, rpc
from customer.adapters.documents import ALL_DOCUMENTS
from customer.service_layer import customers


class CustomerService(WorkerBase):
    name = "customer"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

    @rpc
    def create_customer(self, payload: dict[str, Any]) -> dict[str, Any]:
        return customers.create_customer(payload)

    @rpc
    def get_customer(self, customer_id: int) -> dict[str, Any]:
        return customers.get_customer(customer_id)

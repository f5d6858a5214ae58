from collections.abc import Callable
from typing import Any

import pytest

from chassis.clock import utc_now
from chassis.mongo import UnitOfWork, ensure_indexes, transaction
from customer.adapters.documents import ALL_DOCUMENTS
from customer.adapters.repository import MongoUnitOfWork
from customer.domain.model import CUSTOMER_SEQUENCE
from customer.service_layer.customers import load_account, new_customer_record

ACCOUNT = {"firstName": "Ann", "lastName": "Smith", "email": "ann.smith@example.com", "phone": "+49 30 1234567",
           "address": "Main Street 1", "city": "Berlin", "state": "BE", "country": "DE", "customerType": "regular"}


@pytest.fixture(scope="module")
def catalog(start_services: Callable[..., Any], amqp_uri: str) -> Any:
    """A real catalog worker knowing the customer type `regular` and the attribute `segment`;
    yields the RPC client the use cases call it with (as the worker's `services`)."""
    from chassis.nameko_adapter import RpcClient

    start_services("catalog")
    client = RpcClient(amqp_uri, timeout=20)
    client.call("catalog", "create_entry", "customer_type", {"code": "regular", "name": "Regular"})
    client.call("catalog", "create_entry", "custom_attribute", {
        "entity": "customer", "name": "segment", "type": "enum", "allowedValues": ["consumer", "smb"]})
    yield client
    client.close()


@pytest.fixture
def customer_db(service_db: Callable[[str], Any]) -> Any:
    db = service_db("customer")
    ensure_indexes(ALL_DOCUMENTS, db)
    return db


@pytest.fixture
def seed(customer_db: Any) -> Callable[..., int]:
    """Store an account the way create_customer does, minus the catalog check
    (the catalog's own tests and the end-to-end tests cover that)."""

    def store(**overrides: Any) -> int:
        data = load_account({**ACCOUNT, **overrides})

        def insert(uow: UnitOfWork) -> int:
            record = new_customer_record(uow.next_sequence(CUSTOMER_SEQUENCE), data, {}, utc_now())
            MongoUnitOfWork(uow).customers.add(record)
            return record["_id"]

        return transaction(insert, source="customer")

    return store

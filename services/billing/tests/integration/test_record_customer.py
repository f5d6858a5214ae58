import pytest

from billing.service_layer import customers
from chassis.envelope import new_event
from chassis.errors import NotFound

DATA = {"id": 12, "firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com", "status": "active",
        "createdAt": "2026-01-01T00:00:00+00:00"}


def test_a_created_customer_is_recorded_once_however_often_it_arrives(service_db):
    db = service_db("billing")
    event = new_event("customer.created", "customer", DATA, subject="12")
    assert customers.record_customer("billing.on_customer_created", event) is True
    assert customers.record_customer("billing.on_customer_created", event) is False
    assert db.customers.count_documents({}) == 1
    assert customers.get_customer(12) == {
        "id": 12, "name": "Grace Hopper", "email": "grace@example.com",
        "recordedAt": customers.get_customer(12)["recordedAt"]}
    assert db.customers.find_one({"_id": 12})["source_event"] == event.id


def test_billing_does_not_invent_customers(service_db):
    service_db("billing")
    with pytest.raises(NotFound):
        customers.get_customer(1)


def test_a_purge_that_overtakes_the_creation_is_not_undone_by_it(service_db):
    db = service_db("billing")
    created = new_event("customer.created", "customer", {**DATA, "id": 77}, subject="77")
    purged = new_event("customer.purged", "customer",
                       {"id": 77, "reason": "onboarding compensated", "purgedAt": "2026-01-01T00:00:01+00:00"})
    assert customers.purge_customer("billing.on_customer_purged", purged) is True
    customers.record_customer("billing.on_customer_created", created)  # arrives late, on its own queue
    assert db.customers.count_documents({"_id": 77}) == 0
    customers.record_customer("billing.on_customer_created", new_event("customer.created", "customer", DATA))
    assert db.customers.count_documents({"_id": 12}) == 1  # other customers are unaffected

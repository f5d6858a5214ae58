import pytest

from chassis.errors import NotFound, ValidationFailed
from customer.service_layer import customers


def test_customers_get_consecutive_numbers_and_a_created_event(service_db):
    db = service_db("customer")
    first = customers.create_customer({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"})
    second = customers.create_customer({"firstName": "Alan", "lastName": "Turing", "email": "alan@example.com"})
    assert (first["id"], second["id"]) == (1, 2)
    assert first["status"] == "active"
    assert first["createdAt"] == first["updatedAt"]
    events = list(db.outbox.find().sort("created_at", 1))
    assert [e["envelope"]["type"] for e in events] == ["customer.created", "customer.created"]
    assert events[0]["envelope"]["subject"] == "1"
    assert events[0]["envelope"]["data"]["email"] == "ada@example.com"
    assert customers.get_customer(2)["lastName"] == "Turing"


def test_invalid_input_stores_nothing_and_sends_nothing(service_db):
    db = service_db("customer")
    with pytest.raises(ValidationFailed) as caught:
        customers.create_customer({"firstName": "Ada", "lastName": "Lovelace", "email": "nope"})
    assert "email" in caught.value.fields
    assert db.customers.count_documents({}) == 0
    assert db.outbox.count_documents({}) == 0
    assert db.counters.count_documents({}) == 0


def test_an_unknown_customer_is_not_found(service_db):
    service_db("customer")
    with pytest.raises(NotFound):
        customers.get_customer(404)

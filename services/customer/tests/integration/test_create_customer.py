import pytest

from chassis.errors import Conflict, NotFound, ValidationFailed
from customer.bootstrap import transactions
from customer.service_layer import customers

UOW = transactions()

ADA = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000",
       "address": "12 St James's Square", "city": "London", "state": "LND", "country": "GB",
       "customerType": "regular"}


def test_customers_get_consecutive_numbers_and_a_created_event(customer_db, catalog):
    first = customers.create_customer(UOW, {**ADA, "customAttributes": {"segment": "smb"}}, catalog)
    second = customers.create_customer(UOW, {**ADA, "firstName": "Alan", "lastName": "Turing",
                                        "email": "alan@example.com"}, catalog)
    assert (first["id"], second["id"]) == (1, 2)
    assert first["status"] == "active"
    assert first["createdAt"] == first["updatedAt"]
    assert first["customAttributes"] == {"segment": "smb"}
    events = list(customer_db.outbox.find().sort("created_at", 1))
    assert [e["envelope"]["type"] for e in events] == ["customer.created", "customer.created"]
    assert events[0]["envelope"]["subject"] == "1"
    assert events[0]["envelope"]["data"]["email"] == "ada@example.com"
    assert events[0]["envelope"]["data"]["customerType"] == "regular"
    assert customers.get_customer(UOW, 2)["lastName"] == "Turing"
    assert customers.get_customer(UOW, 1) == first


@pytest.mark.parametrize(("overrides", "fields"), [
    ({"email": "nope"}, {"email"}),
    ({"customerType": "martian", "customAttributes": {"segment": "galactic", "shoe": "42"}},
     {"customerType", "customAttributes.segment", "customAttributes.shoe"}),
    ({"organization": "4111 1111 1111 1111"}, {"organization"}),
])
def test_invalid_input_stores_nothing_and_sends_nothing(customer_db, catalog, overrides, fields):
    with pytest.raises(ValidationFailed) as caught:
        customers.create_customer(UOW, {**ADA, **overrides}, catalog)
    assert set(caught.value.fields) == fields
    assert customer_db.customers.count_documents({}) == 0
    assert customer_db.outbox.count_documents({}) == 0
    assert customer_db.counters.count_documents({}) == 0


def test_only_the_type_and_attributes_of_an_account_can_be_edited(customer_db, catalog):
    cid = customers.create_customer(UOW, ADA, catalog)["id"]
    edited = customers.update_account(UOW, cid, {"customAttributes": {"segment": "consumer"}}, catalog)
    assert edited["customAttributes"] == {"segment": "consumer"}
    with pytest.raises(ValidationFailed) as caught:
        customers.update_account(UOW, cid, {"email": "x@example.com"}, catalog)
    assert "email" in caught.value.fields
    with pytest.raises(ValidationFailed):
        customers.update_account(UOW, cid, {"customerType": "martian"}, catalog)
    assert customers.get_customer(UOW, cid)["customerType"] == "regular"


def test_an_unknown_customer_is_not_found(customer_db):
    with pytest.raises(NotFound):
        customers.get_customer(UOW, 404)


def test_a_create_repeated_with_the_same_request_id_returns_the_first_customer(customer_db, catalog):
    first = customers.create_customer(UOW, ADA, catalog, "saga-1")
    again = customers.create_customer(UOW, ADA, catalog, "saga-1")
    other = customers.create_customer(UOW, ADA, catalog, "saga-2")
    assert again == first
    assert other["id"] == first["id"] + 1
    assert customer_db.customers.count_documents({}) == 2
    assert customer_db.outbox.count_documents({"type": "customer.created"}) == 2


def test_a_discarded_request_removes_its_customer_and_refuses_a_late_create(customer_db, catalog):
    made = customers.create_customer(UOW, ADA, catalog, "saga-lost-reply")  # the caller never saw this reply
    assert customers.discard_customer_request(UOW, "saga-lost-reply", "onboarding compensated") == {
        "id": made["id"], "purged": True}
    assert customer_db.customers.count_documents({}) == 0
    purged = customer_db.outbox.find_one({"type": "customer.purged"})["envelope"]["data"]
    assert (purged["id"], purged["reason"]) == (made["id"], "onboarding compensated")

    assert customers.discard_customer_request(UOW, "saga-lost-reply", "again") == {"id": None, "purged": False}
    with pytest.raises(Conflict, match="discarded"):
        customers.create_customer(UOW, ADA, catalog, "saga-lost-reply")  # a create still queued arrives late
    assert customer_db.customers.count_documents({}) == 0


def test_discarding_a_request_that_never_arrived_still_blocks_it(customer_db, catalog):
    assert customers.discard_customer_request(UOW, "saga-never-arrived", "timeout")["purged"] is False
    with pytest.raises(Conflict):
        customers.create_customer(UOW, ADA, catalog, "saga-never-arrived")

import pytest

from billing.service_layer import customers, instruments, subscriptions
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


def test_a_subscription_event_after_its_customer_was_purged_records_nothing(service_db):
    db = service_db("billing")
    purged = new_event("customer.purged", "customer",
                       {"id": 78, "reason": "onboarding compensated", "purgedAt": "2026-01-01T00:00:01+00:00"})
    customers.purge_customer("billing.on_customer_purged", purged)
    for event_type in ("subscription.created", "subscription.cancelled"):  # late, on their own queues
        late = new_event(event_type, "rating", {"id": "sub-78", "customerId": 78, "balanceGroupId": "bg",
                                                "billingProfileId": "bp", "at": "2026-01-01T00:00:00+00:00"})
        subscriptions.record_subscription(f"billing.on_{event_type}", late)
    assert db.subscription_fees.count_documents({"customer_id": 78}) == 0


def test_an_invoice_customer_is_given_its_instrument_without_asking_the_customer_service(service_db):
    db = service_db("billing")

    def no_fetch(customer_id):
        raise AssertionError("an invoice customer has no payment details to fetch")

    instruments.record_created({**DATA, "id": 81, "paymentMethod": "invoice"}, no_fetch)
    instruments.record_created({**DATA, "id": 82, "paymentMethod": None}, no_fetch)
    assert {i["_id"]: i["method"] for i in db.payment_instruments.find()} == {81: "invoice", 82: "invoice"}


def test_a_card_customer_or_an_event_without_a_payment_method_is_fetched(service_db):
    db = service_db("billing")
    asked = []

    def fetch(customer_id):
        asked.append(customer_id)
        return {"method": "creditCard", "creditCard": {"holderName": "Grace Hopper", "token": "tok_1"}}

    instruments.record_created({**DATA, "id": 83, "paymentMethod": "creditCard"}, fetch)
    instruments.record_created({**DATA, "id": 84}, fetch)  # published before paymentMethod
    assert asked == [83, 84]
    assert db.payment_instruments.find_one({"_id": 83})["token"] == "tok_1"

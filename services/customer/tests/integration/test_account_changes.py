from datetime import UTC, datetime, timedelta

import pytest

from chassis.envelope import CloudEvent
from chassis.errors import Conflict, ValidationFailed
from customer import views
from customer.bootstrap import transactions
from customer.service_layer import counters, customers

UOW = transactions()

CONTACT = {"tag": "billing", "firstName": "Bea", "lastName": "Jones", "email": "bea@example.com",
           "phone": "030 555 1234", "address": "Side Road 2", "city": "Potsdam", "state": "BB", "country": "DE"}


def outbox(db, event_type):
    return [r["envelope"]["data"] for r in db.outbox.find({"type": event_type}).sort("created_at", 1)]


def test_contacts_are_added_edited_and_deleted_by_tag(seed, customer_db):
    cid = seed()
    assert customers.add_contact(UOW, cid, CONTACT)["tag"] == "billing"
    assert [c["tag"] for c in customers.list_contacts(UOW, cid)] == ["primary", "billing"]
    edited = customers.update_contact(UOW, cid, "billing", {"city": "Leipzig", "tag": "invoices"})
    assert (edited["tag"], edited["city"], edited["firstName"]) == ("invoices", "Leipzig", "Bea")
    customers.delete_contact(UOW, cid, "invoices")
    assert [c["tag"] for c in customers.list_contacts(UOW, cid)] == ["primary"]
    assert [e["changed"] for e in outbox(customer_db, "customer.updated")] == [["contacts"]] * 3


def test_a_duplicate_tag_or_the_last_contact_deletion_changes_nothing(seed, customer_db):
    cid = seed()
    before = customer_db.customers.find_one({"_id": cid})
    with pytest.raises(ValidationFailed) as caught:
        customers.add_contact(UOW, cid, {**CONTACT, "tag": "primary"})
    assert "tag" in caught.value.fields
    with pytest.raises(Conflict):
        customers.delete_contact(UOW, cid, "primary")
    assert customer_db.customers.find_one({"_id": cid}) == before
    assert outbox(customer_db, "customer.updated") == []


def test_editing_the_primary_contact_updates_what_the_list_searches(seed):
    cid = seed()
    customers.update_contact(UOW, cid, "primary", {"lastName": "Walker", "city": "Dresden"})
    assert [r["id"] for r in views.search_customers({"name": "walk", "city": "dresd"})["items"]] == [cid]
    assert views.search_customers({"name": "smith"})["total"] == 0


def test_deleting_the_primary_contact_makes_the_next_one_primary(seed):
    cid = seed()
    customers.add_contact(UOW, cid, CONTACT)
    customer = customers.delete_contact(UOW, cid, "primary")
    assert (customer["firstName"], customer["city"]) == ("Bea", "Potsdam")


def test_payment_info_defaults_the_billing_address_to_the_customer(seed, customer_db):
    cid = seed()
    info = customers.set_payment_info(UOW, cid, {"method": "creditCard", "taxId": "DE123",
                                            "creditCard": {"holderName": "Ann Smith", "token": "tok_visa_abc"}})
    assert info["billingAddressIsCustomerAddress"] is True
    assert info["billingAddress"]["city"] == "Berlin"
    assert info["creditCard"] == {"holderName": "Ann Smith", "holderEmail": None, "gateway": None,
                                  "token": "tok_visa_abc"}
    assert customers.get_payment_info(UOW, cid) == info
    assert outbox(customer_db, "customer.updated")[-1]["paymentMethod"] == "creditCard"


def test_a_card_number_anywhere_is_refused_and_nothing_is_stored(seed, customer_db):
    cid = seed()
    before = customer_db.customers.find_one({"_id": cid})
    with pytest.raises(ValidationFailed) as caught:
        customers.set_payment_info(UOW, cid, {"method": "creditCard", "creditCard": {
            "holderName": "Ann", "token": "4111 1111 1111 1111"}})
    assert list(caught.value.fields) == ["creditCard.token"]
    with pytest.raises(ValidationFailed) as caught:
        customers.add_contact(UOW, cid, {**CONTACT, "address": "5500-0000-0000-0004"})
    assert list(caught.value.fields) == ["address"]
    assert customer_db.customers.find_one({"_id": cid}) == before


def test_bad_iban_bic_and_a_future_mandate_are_refused(seed):
    cid = seed()
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    with pytest.raises(ValidationFailed) as caught:
        customers.set_payment_info(UOW, cid, {"method": "directDebit", "directDebit": {
            "mandateId": "M", "signedOn": future, "bic": "XXXX", "iban": "DE00123"}})
    assert set(caught.value.fields) == {"directDebit.bic", "directDebit.iban", "directDebit.signedOn"}


def _event(event_type, customer_id, event_id):
    return CloudEvent.from_dict({"id": event_id, "source": "rating", "type": event_type, "specversion": "1.0",
                                 "time": datetime.now(UTC).isoformat(),
                                 "data": {"id": f"s-{event_id}", "customerId": customer_id}})


def test_counters_follow_rating_events_once_each_and_never_below_zero(seed, customer_db):
    cid = seed()
    created = _event("subscription.created", cid, "e1")
    assert counters.count(UOW, created)
    assert not counters.count(UOW, created)  # redelivery
    counters.count(UOW, _event("service.created", cid, "e2"))
    counters.count(UOW, _event("service.created", cid, "e3"))
    counters.count(UOW, _event("service.deleted", cid, "e4"))
    counters.count(UOW, _event("subscription.cancelled", cid, "e5"))
    counters.count(UOW, _event("subscription.cancelled", cid, "e6"))
    customer = customers.get_customer(UOW, cid)
    assert (customer["subscriptionCount"], customer["serviceCount"]) == (0, 1)
    counters.count(UOW, _event("service.created", 999, "e7"))  # unknown customer


def test_a_new_subscription_counts_the_services_it_lists_in_the_same_write(seed, customer_db):
    cid = seed()
    event = CloudEvent.from_dict({
        "id": "with-services", "source": "rating", "type": "subscription.created", "specversion": "1.0",
        "time": datetime.now(UTC).isoformat(),
        "data": {"id": "s1", "customerId": cid, "services": [
            {"id": "v1", "serviceType": "voice", "identifier": "1"},
            {"id": "v2", "serviceType": "data", "identifier": "1"}]}})
    assert counters.count(UOW, event)
    assert not counters.count(UOW, event)  # redelivery
    customer = customers.get_customer(UOW, cid)
    assert (customer["subscriptionCount"], customer["serviceCount"]) == (1, 2)


def test_an_event_without_a_customer_id_is_rejected():
    event = CloudEvent.from_dict({"id": "x", "source": "rating", "type": "service.created", "specversion": "1.0",
                                  "time": datetime.now(UTC).isoformat(), "data": {"id": "s"}})
    with pytest.raises(ValidationFailed):
        counters.count(UOW, event)


def test_the_purge_deletes_closed_accounts_past_retention_and_announces_each(seed, customer_db):
    due, recent, active = seed(), seed(), seed()
    now = datetime.now(UTC)
    customer_db.customers.update_one({"_id": due}, {"$set": {"status": "closed",
                                                             "purge_after": now - timedelta(minutes=1)}})
    customer_db.customers.update_one({"_id": recent}, {"$set": {"status": "closed",
                                                                "purge_after": now + timedelta(days=1)}})
    job = customers.purge_closed_accounts(UOW)
    assert (job["status"], job["report"], job["progress"]) == (
        "succeeded", {"purged": 1}, {"processed": 1, "failed": 0, "total": 1})
    assert sorted(c["_id"] for c in customer_db.customers.find()) == [recent, active]
    assert [(e["id"], e["reason"]) for e in outbox(customer_db, "customer.purged")] == [(due, "retention")]
    assert customers.purge_closed_accounts(UOW)["report"] == {"purged": 0}
    assert customers.purge_closed_accounts(UOW, job_id=job["_id"]) == job, "a finished job is not run again"


def test_discarding_a_customer_deletes_it_once_and_is_idempotent(seed, customer_db):
    cid = seed()
    assert customers.discard_customer(UOW, cid, "onboarding failed: plan retired") == {"id": cid, "purged": True}
    assert customers.discard_customer(UOW, cid, "again") == {"id": cid, "purged": False}
    assert customer_db.customers.count_documents({}) == 0
    assert [e["reason"] for e in outbox(customer_db, "customer.purged")] == ["onboarding failed: plan retired"]


def test_a_closed_account_refuses_changes(seed, customer_db):
    cid = seed()
    customer_db.customers.update_one({"_id": cid}, {"$set": {"status": "closed"}})
    with pytest.raises(Conflict):
        customers.add_contact(UOW, cid, CONTACT)

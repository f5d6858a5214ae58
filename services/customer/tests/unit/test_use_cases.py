"""The customer use cases on in-memory fakes: no database, no broker, milliseconds per test."""
from datetime import UTC, datetime, timedelta

import pytest

from chassis.envelope import CloudEvent
from chassis.errors import Conflict, NotFound, ValidationFailed
from customer.service_layer import counters, customers

from .fakes import FakeServices, FakeTransactions

ADA = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000",
       "address": "12 St James's Square", "city": "London", "state": "LND", "country": "GB",
       "customerType": "regular"}
SEPA = {"method": "directDebit", "directDebit": {"mandateId": "M-1", "signedOn": "2025-01-02",
                                                  "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}}


@pytest.fixture
def uow():
    return FakeTransactions()


@pytest.fixture
def services():
    return FakeServices()


def test_a_new_customer_gets_the_next_number_and_announces_itself(uow, services):
    first = customers.create_customer(uow, ADA, services)
    second = customers.create_customer(uow, {**ADA, "email": "alan@example.com"}, services)
    assert (first["id"], second["id"]) == (1, 2)
    assert (first["status"], first["firstName"]) == ("active", "Ada")
    assert uow.event_types() == ["customer.created", "customer.created"]
    assert uow.published[0][1]["email"] == "ada@example.com" and uow.published[0][2] == "1"
    assert customers.get_customer(uow, 1) == first


def test_bad_input_names_every_field_and_changes_nothing(uow, services):
    with pytest.raises(ValidationFailed) as caught:
        customers.create_customer(uow, {**ADA, "email": "nope"}, services)
    assert set(caught.value.fields) == {"email"}
    with pytest.raises(ValidationFailed) as caught:
        customers.create_customer(uow, {**ADA, "customerType": "martian",
                                        "customAttributes": {"segment": "galactic"}}, services)
    assert set(caught.value.fields) == {"customerType", "customAttributes.segment"}
    assert uow.rows == {} and uow.published == [] and uow.sequence == 0


def test_a_card_number_anywhere_is_refused(uow, services):
    with pytest.raises(ValidationFailed) as caught:
        customers.create_customer(uow, {**ADA, "organization": "4111 1111 1111 1111"}, services)
    assert "organization" in caught.value.fields


def test_a_retried_create_with_the_same_request_id_returns_the_first_customer(uow, services):
    made = customers.create_customer(uow, ADA, services, request_id="saga-1")
    assert customers.create_customer(uow, ADA, services, request_id="saga-1") == made
    assert len(uow.rows) == 1 and uow.event_types() == ["customer.created"]


def test_a_discarded_request_is_removed_and_refused_afterwards(uow, services):
    made = customers.create_customer(uow, ADA, services, request_id="saga-2")
    assert customers.discard_customer_request(uow, "saga-2", "onboarding failed") == {"id": made["id"],
                                                                                      "purged": True}
    assert customers.discard_customer_request(uow, "saga-2", "again") == {"id": None, "purged": False}
    with pytest.raises(Conflict):
        customers.create_customer(uow, ADA, services, request_id="saga-2")
    assert uow.event_types() == ["customer.created", "customer.purged"]


def test_only_type_and_attributes_are_editable_and_the_catalog_checks_them(uow, services):
    cid = customers.create_customer(uow, ADA, services)["id"]
    edited = customers.update_account(uow, cid, {"customAttributes": {"segment": "smb"}}, services)
    assert edited["customAttributes"] == {"segment": "smb"}
    for bad in ({"email": "x@example.com"}, {"customerType": "martian"}, {}):
        with pytest.raises(ValidationFailed):
            customers.update_account(uow, cid, bad, services)
    assert uow.published[-1][1]["changed"] == ["customAttributes"]


def test_contacts_are_added_edited_and_deleted_and_the_primary_stays_first(uow, services):
    cid = customers.create_customer(uow, ADA, services)["id"]
    contact = {**ADA, "tag": "billing", "email": "bills@example.com"}
    contact.pop("customerType")
    assert customers.add_contact(uow, cid, contact)["tag"] == "billing"
    assert customers.update_contact(uow, cid, "billing", {"city": "Leeds"})["city"] == "Leeds"
    assert [c["tag"] for c in customers.list_contacts(uow, cid)] == ["primary", "billing"]
    customers.delete_contact(uow, cid, "billing")
    with pytest.raises(Conflict):
        customers.delete_contact(uow, cid, "primary")
    assert [c["tag"] for c in customers.list_contacts(uow, cid)] == ["primary"]


def test_payment_info_is_stored_and_read_back(uow, services):
    cid = customers.create_customer(uow, ADA, services)["id"]
    with pytest.raises(NotFound):
        customers.get_payment_info(uow, cid)
    stored = customers.set_payment_info(uow, cid, SEPA)
    assert stored["method"] == "directDebit" and stored == customers.get_payment_info(uow, cid)
    with pytest.raises(ValidationFailed):
        customers.set_payment_info(uow, cid, {**SEPA, "directDebit": {**SEPA["directDebit"], "iban": "DE00"}})


def test_closing_is_refused_with_unpaid_invoices_and_freezes_the_account(uow):
    cid = customers.create_customer(uow, ADA, FakeServices())["id"]
    with pytest.raises(Conflict):
        customers.close_customer(uow, cid, FakeServices(unpaid_invoices=2), retention_days=30)
    closed = customers.close_customer(uow, cid, FakeServices(), retention_days=30)
    assert closed["status"] == "closed"
    with pytest.raises(Conflict):
        customers.update_account(uow, cid, {"customerType": "regular"}, FakeServices())
    assert uow.event_types()[-1] == "customer.closed"


def test_an_unknown_customer_is_not_found_everywhere(uow, services):
    with pytest.raises(NotFound):
        customers.get_customer(uow, 7)
    contact = {k: v for k, v in ADA.items() if k != "customerType"}
    with pytest.raises(NotFound):
        customers.add_contact(uow, 7, {**contact, "tag": "x"})
    assert customers.discard_customer(uow, 7, "nothing") == {"id": 7, "purged": False}


def _event(event_type, customer_id, event_id):
    return CloudEvent.from_dict({"id": event_id, "source": "rating", "type": event_type, "specversion": "1.0",
                                 "time": datetime.now(UTC).isoformat(),
                                 "data": {"id": "s", "customerId": customer_id}})


def test_counters_count_each_event_once_and_never_below_zero(uow, services):
    cid = customers.create_customer(uow, ADA, services)["id"]
    assert counters.count(uow, _event("service.created", cid, "e1"))
    assert not counters.count(uow, _event("service.created", cid, "e1"))
    counters.count(uow, _event("subscription.cancelled", cid, "e2"))
    counted = customers.get_customer(uow, cid)
    assert (counted["serviceCount"], counted["subscriptionCount"]) == (1, 0)
    with pytest.raises(ValidationFailed):
        counters.count(uow, CloudEvent.from_dict({"id": "x", "source": "rating", "type": "service.created",
                                                  "specversion": "1.0", "time": datetime.now(UTC).isoformat(),
                                                  "data": {}}))


def test_a_subscription_created_with_services_counts_both_once_and_an_older_one_only_the_subscription(
        uow, services):
    cid = customers.create_customer(uow, ADA, services)["id"]
    listed = CloudEvent.from_dict({"id": "n1", "source": "rating", "type": "subscription.created",
                                   "specversion": "1.0", "time": datetime.now(UTC).isoformat(),
                                   "data": {"id": "s1", "customerId": cid, "services": [
                                       {"id": "v1", "serviceType": "voice", "identifier": "1"}]}})
    assert counters.count(uow, listed)
    assert not counters.count(uow, listed)
    counters.count(uow, _event("subscription.created", cid, "o1"))  # before decision 0405: no list
    counted = customers.get_customer(uow, cid)
    assert (counted["subscriptionCount"], counted["serviceCount"]) == (2, 1)


def test_only_closed_accounts_past_their_retention_are_due_for_purge(uow, services):
    now = datetime.now(UTC)
    due, later, active = (customers.create_customer(uow, {**ADA, "email": f"{n}@example.com"}, services)["id"]
                          for n in range(3))
    uow.rows[due].update(status="closed", purge_after=now - timedelta(days=1))
    uow.rows[later].update(status="closed", purge_after=now + timedelta(days=1))
    assert uow.reader().due_for_purge(now) == [due]
    tx = uow.within(None)
    assert customers._purge(tx, later, "retention", due_by=now) == {"id": later, "purged": False}
    assert customers._purge(tx, due, "retention", due_by=now) == {"id": due, "purged": True}
    assert sorted(uow.rows) == [later, active]

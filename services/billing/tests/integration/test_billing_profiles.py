import uuid
from datetime import UTC, datetime

import pytest

from billing.service_layer import customers, hierarchy, invoices, profiles
from chassis.envelope import new_event
from chassis.errors import Conflict, NotFound, ValidationFailed


def test_a_billing_profile_is_stored_with_its_payment_type_resource_interval_and_billing_day(catalog,
        billing_db, profile_payload):
    created = profiles.create_billing_profile(profile_payload(name="Postpaid EUR"), catalog)
    stored = billing_db.billing_profiles.find_one({"_id": created["id"]})
    assert stored["payment_type"] == "postpaid" and stored["resource"] == "EUR"
    assert stored["interval"] == "monthly" and stored["billing_day"] == 31
    assert created["name"] == "Postpaid EUR" and created["validTo"] is None
    assert profiles.get_billing_profile(created["id"]) == created


def test_creating_a_profile_twice_with_the_same_id_creates_it_once(catalog, billing_db, profile_payload):
    profile_id = str(uuid.uuid4())
    first = profiles.create_billing_profile(profile_payload(id=profile_id), catalog)
    again = profiles.create_billing_profile(profile_payload(id=profile_id), catalog)
    assert first == again
    assert billing_db.billing_profiles.count_documents({}) == 1


@pytest.mark.parametrize("field,value", [("paymentType", "credit"), ("billingDay", 32), ("interval", "hourly"),
                                         ("billingDay", "5"), ("customerId", 0)])
def test_an_invalid_profile_is_refused_naming_the_field_and_nothing_is_stored(catalog, billing_db, profile_payload,
                                                                              field, value):
    with pytest.raises(ValidationFailed) as error:
        profiles.create_billing_profile(profile_payload(**{field: value}), catalog)
    assert field in error.value.fields
    assert billing_db.billing_profiles.count_documents({}) == 0


def test_a_weekly_profile_with_a_day_of_month_is_refused_by_billing(catalog, billing_db, profile_payload):
    with pytest.raises(ValidationFailed) as error:
        profiles.create_billing_profile(profile_payload(interval="weekly", billingDay=15), catalog)
    assert "billingDay" in error.value.fields


def test_a_validity_that_ends_before_it_starts_is_refused(catalog, billing_db, profile_payload):
    with pytest.raises(ValidationFailed) as error:
        profiles.create_billing_profile(profile_payload(validFrom="2025-01-02T00:00:00+00:00",
                                                        validTo="2025-01-01T00:00:00+00:00"), catalog)
    assert "validTo" in error.value.fields


def test_a_deleted_profile_id_cannot_be_created_again_by_a_late_request(catalog, billing_db, profile_payload):
    profile_id = str(uuid.uuid4())
    assert profiles.delete_billing_profile(profile_id) is False
    with pytest.raises(Conflict):
        profiles.create_billing_profile(profile_payload(id=profile_id), catalog)
    assert billing_db.billing_profiles.count_documents({}) == 0


def test_deleting_a_profile_removes_it_and_is_idempotent(catalog, billing_db, profile_payload):
    created = profiles.create_billing_profile(profile_payload(), catalog)
    assert profiles.delete_billing_profile(created["id"]) is True
    assert profiles.delete_billing_profile(created["id"]) is False
    with pytest.raises(NotFound):
        profiles.get_billing_profile(created["id"])


def test_unpaid_invoices_are_counted_from_the_invoices_collection(billing_db):
    def invoice(customer_id, status):
        billing_db.invoices.insert_one({"_id": str(uuid.uuid4()), "customer_id": customer_id, "status": status,
                                        "billing_profile_id": "p", "total": "1", "currency": "EUR"})
    for status in ("billing", "closed", "billing"):
        invoice(5, status)
    invoice(6, "billing")
    assert invoices.count_unpaid_invoices(5) == 2
    assert invoices.count_unpaid_invoices(99) == 0


def test_a_customer_joins_a_hierarchy_group_once_and_can_leave_it(catalog, billing_db, profile_payload):
    owner_profile = profiles.create_billing_profile(profile_payload(customer_id=1), catalog)
    group = hierarchy.create_hierarchy_group({"name": "Acme", "ownerCustomerId": 1,
                                              "billingProfileId": owner_profile["id"]})
    member = hierarchy.join_hierarchy_group({"groupId": group["id"], "customerId": 2})
    assert hierarchy.get_hierarchy_group(group["id"])["members"][0]["customerId"] == 2
    other = hierarchy.create_hierarchy_group({"name": "Other", "ownerCustomerId": 1,
                                              "billingProfileId": owner_profile["id"]})
    with pytest.raises(Conflict) as error:
        hierarchy.join_hierarchy_group({"groupId": other["id"], "customerId": 2})
    assert "customerId" in error.value.fields
    assert hierarchy.leave_hierarchy_group(member["id"]) is True
    assert hierarchy.get_hierarchy_group(group["id"])["members"] == []


def test_joining_a_missing_or_cancelled_hierarchy_group_is_refused(catalog, billing_db, profile_payload):
    with pytest.raises(NotFound):
        hierarchy.join_hierarchy_group({"groupId": "nope", "customerId": 2})
    owner_profile = profiles.create_billing_profile(profile_payload(customer_id=1), catalog)
    group = hierarchy.create_hierarchy_group({"name": "Old", "ownerCustomerId": 1, "status": "cancelled",
                                              "billingProfileId": owner_profile["id"]})
    with pytest.raises(Conflict):
        hierarchy.join_hierarchy_group({"groupId": group["id"], "customerId": 2})
    assert billing_db.hierarchy_members.count_documents({}) == 0


def test_a_hierarchy_group_needs_a_billing_profile_of_its_owner(catalog, billing_db, profile_payload):
    someone_elses = profiles.create_billing_profile(profile_payload(customer_id=9), catalog)
    with pytest.raises(ValidationFailed) as error:
        hierarchy.create_hierarchy_group({"name": "X", "ownerCustomerId": 1, "billingProfileId": someone_elses["id"]})
    assert "billingProfileId" in error.value.fields


def test_customer_purged_deletes_all_billing_data_of_that_customer_once(catalog, billing_db, profile_payload):
    mine = profiles.create_billing_profile(profile_payload(customer_id=3), catalog)
    profiles.create_billing_profile(profile_payload(customer_id=4), catalog)
    group = hierarchy.create_hierarchy_group({"name": "G", "ownerCustomerId": 3, "billingProfileId": mine["id"]})
    hierarchy.join_hierarchy_group({"groupId": group["id"], "customerId": 4})
    billing_db.invoices.insert_one({"_id": "i1", "customer_id": 3, "status": "paid", "billing_profile_id": mine["id"],
                                    "total": "1", "currency": "EUR"})
    event = new_event("customer.purged", "customer",
                      {"id": 3, "reason": "test", "purgedAt": datetime.now(UTC).isoformat()})
    assert customers.purge_customer("billing.on_customer_purged", event) is True
    assert customers.purge_customer("billing.on_customer_purged", event) is False
    for collection in ("billing_profiles", "invoices", "hierarchy_groups", "hierarchy_members"):
        assert billing_db[collection].count_documents({"$or": [{"customer_id": 3}, {"owner_customer_id": 3}]}) == 0
    assert billing_db.hierarchy_members.count_documents({}) == 0
    assert billing_db.billing_profiles.count_documents({"customer_id": 4}) == 1

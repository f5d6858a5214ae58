import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chassis.envelope import new_event
from chassis.errors import Conflict, NotFound, ValidationFailed
from rating.service_layer import balance_groups, customers, sharing, subscriptions


def outbox_types(db):
    return sorted(r["type"] for r in db.outbox.find())


def test_a_subscription_keeps_a_snapshot_of_its_products_and_creates_its_services(rating_db, balance_group,
                                                                                  subscription_payload):
    group = balance_group(7)
    created = subscriptions.create_subscription(subscription_payload(7, group["id"]))
    stored = rating_db.subscriptions.find_one({"_id": created["id"]})
    assert stored["plan_code"] == "MOBILE" and stored["promo_codes"] == ["WELCOME"]
    fee = stored["products"][1]
    assert fee["quantity"].to_decimal() == Decimal("2") and fee["value"].to_decimal() == Decimal("9.90")
    assert [p["purchased"] for p in stored["products"]] == [True, True, False]
    assert created["products"][1]["value"] == "9.90"
    assert [s["identifier"] for s in created["services"]] == ["38640111222"]
    assert rating_db.services.count_documents({"subscription_id": created["id"], "status": "active"}) == 1
    # The new service travels in subscription.created (decision 0405), not as a service.created of its own.
    assert outbox_types(rating_db) == ["subscription.created"]
    event = rating_db.outbox.find_one({"type": "subscription.created"})["envelope"]["data"]
    assert event["services"] == [{"id": s["id"], "serviceType": s["serviceType"], "identifier": s["identifier"]}
                                 for s in created["services"]]


def test_an_answered_subscription_shows_what_a_later_read_shows(rating_db, balance_group, subscription_payload):
    created = subscriptions.create_subscription(subscription_payload(7, balance_group(7)["id"]))
    assert subscriptions.get_subscription(created["id"], 7) == created


def test_an_active_service_identifier_is_unique_and_the_losing_subscription_leaves_nothing(
        rating_db, balance_group, subscription_payload):
    first = balance_group(1)
    second = balance_group(2)
    subscriptions.create_subscription(subscription_payload(1, first["id"], identifier="100"))
    with pytest.raises(Conflict) as error:
        subscriptions.create_subscription(subscription_payload(2, second["id"], identifier="100"))
    assert "products.0.serviceIdentifier" in error.value.fields
    assert rating_db.subscriptions.count_documents({"customer_id": 2}) == 0
    assert rating_db.services.count_documents({"customer_id": 2}) == 0


def test_a_cancelled_subscription_frees_its_identifiers(rating_db, balance_group, subscription_payload):
    group = balance_group(1)
    created = subscriptions.create_subscription(subscription_payload(1, group["id"], identifier="200"))
    cancelled = subscriptions.cancel_subscription(created["id"], "customer asked")
    assert cancelled["status"] == "cancelled" and cancelled["cancelReason"] == "customer asked"
    assert cancelled["services"][0]["status"] == "terminated"
    again = subscriptions.create_subscription(subscription_payload(1, group["id"], identifier="200"))
    assert again["services"][0]["identifier"] == "200"
    assert outbox_types(rating_db).count("subscription.cancelled") == 1
    assert outbox_types(rating_db).count("service.deleted") == 1


def test_floats_and_missing_identifiers_are_refused_naming_the_field(rating_db, balance_group, subscription_payload):
    group = balance_group(1)
    payload = subscription_payload(1, group["id"])
    payload["products"][1]["value"] = 9.9
    with pytest.raises(ValidationFailed) as error:
        subscriptions.create_subscription(payload)
    assert "products.1.value" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        subscriptions.create_subscription(subscription_payload(1, group["id"], identifier=None))
    assert "products.0.serviceIdentifier" in error.value.fields
    assert rating_db.subscriptions.count_documents({}) == 0


def test_a_subscription_needs_a_balance_group_of_the_same_customer(rating_db, balance_group, subscription_payload):
    other = balance_group(9)
    with pytest.raises(ValidationFailed) as error:
        subscriptions.create_subscription(subscription_payload(1, other["id"]))
    assert "balanceGroupId" in error.value.fields


def test_a_discarded_subscription_leaves_nothing_and_cannot_be_recreated_by_a_late_request(
        rating_db, balance_group, subscription_payload):
    group = balance_group(1)
    subscription_id = str(uuid.uuid4())
    payload = subscription_payload(1, group["id"], id=subscription_id)
    assert subscriptions.create_subscription(payload) == subscriptions.create_subscription(payload)
    assert subscriptions.discard_subscription(subscription_id, "onboarding failed") is True
    assert subscriptions.discard_subscription(subscription_id, "onboarding failed") is False
    assert rating_db.subscriptions.count_documents({}) == 0 and rating_db.services.count_documents({}) == 0
    with pytest.raises(Conflict):
        subscriptions.create_subscription(payload)
    assert balance_groups.delete_balance_group(group["id"]) is True
    assert rating_db.balance_groups.count_documents({}) == 0


def test_a_balance_group_in_use_cannot_be_deleted(rating_db, balance_group, subscription_payload):
    group = balance_group(1)
    subscriptions.create_subscription(subscription_payload(1, group["id"]))
    with pytest.raises(Conflict):
        balance_groups.delete_balance_group(group["id"])


def test_a_customer_joins_an_active_sharing_group_once(rating_db, balance_group, subscription_payload):
    group = balance_group(1)
    owned = subscriptions.create_subscription(subscription_payload(1, group["id"]))
    shared = sharing.create_sharing_group({"name": "Family", "ownerCustomerId": 1, "subscriptionId": owned["id"],
                                           "policy": "unlimited"})
    member = sharing.join_sharing_group({"groupId": shared["id"], "customerId": 2})
    with pytest.raises(Conflict):
        sharing.join_sharing_group({"groupId": shared["id"], "customerId": 2})
    with pytest.raises(ValidationFailed):
        sharing.join_sharing_group({"groupId": shared["id"], "customerId": 1})
    with pytest.raises(NotFound):
        sharing.join_sharing_group({"groupId": "missing", "customerId": 3})
    assert [m["customerId"] for m in sharing.get_sharing_group(shared["id"])["members"]] == [2]
    assert sharing.leave_sharing_group(member["id"]) is True
    assert sharing.leave_sharing_group(member["id"]) is False
    assert rating_db.sharing_members.count_documents({}) == 0
    # Refused joins published nothing; the compensation published one removal.
    assert outbox_types(rating_db).count("sharing_member.joined") == 1
    [removed] = [r["envelope"]["data"] for r in rating_db.outbox.find({"type": "sharing_member.removed"})]
    assert removed["reason"] == "discarded" and removed["customerId"] == 2


def test_customer_purged_deletes_all_rating_data_of_that_customer_once(rating_db, balance_group,
                                                                       subscription_payload):
    mine = subscriptions.create_subscription(subscription_payload(3, balance_group(3)["id"], identifier="300"))
    subscriptions.create_subscription(subscription_payload(4, balance_group(4)["id"], identifier="400"))
    shared = sharing.create_sharing_group({"name": "F", "ownerCustomerId": 3, "subscriptionId": mine["id"],
                                           "policy": "p"})
    sharing.join_sharing_group({"groupId": shared["id"], "customerId": 4})
    event = new_event("customer.purged", "customer",
                      {"id": 3, "reason": "t", "purgedAt": datetime.now(UTC).isoformat()})
    assert customers.purge_customer("rating.on_customer_purged", event) is True
    assert customers.purge_customer("rating.on_customer_purged", event) is False
    for collection in ("subscriptions", "services", "balance_groups"):
        assert rating_db[collection].count_documents({"customer_id": 3}) == 0
        assert rating_db[collection].count_documents({"customer_id": 4}) == 1
    assert rating_db.sharing_groups.count_documents({}) == 0 and rating_db.sharing_members.count_documents({}) == 0
    # The other customer's membership in the purged owner's group ended, and other services are told so once.
    [removed] = [r["envelope"]["data"] for r in rating_db.outbox.find({"type": "sharing_member.removed"})]
    assert (removed["customerId"], removed["ownerCustomerId"], removed["reason"]) == (4, 3, "purged")


def test_one_identifier_serves_each_service_type_once_and_products_of_a_type_share_its_service(
        rating_db, balance_group, subscription_payload):
    group = balance_group(1)
    payload = subscription_payload(1, group["id"], identifier="500")
    payload["products"][1].update(type="service", serviceType="data", serviceIdentifier="500")
    payload["products"][2].update(purchased=True, serviceIdentifier="500")
    created = subscriptions.create_subscription(payload)
    assert sorted(s["serviceType"] for s in created["services"]) == ["data", "voice"]
    data_service = next(s for s in created["services"] if s["serviceType"] == "data")
    assert created["products"][1]["serviceId"] == created["products"][2]["serviceId"] == data_service["id"]

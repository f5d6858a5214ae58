"""Product inventory use cases on real MongoDB: add-ons, vouchers, product edits and cancellations, plan
transitions, cancellation, services, balance groups and sharing."""
import uuid
from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128

from chassis.errors import Conflict, NotFound, ValidationFailed
from rating.service_layer import balance_groups, services, sharing, subscriptions


def events(db, event_type):
    return [r["envelope"]["data"] for r in db.outbox.find({"type": event_type}).sort("created_at")]


def addon(identifier=None, **more):
    return {"bundleCode": "DATA-5GB", "bundleVersion": 1, "code": "DATA-ADDON", "version": 1, "name": "5 GB",
            "type": "service", "serviceType": "data", "quantity": "1", "value": "5120",
            "validity": {"unit": "day", "count": 30}, "purchased": True, "resource": "MB", "freeUnits": "5120",
            "serviceIdentifier": identifier, **more}


@pytest.fixture
def subscribed(rating_db, balance_group, subscription_payload):
    def make(customer_id=7, identifier=None):
        identifier = identifier or str(uuid.uuid4().int % 10**12)
        group = balance_group(customer_id)
        return subscriptions.create_subscription(subscription_payload(customer_id, group["id"], identifier))
    return make


def free_balances(db, subscription_id):
    return {b["resource"]: b for b in db.balances.find({"source": f"subscription:{subscription_id}"})}


def test_a_subscription_grants_its_free_units_as_credit_balances_of_its_balance_group(rating_db, subscribed):
    created = subscribed()
    balances = free_balances(rating_db, created["id"])
    assert list(balances) == ["MIN"]
    assert balances["MIN"]["amount"].to_decimal() == Decimal(-100)
    assert balances["MIN"]["balance_group_id"] == created["balanceGroupId"]
    event = events(rating_db, "subscription.created")[0]
    assert event["billingProfileId"] == "bp-1" and event["status"] == "active"
    assert [p["code"] for p in event["products"]] == ["VOICE", "FEE"]


def test_an_add_on_is_bought_once_per_request_on_the_service_of_its_type(rating_db, subscribed):
    created = subscribed()
    request = {"requestId": str(uuid.uuid4()), "products": [addon("123456")], "promoCodes": ["X"]}
    first = subscriptions.add_products(7, created["id"], request)
    again = subscriptions.add_products(7, created["id"], request)
    assert first == again and len(first["products"]) == 4
    assert first["products"][3]["origin"] == "addon" and first["products"][3]["validTo"] is not None
    assert sorted(s["serviceType"] for s in first["services"]) == ["data", "voice"]
    assert [e["change"] for e in events(rating_db, "subscription.changed")] == ["addon"]
    # A service added to a running subscription is announced on its own (decision 0405).
    assert [e["serviceType"] for e in events(rating_db, "service.created")] == ["data"]
    assert free_balances(rating_db, created["id"])["MB"]["amount"].to_decimal() == Decimal(-5120)


def test_another_customers_subscription_is_not_found_and_nothing_changes(rating_db, subscribed):
    created = subscribed(customer_id=7)
    with pytest.raises(NotFound):
        subscriptions.add_products(8, created["id"], {"products": [addon("1")]})
    with pytest.raises(NotFound):
        subscriptions.cancel_product(8, created["id"], created["products"][0]["id"])
    with pytest.raises(NotFound):
        subscriptions.get_subscription(created["id"], 8)
    assert events(rating_db, "subscription.changed") == []


def test_editing_a_product_changes_its_snapshot_and_tells_billing(rating_db, subscribed):
    created = subscribed()
    fee = created["products"][1]
    edited = subscriptions.edit_product(7, created["id"], fee["id"], {"quantity": "3", "value": "12.50"})
    assert edited["products"][1]["quantity"] == "3" and edited["products"][1]["value"] == "12.50"
    change = events(rating_db, "subscription.changed")[-1]
    assert change["change"] == "product_edited" and change["products"][1]["amount"] == "12.50"
    with pytest.raises(ValidationFailed) as error:
        subscriptions.edit_product(7, created["id"], fee["id"], {"value": 12.5})
    assert "value" in error.value.fields
    with pytest.raises(NotFound):
        subscriptions.edit_product(7, created["id"], "no-such-product", {"quantity": "1"})


def test_cancelling_a_service_product_terminates_its_service_and_expires_its_free_units(rating_db, subscribed):
    created = subscribed()
    voice = created["products"][0]
    after = subscriptions.cancel_product(7, created["id"], voice["id"])
    assert after["products"][0]["status"] == "cancelled"
    assert after["services"][0]["status"] == "terminated"
    assert free_balances(rating_db, created["id"])["MIN"]["valid_to"] is not None
    with pytest.raises(Conflict) as error:
        subscriptions.cancel_product(7, created["id"], after["products"][1]["id"])
    assert "productId" in error.value.fields  # the last product: cancel the subscription instead


def transition_payload(**more):
    return {"plan": {"code": "MOBILE-L", "version": 1, "name": "Mobile L"}, "products": [
        {"bundleCode": "L", "bundleVersion": 1, "code": "FEE-L", "version": 1, "name": "Fee L",
         "type": "recurring_fee", "quantity": "1", "value": "29.99", "purchased": True, "resource": "EUR",
         "currency": "EUR", "interval": {"unit": "month", "count": 1}, "proration": "daily"},
        {"bundleCode": "L", "bundleVersion": 1, "code": "VOICE-L", "version": 1, "name": "Voice L",
         "type": "service", "serviceType": "voice", "quantity": "1", "value": "500", "purchased": True,
         "resource": "MIN", "freeUnits": "500", "serviceIdentifier": more.pop("identifier")}], **more}


def test_the_preview_changes_nothing_and_the_transition_keeps_add_ons_and_the_service(rating_db, subscribed):
    created = subscribed(identifier="777")
    subscriptions.add_products(7, created["id"], {"products": [addon("777")]})
    payload = transition_payload(identifier="777")
    preview = subscriptions.preview_plan_transition(7, created["id"], payload)
    assert preview["toPlan"] == {"code": "MOBILE-L", "version": 1} and preview["totals"]
    assert rating_db.subscriptions.find_one({"_id": created["id"]})["plan_code"] == "MOBILE"
    moved = subscriptions.transition_plan(7, created["id"], payload)
    assert moved["planCode"] == "MOBILE-L" and moved["planHistory"][0]["code"] == "MOBILE"
    status = {p["code"]: p["status"] for p in moved["products"] if p["purchased"]}
    assert status == {"VOICE": "cancelled", "FEE": "cancelled", "DATA-ADDON": "active", "FEE-L": "active",
                      "VOICE-L": "active"}
    voice = next(s for s in moved["services"] if s["serviceType"] == "voice")
    assert voice["status"] == "active" and voice["identifier"] == "777"
    assert moved["proration"]["lines"]
    assert events(rating_db, "subscription.changed")[-1]["change"] == "plan_transition"


def test_cancelling_a_subscription_terminates_its_services_and_ends_its_products(rating_db, subscribed):
    created = subscribed()
    cancelled = subscriptions.cancel_subscription(created["id"], "moved away", 7)
    assert cancelled["status"] == "cancelled"
    assert {p["status"] for p in cancelled["products"] if p["purchased"]} == {"cancelled"}
    assert {s["status"] for s in cancelled["services"]} == {"terminated"}
    assert free_balances(rating_db, created["id"])["MIN"]["valid_to"] is not None
    assert events(rating_db, "subscription.cancelled")[0]["balanceGroupId"] == created["balanceGroupId"]
    with pytest.raises(Conflict):
        subscriptions.add_products(7, created["id"], {"products": [addon("1")]})


def test_a_service_identifier_edit_is_unique_among_services_in_use(rating_db, subscribed):
    mine = subscribed(customer_id=1, identifier="1001")
    subscribed(customer_id=2, identifier="2002")
    voice = mine["services"][0]
    with pytest.raises(Conflict) as error:
        services.edit_service(1, voice["id"], {"identifier": "2002"})
    assert "identifier" in error.value.fields
    assert rating_db.services.find_one({"_id": voice["id"]})["identifier"] == "1001"
    edited = services.edit_service(1, voice["id"], {"identifier": "1003", "devices": ["IMEI1"],
                                                    "eventGenerators": ["MSC-1"]})
    assert edited["identifier"] == "1003" and edited["devices"] == ["IMEI1"]
    assert events(rating_db, "service.changed")[-1]["identifier"] == "1003"


def test_a_suspended_service_keeps_its_identifier_and_a_terminated_one_frees_it(rating_db, subscribed):
    mine = subscribed(customer_id=1, identifier="3003")
    voice = mine["services"][0]
    assert services.edit_service(1, voice["id"], {"status": "suspended"})["status"] == "suspended"
    with pytest.raises(Conflict):
        subscribed(customer_id=2, identifier="3003")
    services.edit_service(1, voice["id"], {"status": "terminated"})
    assert events(rating_db, "service.deleted")[-1]["id"] == voice["id"]
    subscribed(customer_id=2, identifier="3003")
    with pytest.raises(Conflict):
        services.edit_service(1, voice["id"], {"status": "active"})
    with pytest.raises(NotFound):
        services.edit_service(2, voice["id"], {"devices": []})


def test_balance_groups_are_listed_per_customer(rating_db, balance_group):
    balance_group(5)
    balance_group(5)
    balance_group(6)
    assert len(balance_groups.list_balance_groups(5)) == 2
    with pytest.raises(NotFound):
        balance_groups.get_balance_group(balance_groups.list_balance_groups(6)[0]["id"], 5)


def test_the_owner_edits_and_cancels_a_group_and_the_member_edits_and_leaves_it(rating_db, subscribed):
    owned = subscribed(customer_id=1)
    group = sharing.create_sharing_group({"name": "Family", "ownerCustomerId": 1, "subscriptionId": owned["id"],
                                          "policy": "FAMILY"})
    member = sharing.join_sharing_group({"groupId": group["id"], "customerId": 2})
    assert [g["id"] for g in sharing.list_sharing_groups([1, 9])] == [group["id"]]
    assert [g["id"] for g in sharing.list_sharing_groups(member_customer_id=2)] == [group["id"]]
    assert sharing.edit_sharing_group(1, group["id"], {"status": "inactive"})["status"] == "inactive"
    with pytest.raises(NotFound):
        sharing.edit_sharing_group(2, group["id"], {"status": "active"})  # the member is not the owner
    edited = sharing.edit_membership(2, member["id"], {"validTo": "2099-01-01T00:00:00Z"})
    assert edited["validTo"].startswith("2099-01-01")
    with pytest.raises(ValidationFailed):
        sharing.edit_membership(2, member["id"], {"validTo": "2000-01-01T00:00:00Z"})
    assert sharing.cancel_sharing_group(1, group["id"])["status"] == "cancelled"
    with pytest.raises(Conflict):
        sharing.edit_sharing_group(1, group["id"], {"status": "active"})
    assert sharing.remove_membership(2, member["id"]) is True
    with pytest.raises(NotFound):
        sharing.remove_membership(2, member["id"])


def test_every_sharing_change_publishes_its_event_and_a_refused_one_publishes_nothing(rating_db, subscribed):
    owned = subscribed(customer_id=1)
    group = sharing.create_sharing_group({"name": "Family", "ownerCustomerId": 1, "subscriptionId": owned["id"],
                                          "policy": "FAMILY", "validFrom": "2025-01-01T00:00:00Z"})
    member = sharing.join_sharing_group({"groupId": group["id"], "customerId": 2})
    sharing.edit_sharing_group(1, group["id"], {"status": "inactive"})
    sharing.edit_membership(2, member["id"], {"validTo": "2099-01-01T00:00:00Z"})
    with pytest.raises(ValidationFailed):
        sharing.edit_membership(2, member["id"], {"validTo": "2000-01-01T00:00:00Z"})
    sharing.remove_membership(2, member["id"])
    sharing.cancel_sharing_group(1, group["id"])
    sharing.cancel_sharing_group(1, group["id"])  # already cancelled: no second event
    [created] = events(rating_db, "sharing_group.created")
    assert created | {"at": None} == {
        "id": group["id"], "name": "Family", "ownerCustomerId": 1, "subscriptionId": owned["id"], "policy": "FAMILY",
        "status": "active", "validFrom": "2025-01-01T00:00:00+00:00", "validTo": None, "at": None}
    assert [e["status"] for e in events(rating_db, "sharing_group.changed")] == ["inactive"]
    [cancelled] = events(rating_db, "sharing_group.cancelled")
    assert cancelled["status"] == "cancelled" and cancelled["validTo"] == cancelled["at"]
    [joined] = events(rating_db, "sharing_member.joined")
    assert (joined["id"], joined["groupId"], joined["customerId"], joined["ownerCustomerId"]) == (
        member["id"], group["id"], 2, 1)
    [changed] = events(rating_db, "sharing_member.changed")
    assert changed["validTo"].startswith("2099-01-01") and changed["ownerCustomerId"] == 1
    [removed] = events(rating_db, "sharing_member.removed")
    assert (removed["id"], removed["customerId"], removed["reason"]) == (member["id"], 2, "removed")


def test_editing_a_service_product_moves_its_free_units_by_the_difference(rating_db, subscribed):
    created = subscribed()
    voice = created["products"][0]
    rating_db.balances.update_one({"_id": f"free:{voice['id']}"}, {"$inc": {"amount": Decimal128("30")}})  # used
    subscriptions.edit_product(7, created["id"], voice["id"], {"quantity": "2", "validity": {"unit": "year"}})
    balance = rating_db.balances.find_one({"_id": f"free:{voice['id']}"})
    assert balance["amount"].to_decimal() == Decimal(-170) and balance["initial"].to_decimal() == Decimal(-200)
    assert balance["valid_to"] is not None and balance["validity"] == "until"

"""Onboarding end to end: gateway API -> saga over customer, billing, rating and catalog workers (real processes).

Each failure test makes one step fail for real and checks that no service holds anything about the customer.
"""
import time
import uuid

import pytest

from chassis.nameko_adapter import RpcClient
from chassis.testing import operator_client

API = "/api/v1/onboardings"


@pytest.fixture(scope="module")
def platform(start_services, kit):
    # The API first: it is the slowest to start, and starts fastest while nothing else runs.
    platform = start_services("gateway:api", "customer", "catalog", "rating", "billing", "gateway")
    kit.load_demo_catalog(platform)
    return platform


@pytest.fixture(scope="module")
def client(platform):
    client = operator_client(platform)
    yield client
    client.close()


@pytest.fixture(scope="module")
def rpc(platform):
    client = RpcClient(platform.env["AMQP_URI"])
    yield client
    client.close()


@pytest.fixture
def voucher(platform):
    """An unredeemed voucher code of the demo catalog."""
    def take():
        vouchers = platform.database("catalog").vouchers
        used = take.used
        found = vouchers.find_one({"redeemed_at": None, "code": {"$nin": used}})
        used.append(found["code"])
        return found["code"]
    take.used = []
    return take


def onboard(client, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(API, json=body, headers=headers)


def test_an_onboarding_creates_customer_billing_profile_balance_group_subscription_and_services(
        platform, client, onboarding_request, voucher, kit):
    code = voucher()
    identifier = kit.unique_identifier()
    response = onboard(client, onboarding_request(identifier, subscription__promoCodes=["WELCOME5", code]))
    assert response.status_code == 201, response.text
    summary = response.json()
    customer_id = summary["customer"]["id"]
    assert response.headers["Location"] == f"{API}/{summary['id']}"
    assert summary["billingProfile"]["billingDay"] == 31 and summary["billingProfile"]["paymentType"] == "postpaid"
    assert summary["balanceGroup"]["billingProfileId"] == summary["billingProfile"]["id"]
    subscription = summary["subscription"]
    assert subscription["planCode"] == "MOBILE-S" and subscription["promoCodes"] == ["WELCOME5", code]
    products = {p["code"]: p for p in subscription["products"]}
    assert products["MOBILE-FEE"]["value"] == "17.50"
    assert products["SIM-ACTIVATION"]["purchased"] and products["SIM-ACTIVATION"]["quantity"] == "2"
    assert not products["LOYALTY-10"]["purchased"]
    assert products["WELCOME-5"]["promoCode"] == "WELCOME5"
    assert products["DATA-ADDON-5GB"]["promoCode"] == code
    # The voucher's data product is rated on the plan's data service: one service per type.
    assert sorted((s["serviceType"], s["identifier"]) for s in subscription["services"]) == [
        ("data", identifier), ("sms", identifier), ("voice", identifier)]
    assert products["DATA-ADDON-5GB"]["serviceId"] == products["DATA-MB"]["serviceId"]
    assert {p["code"] for p in summary["promotions"]} == {"WELCOME5", code}

    rating, billing = platform.database("rating"), platform.database("billing")
    assert rating.subscriptions.count_documents({"customer_id": customer_id}) == 1
    assert rating.services.count_documents({"customer_id": customer_id, "status": "active"}) == 3
    assert billing.billing_profiles.count_documents({"customer_id": customer_id}) == 1
    redeemed = platform.database("catalog").vouchers.find_one({"code": code})
    assert redeemed["redeemed_by"] == customer_id and redeemed["subscription_id"] == subscription["id"]

    record = client.get(f"{API}/{summary['id']}").json()
    assert record["status"] == "completed" and record["customerId"] == customer_id
    assert [s["name"] for s in record["steps"]] == ["customer", "billingProfile", "balanceGroup", "promotions",
                                                    "subscription"]


def test_without_service_identifiers_each_service_gets_the_current_epoch_timestamp(client, onboarding_request):
    before = int(time.time() * 1000)
    response = onboard(client, onboarding_request())
    assert response.status_code == 201, response.text
    identifiers = {s["identifier"] for s in response.json()["subscription"]["services"]}
    assert len(identifiers) == 1
    assert before <= int(identifiers.pop()) <= int(time.time() * 1000) + 1000


def test_a_product_identifier_wins_over_the_global_one(client, onboarding_request, kit):
    own, global_one = kit.unique_identifier(), kit.unique_identifier()
    body = onboarding_request(global_one)
    body["subscription"]["plan"]["products"].append({"code": "VOICE-MIN", "serviceIdentifier": own})
    services = {s["serviceType"]: s["identifier"] for s in onboard(client, body).json()["subscription"]["services"]}
    assert services == {"voice": own, "data": global_one, "sms": global_one}


def test_a_retried_onboarding_with_the_same_idempotency_key_creates_nothing_twice(platform, client,
                                                                                onboarding_request, kit):
    key = str(uuid.uuid4())
    body = onboarding_request(kit.unique_identifier())
    first = onboard(client, body, key)
    again = onboard(client, body, key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    customers = platform.database("customer").customers
    assert customers.count_documents({"email": body["account"]["email"]}) == 1

    other = onboard(client, onboarding_request(kit.unique_identifier()), key)
    assert "Idempotency-Key" in {p["name"] for p in kit.problem(other, 409)["invalid_params"]}


@pytest.mark.parametrize("change,field", [
    ({"subscription__plan__products": [{"code": "NO-SUCH-PRODUCT"}]}, "subscription.plan.products.0.code"),
    ({"subscription__plan__products": [{"code": "MOBILE-FEE", "purchase": False}]},
     "subscription.plan.products.0.purchase"),
    ({"subscription__plan__code": "NO-SUCH-PLAN"}, "subscription.plan"),
    ({"subscription__resource": "MB"}, "subscription.resource"),
    ({"subscription__resource": "XYZ"}, "subscription.resource"),
    ({"account__paymentInfo": {"method": "invoice"}}, "account.paymentInfo"),
])
def test_invalid_input_is_refused_up_front_naming_the_field_and_nothing_is_created(
        platform, client, onboarding_request, change, field, kit):
    before = platform.database("customer").customers.count_documents({})
    body = kit.problem(onboard(client, onboarding_request(**change)), 400)
    assert field in {p["name"] for p in body["invalid_params"]}, body
    assert platform.database("customer").customers.count_documents({}) == before


@pytest.mark.parametrize("change,fragment", [
    ({"subscription__billingDay": 32}, "billingDay"),
    ({"subscription__plan__products": [{"code": "MOBILE-FEE", "value": 17.5}]}, "value"),
    ({"subscription__interval": "hourly"}, "interval"),
    ({"subscription": None}, "subscription"),
])
def test_schema_violations_are_refused_by_the_openapi_contract(platform, client, onboarding_request, change,
                                                              fragment, kit):
    before = platform.database("customer").customers.count_documents({})
    body = kit.problem(onboard(client, onboarding_request(**change)), 400)
    assert fragment in body["detail"]
    assert platform.database("customer").customers.count_documents({}) == before


# -- a saga failing at each step in turn leaves no orphan anywhere ----------------------------------

def test_failing_at_the_customer_step_creates_nothing(platform, client, onboarding_request, kit):
    before = platform.database("customer").customers.count_documents({})
    body, record = kit.failed_onboarding(client, onboard(client, onboarding_request(account__customerType="nope")),
                                     400, "customer")
    assert "account.customerType" in {p["name"] for p in body["invalid_params"]}
    assert record["status"] == "compensated" and record["customerId"] is None
    assert platform.database("customer").customers.count_documents({}) == before


def test_failing_at_the_billing_profile_step_discards_the_customer(platform, client, onboarding_request, kit):
    response = onboard(client, onboarding_request(subscription__interval="weekly", subscription__billingDay=15))
    body, record = kit.failed_onboarding(client, response, 400, "billingProfile")
    assert "subscription.billingDay" in {p["name"] for p in body["invalid_params"]}
    assert body["compensated"] is True and record["status"] == "compensated"
    assert [s["status"] for s in record["steps"]] == ["compensated", "failed"]
    kit.assert_nothing_left(platform, record["customerId"])


def test_failing_at_the_promotions_step_undoes_customer_billing_profile_and_balance_group(
        platform, client, onboarding_request, voucher, kit):
    code = voucher()
    assert onboard(client, onboarding_request(subscription__promoCodes=[code])).status_code == 201
    # The voucher is redeemed now: a second onboarding with it fails at the promotions step.
    response = onboard(client, onboarding_request(subscription__promoCodes=["WELCOME5", code]))
    body, record = kit.failed_onboarding(client, response, 409, "promotions")
    assert "subscription.promoCodes.1" in {p["name"] for p in body["invalid_params"]}
    assert [s["status"] for s in record["steps"]] == ["compensated"] * 3 + ["failed"]
    kit.assert_nothing_left(platform, record["customerId"])


def test_failing_at_the_subscription_step_releases_the_voucher_and_undoes_everything(
        platform, client, onboarding_request, voucher, kit):
    taken = kit.unique_identifier()
    assert onboard(client, onboarding_request(taken)).status_code == 201
    code = voucher()
    response = onboard(client, onboarding_request(taken, subscription__promoCodes=[code]))
    body, record = kit.failed_onboarding(client, response, 409, "subscription")
    assert "subscription.serviceIdentifier" in {p["name"] for p in body["invalid_params"]}
    assert platform.database("catalog").vouchers.find_one({"code": code})["redeemed_at"] is None
    kit.assert_nothing_left(platform, record["customerId"])


def test_failing_at_the_sharing_step_discards_the_subscription_and_its_services(platform, client,
                                                                                onboarding_request, kit):
    identifier = kit.unique_identifier()
    response = onboard(client, onboarding_request(identifier, sharing={"groupId": "no-such-group"}))
    body, record = kit.failed_onboarding(client, response, 404, "sharing")
    assert "sharing.groupId" in {p["name"] for p in body["invalid_params"]}
    kit.assert_nothing_left(platform, record["customerId"])
    # The identifier is free again.
    assert onboard(client, onboarding_request(identifier)).status_code == 201


def groups(client, rpc, onboarding_request, kit):
    """A sharing group and a hierarchy group owned by a freshly onboarded customer."""
    owner = onboard(client, onboarding_request(kit.unique_identifier())).json()
    sharing = rpc.call("rating", "create_sharing_group", {
        "name": "Family", "ownerCustomerId": owner["customer"]["id"], "subscriptionId": owner["subscription"]["id"],
        "policy": "FAMILY"})
    hierarchy = rpc.call("billing", "create_hierarchy_group", {
        "name": "Acme", "ownerCustomerId": owner["customer"]["id"], "billingProfileId": owner["billingProfile"]["id"]})
    return sharing, hierarchy


def test_an_onboarding_joins_existing_sharing_and_hierarchy_groups(client, rpc, onboarding_request, kit):
    sharing, hierarchy = groups(client, rpc, onboarding_request, kit)
    response = onboard(client, onboarding_request(kit.unique_identifier(), sharing={"groupId": sharing["id"]},
                                                  hierarchy={"groupId": hierarchy["id"]}))
    assert response.status_code == 201, response.text
    customer_id = response.json()["customer"]["id"]
    assert [m["customerId"] for m in rpc.call("rating", "get_sharing_group", sharing["id"])["members"]] == [customer_id]
    assert [m["customerId"] for m in rpc.call("billing", "get_hierarchy_group", hierarchy["id"])["members"]] == [
        customer_id]


def test_failing_at_the_hierarchy_step_leaves_the_sharing_group_and_undoes_everything(
        platform, client, rpc, onboarding_request, kit):
    sharing, hierarchy = groups(client, rpc, onboarding_request, kit)
    rpc.call("billing", "join_hierarchy_group", {"groupId": hierarchy["id"], "customerId": 999999})
    # A customer can pay into one hierarchy only; use a cancelled group to fail for real.
    cancelled = rpc.call("billing", "create_hierarchy_group", {
        "name": "Old", "ownerCustomerId": hierarchy["ownerCustomerId"], "status": "cancelled",
        "billingProfileId": hierarchy["billingProfileId"]})
    response = onboard(client, onboarding_request(kit.unique_identifier(), sharing={"groupId": sharing["id"]},
                                                  hierarchy={"groupId": cancelled["id"]}))
    body, record = kit.failed_onboarding(client, response, 409, "hierarchy")
    assert [s["name"] for s in record["steps"] if s["status"] == "compensated"] == [
        "customer", "billingProfile", "balanceGroup", "promotions", "subscription", "sharing"]
    assert rpc.call("rating", "get_sharing_group", sharing["id"])["members"] == []
    kit.assert_nothing_left(platform, record["customerId"])


def test_no_step_leaves_data_for_a_completed_onboarding_of_someone_else(platform, client, onboarding_request, kit):
    summary = onboard(client, onboarding_request(kit.unique_identifier())).json()
    left = kit.customer_data(platform, summary["customer"]["id"])
    cycles = left["rating"].pop("billing_cycles", 0)  # billing's cycle_started arrives on its own time
    assert left["rating"] == {"balance_groups": 1, "subscriptions": 1, "services": 3, "balances": 3}  # free units
    assert cycles <= 1
    assert left["billing"]["billing_profiles"] == 1

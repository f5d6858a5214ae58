"""Product inventory end to end: gateway API -> customer, catalog, billing and rating workers (real processes).

A customer is onboarded once; every test then works on that existing customer through the operator API.
"""
import time
import uuid

import pytest

from chassis.nameko_adapter import RpcClient
from chassis.testing import operator_client

CUSTOMERS = "/api/v1/customers"


@pytest.fixture(scope="module")
def platform(start_services, kit):
    # The API first: it is the slowest to start, and starts fastest while nothing else runs.
    platform = start_services("gateway:api", "customer", "catalog", "rating", "billing")
    kit.load_demo_catalog(platform)
    return platform


@pytest.fixture(scope="module")
def rpc(platform):
    client = RpcClient(platform.env["AMQP_URI"])
    yield client
    client.close()


@pytest.fixture(scope="module")
def larger_plan(rpc):
    """MOBILE-L: the demo catalog's basics for 29.99 EUR a month, for plan transitions."""
    rpc.call("catalog", "create_offering", "product", {
        "code": "MOBILE-L-FEE", "name": "Monthly fee L", "type": "recurring_fee", "amount": "29.99",
        "resource": "EUR", "interval": {"unit": "month", "count": 1}, "proration": "daily", "tax": "VAT",
        "glCode": "4100"})
    rpc.call("catalog", "publish", "product", "MOBILE-L-FEE", 1)
    rpc.call("catalog", "create_offering", "bundle", {"code": "MOBILE-L-BASIC", "name": "Mobile L basics",
                                                      "products": [{"code": "VOICE-MIN"}, {"code": "DATA-MB"},
                                                                   {"code": "MOBILE-L-FEE"}]})
    rpc.call("catalog", "publish", "bundle", "MOBILE-L-BASIC", 1)
    rpc.call("catalog", "create_offering", "plan", {"code": "MOBILE-L", "name": "Mobile L",
                                                    "paymentTypes": ["postpaid"],
                                                    "bundles": [{"code": "MOBILE-L-BASIC"}]})
    rpc.call("catalog", "publish", "plan", "MOBILE-L", 1)
    return "MOBILE-L"


@pytest.fixture(scope="module")
def client(platform):
    client = operator_client(platform)
    yield client
    client.close()


@pytest.fixture
def onboarded(client, onboarding_request, kit):
    """A fresh customer with a billing profile, a balance group and a MOBILE-S subscription."""
    def make():
        response = client.post("/api/v1/onboardings", json=onboarding_request(kit.unique_identifier()))
        assert response.status_code == 201, response.text
        return response.json()
    return make


@pytest.fixture
def voucher(platform):
    def take():
        found = platform.database("catalog").vouchers.find_one({"redeemed_at": None, "code": {"$nin": take.used}})
        take.used.append(found["code"])
        return found["code"]
    take.used = []
    return take


def path(summary, *parts):
    return "/".join([CUSTOMERS, str(summary["customer"]["id"]), *parts])


def subscription_path(summary, *parts):
    return path(summary, "subscriptions", summary["subscription"]["id"], *parts)


def problem_fields(kit, response, status):
    return {p["name"] for p in kit.problem(response, status).get("invalid_params", [])}


def products_by_code(subscription):
    return {p["code"]: p for p in subscription["products"] if p["purchased"]}


def test_balance_groups_are_created_for_an_existing_customer_and_listed(client, onboarded, kit):
    summary = onboarded()
    created = client.post(path(summary, "balance-groups"), json={
        "name": "Roaming", "billingProfileId": summary["billingProfile"]["id"],
        "validFrom": "2025-01-01T00:00:00Z", "validTo": "2099-01-01T00:00:00Z"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Roaming" and created.headers["Location"].endswith(created.json()["id"])
    listed = client.get(path(summary, "balance-groups"))
    assert listed.headers["X-Total-Count"] == "2"
    other = onboarded()
    refused = client.post(path(summary, "balance-groups"), json={"billingProfileId": other["billingProfile"]["id"]})
    assert problem_fields(kit, refused, 400) == {"billingProfileId"}
    assert kit.problem(client.get(f"{CUSTOMERS}/999999/balance-groups"), 404)


def test_a_subscription_is_added_to_an_existing_customer_with_its_products_and_promotion(
        client, onboarded, platform):
    summary = onboarded()
    identifier = str(int(time.time() * 1000) + 7)
    response = client.post(path(summary, "subscriptions"), json={
        "balanceGroupId": summary["balanceGroup"]["id"], "serviceIdentifier": identifier,
        "plan": {"code": "MOBILE-S", "products": [{"code": "MOBILE-FEE", "value": "15.00"},
                                                  {"code": "VOICE-MIN", "quantity": "2"},
                                                  {"code": "SIM-ACTIVATION", "purchase": True}]},
        "promoCodes": ["WELCOME5"]})
    assert response.status_code == 201, response.text
    subscription = response.json()
    products = products_by_code(subscription)
    assert products["MOBILE-FEE"]["value"] == "15.00" and products["WELCOME-5"]["origin"] == "promotion"
    assert "LOYALTY-10" not in products and products["SIM-ACTIVATION"]["purchased"]
    assert {s["identifier"] for s in subscription["services"]} == {identifier}
    assert subscription["billingProfileId"] == summary["billingProfile"]["id"]
    # Free units are balances of the group: 2 x 100 minutes of this subscription.
    balance = platform.database("rating").balances.find_one({"_id": f"free:{products['VOICE-MIN']['id']}"})
    assert balance["amount"].to_decimal() == -200
    listed = client.get(path(summary, "subscriptions"))
    assert listed.headers["X-Total-Count"] == "2"
    # The customer list's counters follow rating's events on rating.events.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        row = client.get(CUSTOMERS, params={"email": summary["customer"]["email"]}).json()[0]
        if (row["subscriptionCount"], row["serviceCount"]) == (2, 6):
            break
        time.sleep(0.3)
    assert (row["subscriptionCount"], row["serviceCount"]) == (2, 6)


def test_a_subscription_without_identifiers_gets_the_epoch_timestamp(client, onboarded):
    summary = onboarded()
    before = int(time.time() * 1000)
    response = client.post(path(summary, "subscriptions"), json={
        "balanceGroupId": summary["balanceGroup"]["id"], "plan": {"code": "MOBILE-S"}})
    assert response.status_code == 201, response.text
    identifiers = {s["identifier"] for s in response.json()["services"]}
    assert len(identifiers) == 1 and before <= int(identifiers.pop()) <= int(time.time() * 1000) + 1000


@pytest.mark.parametrize(("change", "status", "field"), [
    (lambda body, summary: body.update(serviceIdentifier=summary["subscription"]["services"][0]["identifier"]),
     409, "serviceIdentifier"),
    (lambda body, summary: body["plan"].update(code="NO-SUCH-PLAN"), 400, "plan.code"),
    (lambda body, summary: body["plan"].update(products=[{"code": "MOBILE-FEE", "purchase": False}]), 400,
     "plan.products.0.purchase"),
    (lambda body, summary: body["plan"].update(products=[{"code": "MOBILE-FEE", "value": 17.5}]), 400,
     "plan.products.0.value"),
    (lambda body, summary: body.update(balanceGroupId=str(uuid.uuid4())), 400, "balanceGroupId"),
    (lambda body, summary: body.update(promoCodes=["NO-SUCH-CODE"]), 400, "promoCodes.0"),
])
def test_a_bad_subscription_is_a_problem_naming_the_field_and_nothing_is_bought(
        client, onboarded, platform, kit, change, status, field):
    summary = onboarded()
    body = {"balanceGroupId": summary["balanceGroup"]["id"], "plan": {"code": "MOBILE-S"},
            "serviceIdentifier": str(uuid.uuid4().int % 10**12)}
    change(body, summary)
    assert field in problem_fields(kit, client.post(path(summary, "subscriptions"), json=body), status)
    rating = platform.database("rating")
    assert rating.subscriptions.count_documents({"customer_id": summary["customer"]["id"]}) == 1
    assert rating.services.count_documents({"customer_id": summary["customer"]["id"]}) == 3


def test_a_voucher_in_a_failed_purchase_is_released(client, onboarded, platform, voucher, kit):
    summary = onboarded()
    code = voucher()
    taken = summary["subscription"]["services"][0]["identifier"]
    response = client.post(path(summary, "subscriptions"), json={
        "balanceGroupId": summary["balanceGroup"]["id"], "plan": {"code": "MOBILE-S"}, "serviceIdentifier": taken,
        "promoCodes": [code]})
    assert "serviceIdentifier" in problem_fields(kit, response, 409)
    assert platform.database("catalog").vouchers.find_one({"code": code})["redeemed_at"] is None


def test_an_add_on_bundle_is_bought_on_the_plans_data_service(client, onboarded, kit):
    summary = onboarded()
    response = client.post(subscription_path(summary, "bundles"), json={
        "bundle": {"code": "DATA-5GB"}, "products": [{"code": "DATA-ADDON-5GB", "value": "2048"}]})
    assert response.status_code == 200, response.text
    products = products_by_code(response.json())
    assert products["DATA-ADDON-5GB"]["value"] == "2048" and products["DATA-ADDON-5GB"]["origin"] == "addon"
    assert products["DATA-ADDON-5GB"]["serviceId"] == products["DATA-MB"]["serviceId"]
    assert len(response.json()["services"]) == 3
    refused = client.post(subscription_path(summary, "bundles"), json={"bundle": {"code": "MOBILE-BASIC"}})
    assert problem_fields(kit, refused, 400) == {"bundle.code"}


def test_vouchers_buy_their_bundles_all_or_nothing(client, onboarded, platform, voucher, kit):
    summary = onboarded()
    first, second, third = voucher(), voucher(), voucher()
    used = client.post(subscription_path(summary, "vouchers"), json={"codes": [first, second]})
    assert used.status_code == 200, used.text
    assert sorted(p["promoCode"] for p in used.json()["products"] if p["origin"] == "voucher") == sorted(
        [first, first, second, second])
    again = client.post(subscription_path(summary, "vouchers"), json={"codes": [third, first]})
    assert "codes.1" in problem_fields(kit, again, 409)
    vouchers = platform.database("catalog").vouchers
    assert vouchers.find_one({"code": third})["redeemed_at"] is None  # released: nothing was bought
    after = client.get(subscription_path(summary)).json()
    assert len(after["products"]) == len(used.json()["products"])
    coupon = client.post(subscription_path(summary, "vouchers"), json={"codes": ["WELCOME5"]})
    assert "codes.0" in problem_fields(kit, coupon, 409)


def test_a_product_is_edited_and_cancelled_and_floats_are_refused(client, onboarded, kit):
    summary = onboarded()
    fee = products_by_code(summary["subscription"])["MOBILE-FEE"]
    edited = client.patch(subscription_path(summary, "products", fee["id"]), json={"quantity": "2"})
    assert edited.status_code == 200, edited.text
    assert products_by_code(edited.json())["MOBILE-FEE"]["quantity"] == "2"
    refused = client.patch(subscription_path(summary, "products", fee["id"]), json={"quantity": 2.5})
    assert problem_fields(kit, refused, 400) == {"quantity"}
    sim = products_by_code(summary["subscription"])["SIM-ACTIVATION"]
    cancelled = client.post(subscription_path(summary, "products", sim["id"], "cancel"))
    assert cancelled.status_code == 200, cancelled.text
    assert products_by_code(cancelled.json())["SIM-ACTIVATION"]["status"] == "cancelled"


def test_another_customers_subscription_cannot_be_changed_through_this_customer(client, onboarded, kit):
    mine, theirs = onboarded(), onboarded()
    fee = products_by_code(theirs["subscription"])["MOBILE-FEE"]
    foreign = "/".join([CUSTOMERS, str(mine["customer"]["id"]), "subscriptions", theirs["subscription"]["id"]])
    assert kit.problem(client.patch(f"{foreign}/products/{fee['id']}", json={"quantity": "5"}), 404)
    assert kit.problem(client.post(f"{foreign}/cancel", json={"reason": "x"}), 404)
    assert client.get(subscription_path(theirs)).json()["status"] == "active"


def test_a_plan_transition_is_previewed_then_applied_keeping_the_identifiers(client, onboarded, larger_plan,
                                                                             platform):
    summary = onboarded()
    body = {"plan": {"code": larger_plan}}
    preview = client.post(subscription_path(summary, "plan-transition/preview"), json=body)
    assert preview.status_code == 200, preview.text
    kinds = {line["productCode"]: line["kind"] for line in preview.json()["lines"]}
    assert kinds == {"MOBILE-FEE": "credit", "MOBILE-L-FEE": "charge"}
    assert client.get(subscription_path(summary)).json()["planCode"] == "MOBILE-S"
    moved = client.post(subscription_path(summary, "plan-transition"), json=body)
    assert moved.status_code == 200, moved.text
    result = moved.json()
    assert result["planCode"] == larger_plan and result["proration"]["totals"] == preview.json()["totals"]
    active = {s["serviceType"]: s for s in result["services"] if s["status"] == "active"}
    identifier = summary["subscription"]["services"][0]["identifier"]
    assert {t: s["identifier"] for t, s in active.items()} == {"voice": identifier, "data": identifier}
    assert {s["serviceType"] for s in result["services"] if s["status"] == "terminated"} == {"sms"}
    # Billing receives the whole snapshot with each change (decision 0010) on rating.events.
    fees = platform.database("billing").subscription_fees
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        record = fees.find_one({"_id": result["id"]}) or {"history": []}
        if [h["change"] for h in record["history"]][-1:] == ["plan_transition"]:
            break
        time.sleep(0.3)
    latest = record["history"][-1]
    assert latest["change"] == "plan_transition"
    assert {p["code"] for p in latest["products"] if p["status"] == "active"} >= {"MOBILE-L-FEE"}


def test_a_cancelled_subscription_stops_its_services_at_once(client, onboarded, platform):
    summary = onboarded()
    cancelled = client.post(subscription_path(summary, "cancel"), json={"reason": "moved abroad"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert {s["status"] for s in cancelled.json()["services"]} == {"terminated"}
    audit = client.get("/api/v1/audit").json()
    assert any(e["target"] == f"customers/{summary['customer']['id']}/subscriptions/{summary['subscription']['id']}"
               for e in audit)


def test_services_are_listed_and_edited_and_an_identifier_stays_unique(client, onboarded, kit):
    summary, other = onboarded(), onboarded()
    services = client.get(path(summary, "services")).json()
    assert len(services) == 3
    voice = next(s for s in services if s["serviceType"] == "voice")
    taken = other["subscription"]["services"][0]["identifier"]
    duplicate = client.patch(path(summary, "services", voice["id"]), json={"identifier": taken})
    assert problem_fields(kit, duplicate, 409) == {"identifier"}
    edited = client.patch(path(summary, "services", voice["id"]), json={
        "status": "suspended", "devices": ["IMEI-356938035643809"], "validTo": "2099-01-01T00:00:00Z"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "suspended" and edited.json()["devices"] == ["IMEI-356938035643809"]
    bad = client.patch(path(summary, "services", voice["id"]), json={"status": "deleted"})
    assert problem_fields(kit, bad, 400) == {"status"}
    suspended = client.get(path(summary, "services"), params={"status": "suspended"}).json()
    assert [s["id"] for s in suspended] == [voice["id"]]


def test_an_owner_shares_a_subscription_and_a_member_finds_it_by_the_owners_name(client, onboarded, kit):
    owner, member = onboarded(), onboarded()
    created = client.post(path(owner, "sharing-groups"), json={
        "name": "Novak family", "subscriptionId": owner["subscription"]["id"], "policy": "FAMILY"})
    assert created.status_code == 201, created.text
    group = created.json()
    unknown_policy = client.post(path(owner, "sharing-groups"), json={
        "name": "X", "subscriptionId": owner["subscription"]["id"], "policy": "NO-SUCH-POLICY"})
    assert problem_fields(kit, unknown_policy, 400) == {"policy"}
    found = client.get("/api/v1/sharing-groups", params={"ownerName": "ana nov"}).json()
    assert group["id"] in {g["id"] for g in found}
    joined = client.post(path(member, "sharing-memberships"), json={"groupId": group["id"]})
    assert joined.status_code == 201, joined.text
    membership = joined.json()
    assert [g["id"] for g in client.get(path(member, "sharing-groups")).json()] == [group["id"]]
    edited = client.patch(path(member, "sharing-memberships", membership["id"]), json={"status": "inactive"})
    assert edited.json()["status"] == "inactive"
    assert client.patch(path(owner, "sharing-groups", group["id"]),
                        json={"validTo": "2099-01-01T00:00:00Z"}).status_code == 200
    assert client.delete(path(member, "sharing-memberships", membership["id"])).status_code == 204
    assert client.post(path(owner, "sharing-groups", group["id"], "cancel")).json()["status"] == "cancelled"


def test_a_viewer_reads_the_inventory_but_cannot_change_it(client, platform, onboarded, kit):
    summary = onboarded()
    client.post("/api/v1/users", json={"username": "inventory-viewer", "password": "viewer-password-1",
                                       "role": "viewer"})
    with operator_client(platform, username="inventory-viewer", password="viewer-password-1") as viewer:
        assert viewer.get(path(summary, "subscriptions")).status_code == 200
        assert kit.problem(viewer.post(subscription_path(summary, "cancel"), json={"reason": "x"}), 403)
        assert kit.problem(viewer.patch(path(summary, "balance-groups", summary["balanceGroup"]["id"]),
                                        json={"creditProfile": "STANDARD"}), 403)
    stored = platform.database("rating").balance_groups.find_one({"_id": summary["balanceGroup"]["id"]})
    assert stored.get("credit_profile") is None

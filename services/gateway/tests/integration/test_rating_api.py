"""Balances, usage and real-time charging end to end: gateway API -> rating, catalog, customer, billing workers.

The seed's voice call is rated on a service type shaped like the seed's table (start time, end time, from, to,
origin, destination) whose calls cost 2.50 EUR a minute, so its 20 minutes come out as the seed's amount 50.
"""
import csv
import io
import uuid

import pytest

from chassis.nameko_adapter import RpcClient
from chassis.testing import operator_client

# Starting five processes takes minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)
CUSTOMERS = "/api/v1/customers"
SEED_FIELDS = [
    {"name": "startTime", "type": "datetime", "role": "mandatory"},
    {"name": "endTime", "type": "datetime", "role": "mandatory"},
    {"name": "from", "type": "string", "role": "mandatory"},
    {"name": "to", "type": "string", "role": "mandatory"},
    {"name": "origin", "type": "string", "role": "optional"},
    {"name": "destination", "type": "string", "role": "ratingSet"},
]


@pytest.fixture(scope="module")
def platform(start_services, kit):
    # Billing may announce today's cycle: the seed's 2020 call is then late, so the window must reach back.
    platform = start_services("customer", "catalog", "rating", "billing", "gateway:api",
                              env={"RATING_LATENESS_WINDOW_HOURS": "100000"})
    kit.load_demo_catalog(platform)
    rpc = RpcClient(platform.env["AMQP_URI"])
    try:
        rpc.call("catalog", "create_entry", "service_type", {"code": "voicecall", "name": "Voice call (seed)",
                                                             "fields": SEED_FIELDS})
        for kind, entry in (
            ("product", {"code": "CALL-MIN", "name": "Calls", "type": "service", "serviceType": "voicecall",
                         "resource": "MIN", "priceResource": "EUR", "tax": "VAT", "glCode": "4000",
                         "rateTable": {"keys": ["destination"], "rates": [
                             {"key": {"destination": "*"}, "pricePerUnit": "2.50", "unitSize": "1",
                              "rounding": "up"}]}}),
            ("bundle", {"code": "CALLS", "name": "Calls", "products": [{"code": "CALL-MIN"}]}),
            ("plan", {"code": "SEED-VOICE", "name": "Seed voice", "paymentTypes": ["postpaid", "prepaid"],
                      "bundles": [{"code": "CALLS"}]})):
            rpc.call("catalog", "create_offering", kind, entry)
            rpc.call("catalog", "publish", kind, entry["code"], 1)
    finally:
        rpc.close()
    return platform


@pytest.fixture(scope="module")
def client(platform):
    client = operator_client(platform)
    yield client
    client.close()


@pytest.fixture
def voice_customer(client, onboarding_request, kit):
    """An onboarded customer with a seed-voice subscription on the seed's calling number (valid since 2020)."""
    def make(identifier="08094349013", payment_type="postpaid"):
        onboarded = client.post("/api/v1/onboardings", json=onboarding_request(
            kit.unique_identifier(), subscription__paymentType=payment_type))
        assert onboarded.status_code == 201, onboarded.text
        summary = onboarded.json()
        customer_id = summary["customer"]["id"]
        # A balance group of its own: MOBILE-S's free minutes (same resource) would otherwise pay the calls.
        group = client.post(f"{CUSTOMERS}/{customer_id}/balance-groups", json={
            "name": "Seed calls", "billingProfileId": summary["billingProfile"]["id"],
            "validFrom": "2020-01-01T00:00:00Z"})
        assert group.status_code == 201, group.text
        subscription = client.post(f"{CUSTOMERS}/{customer_id}/subscriptions", json={
            "balanceGroupId": group.json()["id"], "serviceIdentifier": identifier,
            "plan": {"code": "SEED-VOICE"}, "validFrom": "2020-01-01T00:00:00Z"})
        assert subscription.status_code == 201, subscription.text
        service = subscription.json()["services"][0]
        return customer_id, group.json()["id"], service["id"]
    return make


def seed_call(service_id, event_id="1"):
    return {"id": event_id, "serviceId": service_id, "startTime": "2020-09-29T11:59:00Z", "quantity": "20",
            "fields": {"endTime": "2020-09-29T12:19:00Z", "from": "08094349013", "to": "08149110574",
                       "origin": "Slovenia", "destination": "Italy"}}


def fields_of(kit, response, status):
    return {p["name"] for p in kit.problem(response, status).get("invalid_params", [])}


def test_the_seeds_voice_call_is_created_rated_listed_and_exported_as_the_seed_shows(client, voice_customer):
    customer_id, _, service_id = voice_customer()
    event_id = f"1-{uuid.uuid4().hex[:6]}"
    created = client.post(f"{CUSTOMERS}/{customer_id}/usage", json=seed_call(service_id, event_id))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "rated" and created.json()["amount"] == "50"
    page = client.get(f"{CUSTOMERS}/{customer_id}/usage", params={"serviceId": service_id})
    assert page.status_code == 200 and page.headers["X-Total-Count"] == "1"
    assert [c["title"] for c in page.json()["columns"]] == [
        "Event ID", "Created at", "Start time", "End time", "From", "To", "Origin", "Destination", "Amount"]
    exported = client.get(f"{CUSTOMERS}/{customer_id}/usage", headers={"Accept": "text/csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    header, row = list(csv.reader(io.StringIO(exported.text)))
    assert header == ["Event ID", "Created at", "Start time", "End time", "From", "To", "Origin", "Destination",
                      "Amount"]
    assert row[0] == event_id and row[2:] == [
        "29/09/2020, 11:59", "29/09/2020, 12:19", "08094349013", "08149110574", "Slovenia", "Italy", "50"]


def test_balances_are_created_listed_with_totals_and_adjusted_with_tax(client, voice_customer, kit):
    customer_id, group_id, _ = voice_customer(kit.unique_identifier())
    created = client.post(f"{CUSTOMERS}/{customer_id}/balances", json={
        "balanceGroupId": group_id, "resource": "EUR", "amount": "20", "direction": "credit",
        "validity": {"kind": "infinite"}})
    assert created.status_code == 201, created.text
    balance = created.json()
    assert balance["amount"] == "-20"
    adjusted = client.post(f"{CUSTOMERS}/{customer_id}/balances/{balance['id']}/adjustments", json={
        "amount": "5", "billItem": "correction", "tax": {"code": "VAT", "supplier": "FZA", "glCode": "3806"}})
    assert adjusted.status_code == 200 and adjusted.json()["amount"] == "-15"
    listed = client.get(f"{CUSTOMERS}/{customer_id}/balances", params={"balanceGroupId": group_id}).json()
    [group] = listed["balanceGroups"]
    assert {"resource": "EUR", "amount": "-15"} in group["totals"]
    assert any(b["id"] == balance["id"] for b in group["balances"])


def test_bad_balance_and_usage_input_is_a_problem_naming_the_field_and_changes_nothing(
        client, voice_customer, kit, platform):
    customer_id, group_id, service_id = voice_customer(kit.unique_identifier())
    other_id, _, _ = voice_customer(kit.unique_identifier())
    base = {"balanceGroupId": group_id, "resource": "EUR", "amount": "20", "direction": "credit"}
    assert fields_of(kit, client.post(f"{CUSTOMERS}/{customer_id}/balances", json={**base, "amount": 1.5}),
                     400) == {"amount"}
    assert fields_of(kit, client.post(f"{CUSTOMERS}/{other_id}/balances", json=base), 400) == {"balanceGroupId"}
    balance = client.post(f"{CUSTOMERS}/{customer_id}/balances", json=base).json()
    assert kit.problem(client.post(f"{CUSTOMERS}/{other_id}/balances/{balance['id']}/adjustments",
                                   json={"amount": "-5", "billItem": "x"}), 404)
    call = seed_call(service_id, uuid.uuid4().hex)
    bad = [({**call, "quantity": "-1"}, "quantity"),
           ({**call, "fields": {**call["fields"], "from": 5}}, "fields.from"),
           ({**call, "fields": {**call["fields"], "planet": "earth"}}, "fields.planet"),
           ({**call, "fields": {"endTime": "2020-09-29T12:19:00Z", "to": "1"}}, "fields.from")]
    for body, field in bad:
        assert field in fields_of(kit, client.post(f"{CUSTOMERS}/{customer_id}/usage", json=body), 400), field
    assert fields_of(kit, client.post(f"{CUSTOMERS}/{other_id}/usage", json=call), 400) == {"serviceId"}
    batch = client.post("/api/v1/usage", json={"events": [
        {"id": uuid.uuid4().hex, "serviceType": "voicecall", "serviceIdentifier": "nobody", "startTime":
         "2020-09-29T11:59:00Z", "quantity": "1", "fields": call["fields"]}]})
    assert fields_of(kit, batch, 400) == {"events.0.serviceIdentifier"}
    assert platform.database("rating").usage.count_documents({"customer_id": customer_id}) == 0
    listed = client.get(f"{CUSTOMERS}/{customer_id}/balances").json()
    assert [b["amount"] for g in listed["balanceGroups"] for b in g["balances"] if b["resource"] == "EUR"] == ["-20"]


def test_a_usage_batch_and_an_adjustment_through_the_api(client, voice_customer, kit):
    identifier = kit.unique_identifier()
    customer_id, _, _ = voice_customer(identifier)
    events = [{"id": uuid.uuid4().hex, "serviceType": "voicecall", "serviceIdentifier": identifier,
               "startTime": "2020-09-29T11:59:00Z", "quantity": str(minutes),
               "fields": {"endTime": "2020-09-29T12:19:00Z", "from": "1", "to": "2", "destination": "Italy"}}
              for minutes in (1, 2)]
    rated = client.post("/api/v1/usage", json={"events": [*events, events[0]]})
    assert rated.status_code == 200, rated.text
    assert rated.json()["summary"] == {"rated": 2, "duplicate": 1}
    adjusted = client.post(f"{CUSTOMERS}/{customer_id}/usage/{events[1]['id']}/adjustments", json={"amount": "-1"})
    assert adjusted.status_code == 200 and adjusted.json()["amount"] == "4"


def test_real_time_charging_reserves_commits_and_releases(client, voice_customer, kit):
    identifier = kit.unique_identifier()
    customer_id, group_id, _ = voice_customer(identifier)
    request = {"serviceType": "voicecall", "serviceIdentifier": identifier, "quantity": "10",
               "fields": {"endTime": "2026-01-01T00:00:00Z", "from": "1", "to": "2", "destination": "Italy"}}
    reserved = client.post("/api/v1/charging/reservations", json=request)
    assert reserved.status_code == 201, reserved.text
    reservation = reserved.json()
    assert reservation["granted"] == "10" and reservation["status"] == "active"
    committed = client.post(f"/api/v1/charging/reservations/{reservation['id']}/commit", json={"used": "4"})
    assert committed.status_code == 200, committed.text
    assert committed.json()["usage"]["amount"] == "10" and committed.json()["status"] == "committed"
    other = client.post("/api/v1/charging/reservations", json=request).json()
    released = client.post(f"/api/v1/charging/reservations/{other['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert kit.problem(client.post(f"/api/v1/charging/reservations/{other['id']}/commit", json={"used": "1"}), 409)
    assert "used" in fields_of(kit, client.post(f"/api/v1/charging/reservations/{reservation['id']}x/commit",
                                                json={"used": 1}), 400)

"""Balances, usage and real-time charging end to end: gateway API -> rating, catalog, customer, billing workers.

The seed's voice call is rated on a service type shaped like the seed's table (start time, end time, from, to,
origin, destination) whose calls cost 2.50 EUR a minute, so its 20 minutes come out as the seed's amount 50.
"""
import csv
import io
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

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
    platform = start_services("customer", "catalog", "rating", "rating:charging", "billing", "gateway:api",
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


def threshold_events(platform, group_id):
    return [r["envelope"]["data"] for r in platform.database("rating").outbox.find(
        {"type": "balance.threshold_crossed", "envelope.data.balanceGroupId": group_id})]


def test_a_balance_groups_credit_profile_is_chosen_through_the_api_and_its_thresholds_are_watched(
        client, voice_customer, kit, platform):
    identifier = kit.unique_identifier()
    customer_id, group_id, service_id = voice_customer(identifier)
    other_id, _, _ = voice_customer(kit.unique_identifier())
    group_path = f"{CUSTOMERS}/{customer_id}/balance-groups/{group_id}"

    def call(minutes):
        event = {**seed_call(service_id, uuid.uuid4().hex), "quantity": str(minutes)}
        created = client.post(f"{CUSTOMERS}/{customer_id}/usage", json=event)
        assert created.status_code == 201 and created.json()["status"] == "rated", created.text

    call(4)  # 10 EUR charged while the group watches no credit profile
    assert threshold_events(platform, group_id) == []
    assert fields_of(kit, client.patch(group_path, json={"creditProfile": "NO-SUCH-PROFILE"}), 400) == {
        "creditProfile"}
    assert fields_of(kit, client.patch(group_path, json={"creditProfile": 5}), 400) == {"creditProfile"}
    assert kit.problem(client.patch(f"{CUSTOMERS}/{other_id}/balance-groups/{group_id}",
                                    json={"creditProfile": "STANDARD"}), 404)
    assert [g["creditProfile"] for g in client.get(f"{CUSTOMERS}/{customer_id}/balance-groups").json()
            if g["id"] == group_id] == [None]

    chosen = client.patch(group_path, json={"creditProfile": "STANDARD"})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["creditProfile"] == "STANDARD" and chosen.json()["id"] == group_id
    audited, created = client.get("/api/v1/audit", params={
        "target": f"customers/{customer_id}/balance-groups/{group_id}"}).json()  # newest first
    assert created["operation"] == "gateway.api.inventory.create_balance_group"
    assert (audited["before"]["creditProfile"], audited["after"]["creditProfile"]) == (None, "STANDARD")
    assert audited["operation"] == "gateway.api.inventory.edit_balance_group"

    call(30)  # 10 + 75 = 85 EUR: past STANDARD's 80 % of its 100 EUR limit, short of 100 %
    [crossed] = threshold_events(platform, group_id)
    assert (crossed["creditProfile"], crossed["threshold"]) == ("STANDARD", {"kind": "percent", "value": "80"})
    assert (Decimal(crossed["value"]), Decimal(crossed["balance"])) == (80, 85)
    call(1)  # the same threshold is not crossed twice
    assert len(threshold_events(platform, group_id)) == 1
    cleared = client.patch(group_path, json={"creditProfile": None})
    assert cleared.status_code == 200 and cleared.json()["creditProfile"] is None


# -- the seed's sharing example: the owner has 1000 MB free and three members consume it concurrently ------------

def data_session(identifier, megabytes=100):
    return {"id": uuid.uuid4().hex, "serviceType": "data", "serviceIdentifier": identifier,
            "startTime": datetime.now(UTC).isoformat(), "quantity": str(megabytes), "fields": {"zone": "home"}}


def mb_total(client, customer_id, group_id):
    listed = client.get(f"{CUSTOMERS}/{customer_id}/balances", params={"balanceGroupId": group_id}).json()
    [group] = listed["balanceGroups"]
    return sum((Decimal(t["amount"]) for t in group["totals"] if t["resource"] == "MB"), Decimal(0))


@pytest.fixture(scope="module")
def deny_policy(platform):
    rpc = RpcClient(platform.env["AMQP_URI"])
    try:
        rpc.call("catalog", "create_entry", "sharing_policy", {
            "code": "SEED-DENY", "name": "Owner's pool only", "onExhausted": "deny",
            "resources": [{"resource": "MB", "memberCap": None}]})
    finally:
        rpc.close()
    return "SEED-DENY"


def test_the_seeds_sharing_example_three_members_share_1000_mb_then_fall_back_or_are_denied_per_policy(
        client, onboarding_request, kit, platform, deny_policy):
    def onboard():
        identifier = kit.unique_identifier()
        response = client.post("/api/v1/onboardings", json=onboarding_request(identifier), timeout=120)
        assert response.status_code == 201, response.text
        return response.json(), identifier

    owner, _ = onboard()
    owner_id = owner["customer"]["id"]
    members = [onboard() for _ in range(3)]

    def share(policy):
        """A group of the owner around a subscription whose only free data is 1000 MB (seed)."""
        group = client.post(f"{CUSTOMERS}/{owner_id}/balance-groups", json={
            "name": f"Shared {policy}", "billingProfileId": owner["billingProfile"]["id"]}).json()
        subscription = client.post(f"{CUSTOMERS}/{owner_id}/subscriptions", json={
            "balanceGroupId": group["id"], "serviceIdentifier": kit.unique_identifier(),
            "plan": {"code": "MOBILE-S", "products": [{"code": "DATA-MB", "value": "1000"}]}})
        assert subscription.status_code == 201, subscription.text
        shared = client.post(f"{CUSTOMERS}/{owner_id}/sharing-groups", json={
            "name": f"Novak {policy}", "subscriptionId": subscription.json()["id"], "policy": policy})
        assert shared.status_code == 201, shared.text
        assert mb_total(client, owner_id, group["id"]) == -1000
        joined = [client.post(f"{CUSTOMERS}/{m['customer']['id']}/sharing-memberships",
                              json={"groupId": shared.json()["id"]}) for m, _ in members]
        assert [j.status_code for j in joined] == [201, 201, 201], [j.text for j in joined]
        return group["id"], [j.json()["id"] for j in joined]

    def consume_concurrently(sessions_each=5):
        """Each member sends its 100 MB sessions one request at a time, the three members at once."""
        def member_sends(identifier):
            return [client.post("/api/v1/usage", json={"events": [data_session(identifier)]}).json()["events"][0]
                    for _ in range(sessions_each)]
        with ThreadPoolExecutor(max_workers=3) as pool:
            return [o for outcomes in pool.map(member_sends, [i for _, i in members]) for o in outcomes]

    def own_mb():
        return [mb_total(client, m["customer"]["id"], m["balanceGroup"]["id"]) for m, _ in members]

    # FAMILY (demo catalog): 2048 MB per member and cycle, then fall back to the member's own balances.
    pool_group, memberships = share("FAMILY")
    own_before = own_mb()
    outcomes = consume_concurrently()
    assert [o["status"] for o in outcomes] == ["rated"] * 15
    usage = platform.database("rating").usage
    rated = list(usage.find({"_id": {"$in": [o["id"] for o in outcomes]}}))
    assert sum(r["shared_used"].to_decimal() for r in rated) == 1000
    assert mb_total(client, owner_id, pool_group) == 0  # all of it consumed, never past zero
    # The other 500 MB came from the members' own free data.
    assert sum(before - after for before, after in zip(own_before, own_mb(), strict=True)) == -500
    for (member, _), membership in zip(members, memberships, strict=True):
        removed = client.delete(f"{CUSTOMERS}/{member['customer']['id']}/sharing-memberships/{membership}")
        assert removed.status_code == 204

    # A policy that denies: once the pool is empty the members' sessions are refused with the reason.
    pool_group, _ = share(deny_policy)
    own_before = own_mb()
    outcomes = consume_concurrently()
    assert sorted(o["status"] for o in outcomes) == ["rated"] * 10 + ["rejected"] * 5
    assert all("policy denies" in o["reason"] for o in outcomes if o["status"] == "rejected")
    assert mb_total(client, owner_id, pool_group) == 0
    assert own_mb() == own_before  # the members' own balances were not touched

    # Every sharing change is on rating.events.
    outbox = platform.database("rating").outbox
    assert outbox.count_documents({"type": "sharing_group.created", "envelope.data.ownerCustomerId": owner_id}) == 2
    assert outbox.count_documents({"type": "sharing_member.joined", "envelope.data.ownerCustomerId": owner_id}) == 6
    assert outbox.count_documents({"type": "sharing_member.removed", "envelope.data.ownerCustomerId": owner_id,
                                   "envelope.data.reason": "removed"}) == 3

"""Rating end to end through the gateway, with the whole rating side running as it does in production: the
gateway API, customer, catalog, billing, the rating worker (which expires reservations and flushes committed
postpaid charges to billing), the charging process (which answers reserve/commit/release) and the usage stream
(which rates what mediation publishes).

Covers what the gateway integration tests (services/gateway/tests/integration/test_rating_api.py,
test_inventory_api.py) leave out: reservations under prepaid credit, their expiry by themselves, concurrent
reservations — also by sharing members against the owner's pool — never overspending, a suspended service or
a cancelled subscription rating nothing on the stream, postpaid usage (streamed or committed) reaching billing's
active bill and the invoice lines per service, and late usage.
"""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pika
import pytest

from chassis.nameko_adapter import RpcClient
from chassis.testing import operator_client, wait_for

# Seven processes and the demo catalog: starting them alone can take minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)
CUSTOMERS = "/api/v1/customers"
RESERVATIONS = "/api/v1/charging/reservations"
DENY = "E2E-POOL-ONLY"


@pytest.fixture(scope="module")
def platform(start_services):
    # Committed postpaid charges are summed for billing after 3 s here, not production's 60 (decision 0415).
    platform = start_services("gateway:api", "customer", "catalog", "billing", "rating", "rating:charging",
                              "rating:stream", env={"RATING_CHARGE_FLUSH_SECONDS": "3"})
    platform.run_job("catalog", "load-demo", timeout=600)
    rpc = RpcClient(platform.env["AMQP_URI"])
    try:
        # A sharing policy without fallback: once the owner's pool is empty, members are denied.
        rpc.call("catalog", "create_entry", "sharing_policy", {
            "code": DENY, "name": "Owner's pool only", "onExhausted": "deny",
            "resources": [{"resource": "MB", "memberCap": None}]})
    finally:
        rpc.close()
    return platform


@pytest.fixture(scope="module")
def client(platform):
    with operator_client(platform) as client:
        yield client


def unique_identifier():
    return f"{time.time_ns() % 10**12}{uuid.uuid4().int % 1000:03d}"


def onboard(client, payment_type="postpaid", free_mb="1000", billing_day=31):
    """A customer on MOBILE-S with `free_mb` free data; returns (onboarding summary, service identifier)."""
    identifier = unique_identifier()
    response = client.post("/api/v1/onboardings", json={
        "account": {"firstName": "Ana", "lastName": f"Novak{uuid.uuid4().hex[:6]}",
                    "email": f"{uuid.uuid4().hex[:10]}@example.com", "phone": "+386 40 111 222",
                    "address": "Slovenska 1", "city": "Ljubljana", "state": "Osrednjeslovenska", "country": "SI",
                    "customerType": "regular"},
        "paymentInfo": {"method": "invoice"},
        "subscription": {"paymentType": payment_type, "resource": "EUR", "interval": "monthly",
                         "billingDay": billing_day, "serviceIdentifier": identifier,
                         "plan": {"code": "MOBILE-S", "products": [{"code": "DATA-MB", "value": free_mb}]}}},
        timeout=120)  # a saga over four services
    assert response.status_code == 201, response.text
    return response.json(), identifier


def customer_path(summary, *parts):
    return "/".join([CUSTOMERS, str(summary["customer"]["id"]), *parts])


def data_request(identifier, megabytes, **extra):
    return {"serviceType": "data", "serviceIdentifier": identifier, "quantity": str(megabytes),
            "fields": {"zone": "home"}, **extra}


def reserve(client, identifier, megabytes, **extra):
    return client.post(RESERVATIONS, json=data_request(identifier, megabytes, **extra))


def totals(client, summary, group_id=None):
    """resource -> total of the customer's balance group (the onboarding's unless named)."""
    listed = client.get(customer_path(summary, "balances"),
                        params={"balanceGroupId": group_id or summary["balanceGroup"]["id"]})
    assert listed.status_code == 200, listed.text
    [group] = listed.json()["balanceGroups"]
    return {t["resource"]: Decimal(t["amount"]) for t in group["totals"]}


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def publish_usage(platform, events):
    """Usage events on the durable `rating.usage` exchange, as mediation publishes them (confirmed)."""
    connection = pika.BlockingConnection(pika.URLParameters(platform.env["AMQP_URI"]))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for event in events:
            channel.basic_publish("rating.usage", event["serviceType"], json.dumps(event).encode(),
                                  pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                                       message_id=event["id"]))
    finally:
        connection.close()


def data_session(identifier, megabytes, start=None):
    start = start or datetime.now(UTC)
    return {"id": f"e2e-{uuid.uuid4().hex}", "serviceType": "data", "serviceIdentifier": identifier,
            "startTime": start.isoformat(), "quantity": str(megabytes), "fields": {"zone": "home"}}


def usage_of(client, summary, event_ids, timeout=60):
    """The customer's usage records of `event_ids` once all of them are stored (the stream rates them)."""
    wanted = set(event_ids)
    found = {}

    def stored():
        page = client.get(customer_path(summary, "usage"), params={"limit": 1000}).json()
        found.update({e["eventId"]: e for e in page["items"] if e["eventId"] in wanted})
        return wanted <= found.keys()

    assert wait_for(stored, timeout=timeout, interval=0.25), f"not stored: {wanted - found.keys()}"
    return [found[event_id] for event_id in event_ids]


# -- real-time charging ---------------------------------------------------------------------------------------

def test_a_reservation_is_committed_for_what_was_used_and_the_rest_goes_back(client):
    summary, identifier = onboard(client, free_mb="1000")
    reserved = reserve(client, identifier, 300)
    assert reserved.status_code == 201, reserved.text
    held = reserved.json()
    assert (held["granted"], held["status"], held["resource"]) == ("300", "active", "MB")
    assert totals(client, summary)["MB"] == -1000  # held credit is still the customer's until committed

    committed = client.post(f"{RESERVATIONS}/{held['id']}/commit", json={"used": "120"})
    assert committed.status_code == 200, committed.text
    assert committed.json()["status"] == "committed"
    usage = committed.json()["usage"]
    assert (usage["status"], usage["freeUnits"], usage["amount"]) == ("rated", "120", "0")
    assert totals(client, summary)["MB"] == -880
    again = client.post(f"{RESERVATIONS}/{held['id']}/commit", json={"used": "120"})
    assert again.status_code == 200 and again.json()["usage"]["eventId"] == usage["eventId"]  # once only

    released = client.post(f"{RESERVATIONS}/{reserve(client, identifier, 500).json()['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert problem(client.post(f"{RESERVATIONS}/{released.json()['id']}/commit", json={"used": "1"}), 409)
    assert totals(client, summary)["MB"] == -880
    listed = client.get(customer_path(summary, "usage")).json()
    assert [e["eventId"] for e in listed["items"]] == [usage["eventId"]]


def test_prepaid_is_granted_what_its_credit_covers_and_denied_when_nothing_is_left(client):
    summary, identifier = onboard(client, payment_type="prepaid", free_mb="100")
    # 100 MB free and 1 EUR of credit at 0.01 EUR per MB: 200 MB in all.
    wallet = client.post(customer_path(summary, "balances"), json={
        "balanceGroupId": summary["balanceGroup"]["id"], "resource": "EUR", "amount": "1", "direction": "credit",
        "validity": {"kind": "infinite"}})
    assert wallet.status_code == 201, wallet.text
    first = reserve(client, identifier, 150)
    assert first.status_code == 201 and first.json()["granted"] == "150", first.text
    partly = reserve(client, identifier, 150)
    assert partly.status_code == 201 and partly.json()["granted"] == "50", partly.text
    denied = problem(reserve(client, identifier, 10), 409)
    assert "denied" in denied["detail"]

    assert client.post(f"{RESERVATIONS}/{first.json()['id']}/commit", json={"used": "150"}).status_code == 200
    assert client.post(f"{RESERVATIONS}/{partly.json()['id']}/commit", json={"used": "50"}).status_code == 200
    after = totals(client, summary)
    assert (after["MB"], after["EUR"]) == (0, 0)  # both drawn to exactly zero
    assert "denied" in problem(reserve(client, identifier, 1), 409)["detail"]


def test_a_reservation_expires_by_itself_and_gives_its_credit_back(client, platform):
    summary, identifier = onboard(client, payment_type="prepaid", free_mb="100")
    held = reserve(client, identifier, 100, ttlSeconds=1)
    assert held.status_code == 201 and held.json()["granted"] == "100", held.text
    assert "denied" in problem(reserve(client, identifier, 1), 409)["detail"]

    # Nobody commits or releases it: the rating worker expires it and the credit is free again.
    reservations = platform.database("rating").reservations
    assert wait_for(lambda: reservations.find_one({"_id": held.json()["id"]})["status"] == "expired", timeout=30)
    expired = problem(client.post(f"{RESERVATIONS}/{held.json()['id']}/commit", json={"used": "10"}), 409)
    assert "expired" in expired["detail"]
    again = reserve(client, identifier, 100)
    assert again.status_code == 201 and again.json()["granted"] == "100", again.text
    assert totals(client, summary)["MB"] == -100  # nothing was consumed by the expired reservation


def test_concurrent_prepaid_reservations_never_promise_more_than_the_credit(client):
    summary, identifier = onboard(client, payment_type="prepaid", free_mb="1000")

    def ask(_):
        return reserve(client, identifier, 70)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(24)))
    granted = [Decimal(a.json()["granted"]) for a in answers if a.status_code == 201]
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers if a.status_code >= 400]
    assert sum(granted) == 1000  # every MB promised once: 14 x 70 and one partial 20, the rest denied
    assert len(granted) == 15 and sorted(granted)[0] == 20

    def commit(answer):
        return client.post(f"{RESERVATIONS}/{answer.json()['id']}/commit", json={"used": answer.json()["granted"]})

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert {c.status_code for c in pool.map(commit, [a for a in answers if a.status_code == 201])} == {200}
    assert totals(client, summary)["MB"] == 0  # consumed to exactly zero, never past it


def test_sharing_members_reserving_at_once_never_overdraw_the_owners_pool(client):
    owner, _ = onboard(client, free_mb="1000")
    members = [onboard(client, free_mb="5000") for _ in range(3)]
    shared = client.post(customer_path(owner, "sharing-groups"), json={
        "name": "Novak family pool", "subscriptionId": owner["subscription"]["id"], "policy": DENY})
    assert shared.status_code == 201, shared.text
    for member, _ in members:
        joined = client.post(customer_path(member, "sharing-memberships"), json={"groupId": shared.json()["id"]})
        assert joined.status_code == 201, joined.text

    def member_asks(identifier):
        return [reserve(client, identifier, 100) for _ in range(5)]

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = [a for per_member in pool.map(member_asks, [i for _, i in members]) for a in per_member]
    granted = [a for a in answers if a.status_code == 201]
    assert len(granted) == 10 and all(a.json()["granted"] == "100" for a in granted)
    assert all("denied" in problem(a, 409)["detail"] for a in answers if a.status_code != 201)
    for answer in granted:
        committed = client.post(f"{RESERVATIONS}/{answer.json()['id']}/commit", json={"used": "100"})
        assert committed.status_code == 200 and committed.json()["usage"]["sharedUnits"] == "100"
    assert totals(client, owner)["MB"] == 0  # the pool, drawn to exactly zero
    assert [totals(client, m)["MB"] for m, _ in members] == [-5000] * 3  # the policy never falls back


# -- the usage stream, services and subscriptions -------------------------------------------------------------

def test_a_suspended_service_rates_nothing_from_the_stream_until_it_is_active_again(client, platform):
    summary, identifier = onboard(client)
    time.sleep(1)  # usage starts after the service's validFrom
    data = next(s for s in client.get(customer_path(summary, "services")).json() if s["serviceType"] == "data")
    before = data_session(identifier, 10)
    publish_usage(platform, [before])
    assert usage_of(client, summary, [before["id"]])[0]["status"] == "rated"

    suspended = client.patch(customer_path(summary, "services", data["id"]), json={"status": "suspended"})
    assert suspended.status_code == 200, suspended.text
    during = data_session(identifier, 10)
    publish_usage(platform, [during])
    [refused] = usage_of(client, summary, [during["id"]])
    assert refused["status"] == "rejected" and "suspended" in refused["reason"]
    refused_reservation = problem(reserve(client, identifier, 10), 400)
    assert [p["name"] for p in refused_reservation["invalid_params"]] == ["serviceIdentifier"]
    assert "suspended" in refused_reservation["invalid_params"][0]["reason"]

    assert client.patch(customer_path(summary, "services", data["id"]), json={"status": "active"}).status_code == 200
    after = data_session(identifier, 10)
    publish_usage(platform, [after])
    [rated] = usage_of(client, summary, [after["id"]])
    assert rated["status"] == "rated"
    assert totals(client, summary)["MB"] == -980


def test_a_cancelled_subscriptions_services_rate_nothing_from_the_stream(client, platform):
    summary, identifier = onboard(client)
    time.sleep(1)
    first = data_session(identifier, 10)
    publish_usage(platform, [first])
    assert usage_of(client, summary, [first["id"]])[0]["status"] == "rated"
    cancelled = client.post(customer_path(summary, "subscriptions", summary["subscription"]["id"], "cancel"),
                            json={"reason": "moved abroad"})
    assert cancelled.status_code == 200, cancelled.text
    after = data_session(identifier, 10)
    publish_usage(platform, [after])
    [refused] = usage_of(client, summary, [after["id"]])
    assert refused["status"] == "rejected", refused
    assert problem(reserve(client, identifier, 10), 400)


def test_postpaid_usage_from_the_stream_grows_the_active_bill_and_is_invoiced_per_service(client, platform):
    summary, identifier = onboard(client, free_mb="100")
    profile_id = summary["billingProfile"]["id"]
    time.sleep(1)
    # 100 MB free, then 0.01 EUR per MB: 400 MB beyond the free data cost 4 EUR, in two batches of sessions.
    sessions = [data_session(identifier, 50) for _ in range(10)]
    publish_usage(platform, sessions[:4])
    usage_of(client, summary, [s["id"] for s in sessions[:4]])
    publish_usage(platform, sessions[4:])
    records = usage_of(client, summary, [s["id"] for s in sessions])
    assert sum(Decimal(r["charged"]) for r in records) == 4
    active = client.get(f"/api/v1/billing-profiles/{profile_id}").json()["bills"]["active"]["id"]

    def usage_items():
        items = [i for i in client.get(f"/api/v1/bills/{active}").json()["items"] if i["kind"] == "usage"]
        return sum(Decimal(i["amount"]) for i in items) == 4 and items

    assert wait_for(usage_items, timeout=60), client.get(f"/api/v1/bills/{active}").json()
    # Rating aggregates per batch: never one bill item per usage event.
    assert len(usage_items()) < len(sessions)

    data_service = next(s["id"] for s in summary["subscription"]["services"] if s["serviceType"] == "data")

    def usage_line(lines):
        [line] = [line for line in lines if line["kind"] == "usage"]
        return line["serviceId"], line["amount"], line["units"], line["events"]

    preview = client.get(f"/api/v1/billing-profiles/{profile_id}/invoice-preview")
    assert preview.status_code == 200, preview.text
    assert usage_line(preview.json()["lines"]) == (data_service, "4.00", "400", 8)
    # The cycle's invoice also charges the plan's monthly fee, which reached billing with subscription.created.
    assert "recurring_fee" in {line["kind"] for line in preview.json()["lines"]}, preview.json()["lines"]
    billed = client.post(f"/api/v1/billing-profiles/{profile_id}/bill-now")  # usage now; fees stay for the cycle
    assert billed.status_code == 201, billed.text
    assert usage_line(billed.json()["invoice"]["lines"]) == (data_service, "4.00", "400", 8)


def test_postpaid_commits_reach_the_active_bill_summed_by_the_workers_flush_not_one_item_per_commit(client):
    summary, identifier = onboard(client, free_mb="100")
    profile_id = summary["billingProfile"]["id"]
    # 100 MB free, then 0.01 EUR per MB: ten commits of 30 MB charge 200 MB (2 EUR) in seven of them.
    for _ in range(10):
        held = reserve(client, identifier, 30)
        assert held.status_code == 201, held.text
        committed = client.post(f"{RESERVATIONS}/{held.json()['id']}/commit", json={"used": "30"})
        assert committed.status_code == 200, committed.text
    active = client.get(f"/api/v1/billing-profiles/{profile_id}").json()["bills"]["active"]["id"]

    def usage_items():
        items = [i for i in client.get(f"/api/v1/bills/{active}").json()["items"] if i["kind"] == "usage"]
        return sum(Decimal(i["amount"]) for i in items) == 2 and items

    assert wait_for(usage_items, timeout=60), client.get(f"/api/v1/bills/{active}").json()
    assert len(usage_items()) < 7  # summed per flush (decision 0415), not one bill item per commit


def test_late_usage_is_rated_into_the_current_cycle_within_the_window_and_rejected_beyond_it(client, platform):
    today = datetime.now(UTC)
    # A cycle that started today (closed a moment ago) and one that started over ten days ago.
    fresh, _ = onboard(client, billing_day=today.day)
    old, _ = onboard(client, billing_day=today.day - 10 if today.day > 10 else today.day + 10)
    cycles = platform.database("rating").billing_cycles

    def late_session(summary):
        assert wait_for(lambda: cycles.find_one({"_id": summary["billingProfile"]["id"]}), timeout=30)
        cycle_start = cycles.find_one({"_id": summary["billingProfile"]["id"]})["start"].replace(tzinfo=UTC)
        # A subscription valid long before, so the event's start lies within its service's validity.
        identifier = unique_identifier()
        bought = client.post(customer_path(summary, "subscriptions"), json={
            "balanceGroupId": summary["balanceGroup"]["id"], "serviceIdentifier": identifier,
            "plan": {"code": "MOBILE-S"}, "validFrom": (cycle_start - timedelta(days=40)).isoformat()})
        assert bought.status_code == 201, bought.text
        event = data_session(identifier, 10, start=cycle_start - timedelta(hours=1))
        publish_usage(platform, [event])
        [record] = usage_of(client, summary, [event["id"]])
        return record, cycle_start

    within, cycle_start = late_session(fresh)
    assert (within["status"], within["late"]) == ("rated", True), within
    assert today - cycle_start < timedelta(hours=72)
    beyond, _ = late_session(old)
    assert beyond["status"] == "rejected" and "lateness window" in beyond["reason"], beyond

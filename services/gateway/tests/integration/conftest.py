"""Shared helpers of the gateway's end-to-end tests (real processes)."""
import copy
import time
import types
import uuid

import pytest

# Collections of the services' own bookkeeping, not customer data.
BOOKKEEPING = {"outbox", "outbox_lease", "applied_events", "counters", "discarded_ids"}
CUSTOMER_FIELDS = ("customer_id", "owner_customer_id", "redeemed_by")


def load_demo_catalog(platform):
    platform.run_job("catalog", "load-demo")


@pytest.fixture
def onboarding_request():
    """A valid onboarding of the demo catalog's plan MOBILE-S; `make(**changes)` with dotted keys."""
    base = {
        "account": {"firstName": "Ana", "lastName": "Novak", "email": "ana@example.com", "phone": "+386 40 111 222",
                    "address": "Slovenska 1", "city": "Ljubljana", "state": "Osrednjeslovenska", "country": "SI",
                    "customerType": "regular"},
        "paymentInfo": {"method": "invoice"},
        "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 31,
                         "plan": {"code": "MOBILE-S", "products": [
                             {"code": "MOBILE-FEE", "value": "17.50"},
                             {"code": "SIM-ACTIVATION", "purchase": True, "quantity": "2"}]}},
    }

    def make(identifier=None, **changes):
        body = copy.deepcopy(base)
        body["account"]["email"] = f"{uuid.uuid4().hex[:10]}@example.com"
        if identifier is not None:
            body["subscription"]["serviceIdentifier"] = identifier
        for dotted, value in changes.items():
            *parents, last = dotted.split("__")
            target = body
            for name in parents:
                target = target.setdefault(name, {})
            if value is None:
                target.pop(last, None)
            else:
                target[last] = value
        return body

    return make


def unique_identifier():
    return f"{time.time_ns() % 10**12}{uuid.uuid4().int % 1000:03d}"


def customer_data(platform, customer_id):
    """Every document any service holds about `customer_id` (service -> collection -> count)."""
    found = {}
    for service in ("customer", "catalog", "rating", "billing"):
        db = platform.database(service)
        for name in db.list_collection_names():
            if name in BOOKKEEPING:
                continue
            query = {"$or": [{field: customer_id} for field in CUSTOMER_FIELDS]}
            if service in ("customer", "billing") and name == "customers":
                query["$or"].append({"_id": customer_id})
            count = db[name].count_documents(query)
            if count:
                found.setdefault(service, {})[name] = count
    return found


def assert_nothing_left(platform, customer_id, timeout=15.0):
    """Nothing about the customer anywhere (events such as customer.purged are applied asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        left = customer_data(platform, customer_id)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == {}, f"orphans of customer {customer_id}: {left}"


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def failed_onboarding(client, response, status, step):
    body = problem(response, status)
    assert body["failedStep"] == step, body
    assert f"step '{step}'" in body["detail"]
    record = client.get(f"/api/v1/onboardings/{body['onboardingId']}").json()
    return body, record


@pytest.fixture(scope="session")
def kit():
    """The helpers above, for test modules (pytest shares code through fixtures)."""
    return types.SimpleNamespace(load_demo_catalog=load_demo_catalog, unique_identifier=unique_identifier,
                                 customer_data=customer_data, assert_nothing_left=assert_nothing_left,
                                 problem=problem, failed_onboarding=failed_onboarding)

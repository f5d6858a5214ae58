"""Closing and the retention purge job end to end (retention 0 days, so the purge is due at once)."""
import subprocess
import sys
import time

import httpx
import pytest

from chassis.testing import operator_client

ACCOUNT = {"firstName": "Pia", "lastName": "Gone", "email": "pia@example.com", "phone": "+43 1 555 0000",
           "address": "Ring 1", "city": "Vienna", "state": "W", "country": "AT", "customerType": "regular"}


@pytest.fixture(scope="module")
def platform(start_services):
    return start_services("catalog", "customer", "billing", "gateway:api", env={"CUSTOMER_RETENTION_DAYS": "0"})


def wait_for(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def run_purge(platform):
    done = subprocess.run([sys.executable, "-m", "customer", "purge-closed-accounts"], env=platform.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_purge_job_deletes_closed_accounts_and_every_service_forgets_them(platform):
    with operator_client(platform) as client:
        assert client.post("/api/v1/catalog/customer-types", json={"code": "regular", "name": "Regular"}).is_success
        gone = client.post("/api/v1/customers", json=ACCOUNT).json()["id"]
        kept = client.post("/api/v1/customers", json={**ACCOUNT, "email": "kept@example.com"}).json()["id"]
        billing = platform.database("billing")
        assert wait_for(lambda: billing.customers.count_documents({"_id": {"$in": [gone, kept]}}) == 2)
        assert client.post(f"/api/v1/customers/{gone}/close").status_code == 200

        assert "purged 1 closed account" in run_purge(platform)
        assert client.get(f"/api/v1/customers/{gone}").status_code == 404
        assert client.get(f"/api/v1/customers/{kept}").status_code == 200
        # customer.purged leaves through the worker's outbox relay; billing drops its copy.
        assert wait_for(lambda: billing.customers.find_one({"_id": gone}) is None)
        assert billing.customers.find_one({"_id": kept}) is not None
        assert "purged 0 closed account" in run_purge(platform)


def test_operators_watch_the_purge_job_through_the_gateway(platform):
    with operator_client(platform) as client:
        run_purge(platform)
        listed = client.get("/api/v1/jobs", params={"service": "customer", "kind": "purge-closed-accounts"})
        assert listed.status_code == 200, listed.text
        newest = listed.json()[0]
        assert int(listed.headers["X-Total-Count"]) >= 1
        assert (newest["service"], newest["kind"], newest["status"]) == ("customer", "purge-closed-accounts",
                                                                          "succeeded")
        assert newest["progress"]["processed"] == newest["progress"]["total"]
        assert "asOf" in newest["params"] and newest["report"] == {"purged": 0}

        job = client.get(f"/api/v1/jobs/{newest['id']}")
        assert job.status_code == 200 and job.json() == newest
        # Without a service every service is asked; those not running in this test are named.
        everywhere = client.get("/api/v1/jobs", params={"status": "succeeded"})
        assert everywhere.status_code == 200
        assert newest["id"] in [j["id"] for j in everywhere.json()]
        assert "rating" in everywhere.headers["X-Unavailable-Services"]

        for unknown in ("customer-0000", "nosuchservice-1"):
            missing = client.get(f"/api/v1/jobs/{unknown}")
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("application/problem+json")
        assert client.get("/api/v1/jobs", params={"status": "exploded"}).status_code == 400
    with httpx.Client(base_url=platform["gateway:api"].url) as anonymous:
        assert anonymous.get(f"/api/v1/jobs/{newest['id']}").status_code == 401

"""Onboarding when a process is gone: a stopped worker (the step is Unavailable, its request waits in the
queue) and a gateway that dies mid-saga. The gateway worker's recovery sweep finishes the compensation."""
import subprocess
import sys
import time
import uuid

import pytest

from chassis import localinfra
from chassis.nameko_adapter import RpcClient
from chassis.testing import operator_client
from gateway.adapters.sagas import SagaStore
from gateway.service_layer import onboarding


@pytest.fixture(scope="module")
def platform(start_services, amqp_base_uri, kit):
    # Its own vhost: requests left in a stopped worker's queue must not reach another module's workers.
    vhost = f"test-recovery-{uuid.uuid4().hex[:8]}"
    localinfra.create_vhost(vhost)
    platform = start_services("customer", "catalog", "rating", "billing", "gateway", "gateway:api", env={
        "AMQP_URI": localinfra.with_vhost(amqp_base_uri, vhost), "RPC_TIMEOUT_SECONDS": "2",
        "GATEWAY_ONBOARDING_LEASE_SECONDS": "3", "GATEWAY_ONBOARDING_RECOVERY_SECONDS": "0.5"})
    kit.load_demo_catalog(platform)
    yield platform
    platform.stop()
    localinfra.delete_vhost(vhost)


@pytest.fixture(scope="module")
def client(platform):
    client = operator_client(platform)
    yield client
    client.close()


def wait_for_status(client, onboarding_id, status, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        record = client.get(f"/api/v1/onboardings/{onboarding_id}").json()
        if record["status"] == status or time.monotonic() > deadline:
            return record
        time.sleep(0.3)


def restart_worker(platform, service):
    port = localinfra.free_port()
    process = subprocess.Popen([sys.executable, "-m", service, "worker"],
                               env={**platform.env, "HEALTH_PORT": str(port)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    localinfra.wait_http([f"http://127.0.0.1:{port}/health/ready"], timeout=60, alive=process)
    return process


def test_a_stopped_rating_worker_fails_the_balance_group_step_and_nothing_is_left_once_it_is_back(
        platform, client, onboarding_request, kit):
    platform["rating"].stop()
    response = client.post("/api/v1/onboardings", json=onboarding_request(kit.unique_identifier()))
    body, record = kit.failed_onboarding(client, response, 503, "balanceGroup")
    # The customer and billing profile are undone at once; the balance group waits for rating.
    assert body["compensated"] is False and record["status"] == "compensation_failed"
    assert {s["name"]: s["status"] for s in record["steps"]} == {
        "customer": "compensated", "billingProfile": "compensated", "balanceGroup": "compensation_failed"}
    rating = restart_worker(platform, "rating")
    try:
        # The queued create and delete reach rating; the sweep retries the delete until it succeeds.
        assert wait_for_status(client, body["onboardingId"], "compensated")["status"] == "compensated"
        kit.assert_nothing_left(platform, record["customerId"])
        assert platform.database("rating").balance_groups.count_documents({}) == 0
    finally:
        rating.terminate()
        rating.wait(15)


def test_a_gateway_that_dies_mid_saga_is_compensated_by_the_worker(platform, client, onboarding_request, kit):
    rating = restart_worker(platform, "rating")
    rpc = RpcClient(platform.env["AMQP_URI"])

    class Crash(BaseException):
        """Stands for the API process dying: nothing in the saga runs after it."""

    class DyingRpc:
        def call(self, service, method, *args):
            if (service, method) == ("rating", "create_subscription"):
                raise Crash()
            return rpc.call(service, method, *args)

    store = SagaStore(platform.database("gateway").onboardings, lease_seconds=3)
    try:
        with pytest.raises(Crash):
            onboarding.onboard(DyingRpc(), store, onboarding_request(kit.unique_identifier()), None, "api:dead")
        saga = store.collection.find_one({"owner": "api:dead"})
        assert saga["status"] == "running" and saga["steps"]["subscription"]["status"] == "started"
        record = wait_for_status(client, saga["_id"], "compensated")
        assert record["status"] == "compensated"
        assert {s["status"] for s in record["steps"]} == {"compensated"}
        kit.assert_nothing_left(platform, saga["customer_id"])
    finally:
        rpc.close()
        rating.terminate()
        rating.wait(15)


def test_a_customer_whose_create_reply_was_lost_is_found_and_removed(platform, client, onboarding_request, kit):
    rpc = RpcClient(platform.env["AMQP_URI"])

    class Crash(BaseException):
        """The gateway dies after the customer service committed, before the reply reached the saga."""

    class LosesTheReply:
        def call(self, service, method, *args):
            result = rpc.call(service, method, *args)
            if (service, method) == ("customer", "create_customer"):
                raise Crash()
            return result

    store = SagaStore(platform.database("gateway").onboardings, lease_seconds=3)
    try:
        with pytest.raises(Crash):
            onboarding.onboard(LosesTheReply(), store, onboarding_request(kit.unique_identifier()), None,
                               "api:lost-reply")
        saga = store.collection.find_one({"owner": "api:lost-reply"})
        assert saga.get("customer_id") is None  # the saga never learnt the customer's number
        orphan = platform.database("customer").customers.find_one({"request_id": saga["_id"]})
        assert orphan is not None
        record = wait_for_status(client, saga["_id"], "compensated")
        assert record["status"] == "compensated"
        kit.assert_nothing_left(platform, orphan["_id"])
    finally:
        rpc.close()

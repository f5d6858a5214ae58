"""A RabbitMQ outage while operators work: calls fail fast with 503, every process serves again
by itself when the broker returns, and every accepted change reaches its consumers."""
import threading
import time
import uuid
from urllib.parse import urlparse

import pytest

from chassis import localinfra
from chassis.testing import operator_client

OUTAGE_SECONDS = 10
PROCESSES = ("catalog", "customer", "billing", "gateway:api")


@pytest.fixture(scope="module")
def platform(start_services):
    return start_services(*PROCESSES, env={"RPC_TIMEOUT_SECONDS": "5"})


def _account():
    return {"firstName": "Rita", "lastName": "Restart", "email": f"{uuid.uuid4().hex[:12]}@example.com",
            "phone": "+386 40 555 000", "address": "Cesta 3", "city": "Celje", "state": "Savinjska",
            "country": "SI", "customerType": "regular"}


def test_every_process_rides_out_a_broker_outage_and_nothing_accepted_is_lost(platform):
    with operator_client(platform) as client:
        assert client.post("/api/v1/catalog/customer-types", json={"code": "regular", "name": "Regular"}
                           ).status_code == 201
    outage = localinfra.BrokerOutage(urlparse(platform.env["AMQP_URI"]).path.lstrip("/"))
    accepted, outcomes, stop = [], [], threading.Event()

    def operator_at_work():
        with operator_client(platform) as client:
            while not stop.is_set():
                started = time.monotonic()
                response = client.post("/api/v1/customers", json=_account())
                outcomes.append((response.status_code, time.monotonic() - started))
                if response.status_code == 201:
                    accepted.append(response.json()["id"])
                time.sleep(0.05)

    worker = threading.Thread(target=operator_at_work, daemon=True)
    worker.start()
    try:
        time.sleep(2)
        outage.begin()
        time.sleep(OUTAGE_SECONDS)
    finally:
        outage.end()
    during = len(outcomes)
    # Serving again within seconds of the broker's return, without any restart.
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and not any(status == 201 for status, _ in outcomes[during:]):
        time.sleep(0.2)
    stop.set()
    worker.join(30)

    statuses = {status for status, _ in outcomes}
    assert any(status == 201 for status, _ in outcomes[during:]), outcomes[during - 5:]
    assert 503 in statuses, "calls made during the outage answer 503"
    assert statuses <= {201, 503}, f"no other answer, never a 500: {statuses}"
    assert max(seconds for status, seconds in outcomes if status == 503) < 5 + 3, "fail fast, within the RPC timeout"
    for spec in PROCESSES:
        assert platform[spec].process.poll() is None, f"{spec} died:\n{platform[spec].log()[-3000:]}"

    # Every customer the API accepted reached billing through the outbox and the broker.
    billing = platform.database("billing")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        known = {doc["_id"] for doc in billing.customers.find({"_id": {"$in": accepted}}, {"_id": 1})}
        if known == set(accepted):
            break
        time.sleep(0.5)
    assert known == set(accepted), f"{len(set(accepted) - known)} accepted customers never reached billing"

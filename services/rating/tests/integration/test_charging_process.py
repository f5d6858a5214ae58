"""The charging process (`python -m rating charging`, RPC service `rating_charging`) on real RabbitMQ and
MongoDB: callers use the ordinary RpcClient; concurrent reservations, kill -9 with requests in flight, bad input."""
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128

from chassis import localinfra
from chassis.errors import Conflict, NotFound, Unavailable, ValidationFailed
from chassis.nameko_adapter import RpcClient
from chassis.testing import ServiceProcess, assert_serves_health

pytestmark = pytest.mark.timeout(900)
SINCE = datetime(2024, 1, 1, tzinfo=UTC)
CHARGING = "rating_charging"


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("catalog", "rating:charging")
    platform.run_job("catalog", "load-demo")
    return platform


@pytest.fixture(scope="module")
def rpc(platform):
    client = RpcClient(platform.env["AMQP_URI"], timeout=30, size=32)
    yield client
    client.close()


@pytest.fixture
def prepaid_line(platform):
    """A prepaid data line (DATA-MB v1 at 0.01 EUR per MB, no free units) with a EUR wallet; returns
    (identifier, wallet balance id)."""
    def make(wallet_eur):
        db = platform.database("rating")
        tag = uuid.uuid4().hex[:8]
        customer = random.randint(1, 10**9)
        db.balance_groups.insert_one({"_id": f"g-{tag}", "customer_id": customer, "name": "Main",
                                      "billing_profile_id": f"bp-{tag}", "valid_from": SINCE, "created_at": SINCE})
        db.subscriptions.insert_one({
            "_id": f"s-{tag}", "customer_id": customer, "balance_group_id": f"g-{tag}",
            "billing_profile_id": f"bp-{tag}", "payment_type": "prepaid", "plan_code": "MOBILE-S", "plan_version": 1,
            "plan_name": "S", "status": "active", "valid_from": SINCE, "created_at": SINCE, "promo_codes": [],
            "products": [{"code": "DATA-MB", "version": 1, "name": "Data", "type": "service", "service_type": "data",
                          "quantity": Decimal128("1"), "purchased": True, "resource": "MB",
                          "service_id": f"v-{tag}", "status": "active"}]})
        db.services.insert_one({"_id": f"v-{tag}", "customer_id": customer, "subscription_id": f"s-{tag}",
                                "product_code": "DATA-MB", "service_type": "data", "identifier": tag,
                                "status": "active", "valid_from": SINCE, "created_at": SINCE})
        db.balances.insert_one({"_id": f"eur-{tag}", "balance_group_id": f"g-{tag}", "customer_id": customer,
                                "resource": "EUR", "amount": Decimal128(f"-{wallet_eur}"),
                                "initial": Decimal128(f"-{wallet_eur}"), "validity": "infinite", "valid_from": SINCE,
                                "valid_to": None, "priority": 0, "source": "test", "created_at": SINCE})
        return tag, f"eur-{tag}"
    return make


def request(identifier, quantity, **extra):
    return {"serviceType": "data", "serviceIdentifier": identifier, "quantity": quantity, "fields": {"zone": "home"},
            **extra}


def balance(platform, balance_id):
    doc = platform.database("rating").balances.find_one({"_id": balance_id})
    return doc["amount"].to_decimal(), doc.get("held", Decimal128("0")).to_decimal()


def restart_charging(platform, tmp_path):
    """Start the module's charging process again (after it was killed); later tests use the new one."""
    port = localinfra.free_port()
    log_path = tmp_path / f"charging-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "rating", "charging"],
                                   env={**platform.env, "HEALTH_PORT": str(port)}, stdout=log, stderr=log)
    localinfra.wait_http([f"http://127.0.0.1:{port}/health/ready"], timeout=180, alive=process)
    platform.processes["rating:charging"] = ServiceProcess("rating", "charging", port, process, log_path)


def test_the_charging_process_serves_health_and_metrics(platform, rpc, prepaid_line):
    identifier, _ = prepaid_line("1")
    rpc.call(CHARGING, "reserve", request(identifier, "1"))
    assert_serves_health(platform["rating:charging"])


def test_concurrent_reservations_through_the_process_never_overspend_a_prepaid_wallet(platform, rpc, prepaid_line):
    identifier, wallet = prepaid_line("1")  # 100 MB at 0.01 EUR
    granted, refused, errors = [], [], []

    def one():
        try:
            granted.append(rpc.call(CHARGING, "reserve", request(identifier, "7")))
        except Conflict:
            refused.append(1)
        except Exception as exc:  # anything else fails the test
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert sum(Decimal(r["granted"]) for r in granted) == 100  # never more than the wallet covers
    assert len(granted) + len(refused) == 20 and refused  # once it is all held, the rest is denied
    assert balance(platform, wallet) == (Decimal("-1"), Decimal("1"))
    for reservation in granted:
        committed = rpc.call(CHARGING, "commit_reservation", reservation["id"], {"used": reservation["granted"]})
        assert committed["status"] == "committed" and committed["usage"]["status"] == "rated"
    assert balance(platform, wallet) == (Decimal("0"), Decimal("0"))
    # Committing again answers the same and charges nothing more.
    again = rpc.call(CHARGING, "commit_reservation", granted[0]["id"], {"used": granted[0]["granted"]})
    assert again["usage"]["eventId"] == granted[0]["id"] and balance(platform, wallet) == (0, 0)


def test_release_gives_the_credit_back_and_a_released_reservation_cannot_be_committed(platform, rpc, prepaid_line):
    identifier, wallet = prepaid_line("1")
    held = rpc.call(CHARGING, "reserve", request(identifier, "30"))
    assert balance(platform, wallet) == (Decimal("-1"), Decimal("0.3"))
    assert rpc.call(CHARGING, "release_reservation", held["id"])["status"] == "released"
    assert balance(platform, wallet) == (Decimal("-1"), Decimal("0"))
    with pytest.raises(Conflict, match="released"):
        rpc.call(CHARGING, "commit_reservation", held["id"], {"used": "1"})


def test_bad_input_gets_typed_errors_and_changes_nothing(platform, rpc, prepaid_line):
    identifier, wallet = prepaid_line("1")
    reservations = platform.database("rating").reservations
    before = reservations.count_documents({})
    with pytest.raises(ValidationFailed) as unknown:
        rpc.call(CHARGING, "reserve", request("no-such-line", "1"))
    assert "serviceIdentifier" in unknown.value.fields
    with pytest.raises(ValidationFailed) as negative:
        rpc.call(CHARGING, "reserve", request(identifier, "-3"))
    assert "quantity" in negative.value.fields
    with pytest.raises(ValidationFailed):
        rpc.call(CHARGING, "reserve", "not an object")
    with pytest.raises(ValidationFailed):
        rpc.call(CHARGING, "reserve")  # a call that does not fit the method's signature
    with pytest.raises(ValidationFailed):
        rpc.call(CHARGING, "commit_reservation", 42, {"used": "1"})
    with pytest.raises(NotFound):
        rpc.call(CHARGING, "commit_reservation", "no-such-reservation", {"used": "1"})
    held = rpc.call(CHARGING, "reserve", request(identifier, "5"))
    with pytest.raises(ValidationFailed) as too_much:
        rpc.call(CHARGING, "commit_reservation", held["id"], {"used": "6"})
    assert "used" in too_much.value.fields
    assert reservations.count_documents({}) == before + 1
    assert balance(platform, wallet) == (Decimal("-1"), Decimal("0.05"))


def retried(call, attempts=3):
    """A caller's retries on a timeout (a loaded machine can be slow to answer the first time after a
    restart); reserve is idempotent on its id, so retrying is always safe."""
    for attempt in range(attempts):
        try:
            return call()
        except Unavailable:
            if attempt == attempts - 1:
                raise


def test_a_killed_charging_process_answers_its_requests_after_restart_and_charges_each_once(
        platform, prepaid_line, tmp_path):
    identifier, wallet = prepaid_line("100")
    client = RpcClient(platform.env["AMQP_URI"], timeout=20, size=40)
    ids = [f"r-{uuid.uuid4().hex}" for _ in range(40)]
    answers, errors = {}, []

    def reserve(reservation_id):
        try:
            answers[reservation_id] = client.call(CHARGING, "reserve", request(identifier, "2", id=reservation_id))
        except Unavailable:
            pass  # timed out cleanly: the caller retries with the same id
        except Exception as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=reserve, args=(rid,)) for rid in ids]
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        # Some requests answered, some being handled, some still queued.
        platform["rating:charging"].process.send_signal(signal.SIGKILL)
        platform["rating:charging"].process.wait()
        time.sleep(1)
        restart_charging(platform, tmp_path)  # the unacknowledged requests are delivered again
        for thread in threads:
            thread.join(60)
        assert not errors
        for reservation_id in ids:  # every caller retries whatever was not answered: the same reservation
            again = retried(lambda rid=reservation_id: client.call(CHARGING, "reserve",
                                                                   request(identifier, "2", id=rid)))
            assert reservation_id not in answers or again == answers[reservation_id]
    finally:
        client.close()
    db = platform.database("rating")
    assert db.reservations.count_documents({"_id": {"$in": ids}}) == len(ids)
    assert balance(platform, wallet) == (Decimal("-100"), Decimal("0.02") * len(ids))  # each held once

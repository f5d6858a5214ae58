"""The catalog worker as other services see it: nameko RPC with typed errors, and catalog.* events on RabbitMQ."""
import json
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pika
import pytest

from chassis.errors import Conflict, NotFound, ValidationFailed
from chassis.nameko_adapter import RpcClient
from chassis.versions import VersionCache, catalog_loader


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("catalog")
    subprocess.run([sys.executable, "-m", "catalog", "load-demo"], env=platform.env, check=True,
                   capture_output=True, timeout=120)
    return platform


@pytest.fixture(scope="module")
def catalog(platform):
    client = RpcClient(platform.env["AMQP_URI"], timeout=15)
    yield lambda method, *args, **kwargs: client.call("catalog", method, *args, **kwargs)
    client.close()


def test_customer_types_and_custom_attributes_are_read_and_values_normalized(catalog):
    assert {t["code"] for t in catalog("list_customer_types")} == {"regular", "commercial"}
    assert catalog("get_customer_type", "commercial")["name"] == "Commercial"
    with pytest.raises(NotFound):
        catalog("get_customer_type", "alien")
    assert {a["name"] for a in catalog("list_custom_attributes", "customer")} == {"segment", "referralCode"}
    assert catalog("validate_custom_attributes", "customer", {"segment": "smb", "referralCode": None}) == {
        "segment": "smb"}
    with pytest.raises(ValidationFailed) as failed:
        catalog("validate_custom_attributes", "customer", {"segment": "galaxy", "shoeSize": "44"})
    assert set(failed.value.fields) == {"customAttributes.segment", "customAttributes.shoeSize"}


def test_a_plan_is_read_with_its_bundles_and_products_at_its_version(catalog):
    plan = catalog("get_plan", "MOBILE-S")
    assert (plan["code"], plan["version"], plan["status"]) == ("MOBILE-S", 1, "active")
    fee = next(p for p in plan["bundles"][0]["products"] if p["code"] == "MOBILE-FEE")
    assert {k: fee[k] for k in ("type", "serviceType", "optional", "defaultQuantity", "defaultValue", "resource",
                                "freeUnits", "tax", "glCode", "defaultValidity")} == {
        "type": "recurring_fee", "serviceType": None, "optional": False, "defaultQuantity": "1",
        "defaultValue": "19.99", "resource": "EUR", "freeUnits": None, "tax": "VAT", "glCode": "4100",
        "defaultValidity": None}
    assert catalog("get_plan", "MOBILE-S", 1) == plan
    assert catalog("get_bundle", "DATA-5GB")["products"][0]["freeUnits"] == "5120"
    assert catalog("get_resource", "MB")["unit"] == "MB"
    with pytest.raises(NotFound):
        catalog("get_plan", "MOBILE-XXL")
    with pytest.raises(NotFound):
        catalog("get_plan", "MOBILE-S", 7)


def test_one_product_is_read_at_its_version_or_the_active_one(catalog):
    product = catalog("get_product", "VOICE-MIN")
    assert (product["code"], product["version"], product["status"], product["type"]) == (
        "VOICE-MIN", 1, "active", "service")
    assert product["rateTable"]["keys"] and product["rateTable"]["rates"]
    assert catalog("get_product", "VOICE-MIN", 1) == product
    assert catalog("get_active_version", "product", "VOICE-MIN") == 1
    assert catalog("get_active_version", "plan", "MOBILE-S") == 1
    with pytest.raises(ValidationFailed):
        catalog("get_active_version", "planet", "MOBILE-S")
    with pytest.raises(NotFound):
        catalog("get_active_version", "plan", "NO-SUCH-PLAN")
    with pytest.raises(NotFound):
        catalog("get_product", "VOICE-MIN", 9)
    with pytest.raises(NotFound):
        catalog("get_product", "NO-SUCH-PRODUCT")


def test_a_version_cache_asks_the_catalog_once_per_version_and_always_for_the_active_one(platform):
    client = RpcClient(platform.env["AMQP_URI"], timeout=15)
    try:
        cache = VersionCache(catalog_loader(client))
        active = cache.get("plan", "MOBILE-S")
        assert cache.get("plan", "MOBILE-S", active["version"]) is active, "kept under the version it named"
        assert [cache.get("product", "VOICE-MIN", 1)["code"] for _ in range(3)] == ["VOICE-MIN"] * 3
        assert cache.loads == 2
        cache.get("plan", "MOBILE-S")
        assert cache.loads == 3, "the active version may change: never cached"
    finally:
        client.close()


def test_rating_looks_up_a_rate_by_service_type_and_field_values(catalog):
    rate = catalog("rate", "sms", {"destination": "international", "from": "+49", "to": "+1"}, quantity="3")
    assert (rate["product"], rate["pricePerUnit"], rate["units"], rate["amount"]) == ("SMS-MSG", "0.19", "3",
                                                                                      "0.570000")
    assert catalog("rate", "voice", {"destination": "eu", "timeBand": "peak"},
                   at="2999-01-01T00:00:00Z")["pricePerUnit"] == "0.19"
    with pytest.raises(NotFound):  # nothing was on sale then
        catalog("rate", "voice", {"destination": "eu", "timeBand": "peak"}, at="2001-01-01T00:00:00Z")
    with pytest.raises(ValidationFailed):
        catalog("rate", "voice", {"destination": "eu", "timeBand": "peak"}, quantity=1.5)


def test_a_voucher_is_redeemed_once_even_when_two_subscriptions_race_for_it(catalog):
    code = next(v["code"] for v in catalog("list_vouchers", 1, 0, 100, False)["items"])
    assert catalog("resolve_promotion", code)["kind"] == "voucher"

    def redeem(subscription):
        try:
            return catalog("redeem_voucher", code, 7, subscription)
        except Conflict:
            return None

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(redeem, [f"sub-{i}" for i in range(4)]))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0]["redeemedBy"] == 7 and winners[0]["bundle"]["code"] == "DATA-5GB"
    winner = winners[0]["subscriptionId"]
    assert catalog("redeem_voucher", code, 7, winner) == winners[0]  # a retried saga step
    with pytest.raises(Conflict):
        catalog("resolve_promotion", code)
    with pytest.raises(Conflict):
        catalog("release_voucher", code, "someone-else")
    assert catalog("release_voucher", code, winner)["redeemedAt"] is None
    assert catalog("release_voucher", code, winner)["redeemedAt"] is None  # compensation is idempotent
    assert catalog("redeem_voucher", code, 8, "sub-new")["redeemedBy"] == 8
    with pytest.raises(NotFound):
        catalog("redeem_voucher", "NOPE-1234", 8, "sub-new")


def test_publishing_and_retiring_put_catalog_events_on_the_broker(catalog, platform):
    connection = pika.BlockingConnection(pika.URLParameters(platform.env["AMQP_URI"]))
    channel = connection.channel()
    channel.exchange_declare("catalog.events", exchange_type="topic", durable=True)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue, auto_delete=True)
    channel.queue_bind(queue, "catalog.events", routing_key="catalog.*")
    try:
        catalog("new_version", "plan", "MOBILE-S", {})
        catalog("publish", "plan", "MOBILE-S", 2)
        received = {}
        deadline = time.monotonic() + 20
        wanted = {"catalog.plan_published", "catalog.plan_retired"}
        while not wanted <= set(received) and time.monotonic() < deadline:
            _, properties, body = channel.basic_get(queue, auto_ack=True)
            if body is None:
                time.sleep(0.1)
                continue
            envelope = json.loads(body)
            if envelope["subject"] == "MOBILE-S":
                received[envelope["type"]] = envelope
        assert received["catalog.plan_published"]["data"]["supersedes"] == 1
        assert received["catalog.plan_retired"]["data"] == {**received["catalog.plan_retired"]["data"],
                                                            "code": "MOBILE-S", "version": 1, "reason": "superseded"}
        assert received["catalog.plan_published"]["source"] == "catalog"
        # The subscription that bought version 1 still reads it.
        assert catalog("get_plan", "MOBILE-S", 1)["status"] == "retired"
        assert catalog("get_plan", "MOBILE-S")["version"] == 2
    finally:
        connection.close()

"""The rating stream process (`python -m rating stream`) on real RabbitMQ and MongoDB, with faults:
kill -9 mid-stream, the broker dropping its connection, poison messages; with one usage event per message and
with batch messages (usage.batch.v1)."""
import json
import random
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pika
import pytest
from bson.decimal128 import Decimal128

from chassis import localinfra
from chassis.stream import REASON_HEADER
from chassis.testing import queue_depth, wait_for

pytestmark = pytest.mark.timeout(900)
SINCE = datetime(2024, 1, 1, tzinfo=UTC)
SERVICES = 40


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("catalog", "rating:stream")
    platform.run_job("catalog", "load-demo")
    return platform


@pytest.fixture
def lines(platform):
    """Fresh data lines (DATA-MB v1, 5120 free MB each); returns their identifiers."""
    db = platform.database("rating")
    tag = uuid.uuid4().hex[:6]
    identifiers = []
    for n in range(SERVICES):
        customer = random.randint(1, 10**9)
        group, subscription, service = f"g-{tag}-{n}", f"s-{tag}-{n}", f"v-{tag}-{n}"
        identifiers.append(f"{tag}{n}")
        db.balance_groups.insert_one({"_id": group, "customer_id": customer, "name": "Main",
                                      "billing_profile_id": f"bp-{tag}-{n}", "valid_from": SINCE,
                                      "created_at": SINCE})
        db.subscriptions.insert_one({
            "_id": subscription, "customer_id": customer, "balance_group_id": group,
            "billing_profile_id": f"bp-{tag}-{n}", "plan_code": "MOBILE-S", "plan_version": 1, "plan_name": "S",
            "status": "active", "valid_from": SINCE, "created_at": SINCE, "promo_codes": [],
            "products": [{"code": "DATA-MB", "version": 1, "name": "Data", "type": "service",
                          "service_type": "data", "quantity": Decimal128("1"), "purchased": True, "resource": "MB",
                          "free_units": Decimal128("5120"), "service_id": service, "status": "active"}]})
        db.services.insert_one({"_id": service, "customer_id": customer, "subscription_id": subscription,
                                "product_code": "DATA-MB", "service_type": "data", "identifier": f"{tag}{n}",
                                "status": "active", "valid_from": SINCE, "created_at": SINCE})
        db.balances.insert_one({"_id": f"free-{tag}-{n}", "balance_group_id": group, "customer_id": customer,
                                "resource": "MB", "amount": Decimal128("-5120"), "initial": Decimal128("-5120"),
                                "validity": "infinite", "valid_from": SINCE, "valid_to": None, "priority": 0,
                                "source": "test", "created_at": SINCE})
    return tag, identifiers


def events(identifiers, count):
    start = datetime.now(UTC) - timedelta(minutes=10)
    return [{"id": f"{uuid.uuid4().hex}", "serviceType": "data", "serviceIdentifier": identifiers[n % len(identifiers)],
             "startTime": start.isoformat(), "quantity": str(1 + n % 7), "fields": {"zone": "home"}}
            for n in range(count)]


def publish(amqp_uri, bodies):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    for body in bodies:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        channel.basic_publish("rating.usage", "data", raw, pika.BasicProperties(delivery_mode=2))
    connection.close()


def depth(amqp_uri, queue="rating.usage"):
    return queue_depth(amqp_uri, queue)


def wait_long(condition):
    return wait_for(condition, timeout=300.0, interval=0.2)


def assert_rated_exactly_once(db, tag, sent):
    ids = [e["id"] for e in sent]
    assert db.usage.count_documents({"_id": {"$in": ids}, "status": "rated"}) == len(sent)
    used: dict[str, int] = {}
    for event in sent:
        used[event["serviceIdentifier"]] = used.get(event["serviceIdentifier"], 0) + int(event["quantity"])
    for identifier, quantity in used.items():
        n = identifier.removeprefix(tag)
        balance = db.balances.find_one({"_id": f"free-{tag}-{n}"})["amount"].to_decimal()
        assert balance == -5120 + quantity, identifier


def batches(sent, per_message):
    """`sent` as usage.batch messages of `per_message` events (decision 0411); None: one event a message."""
    if per_message is None:
        return sent
    return [{"events": sent[n:n + per_message]} for n in range(0, len(sent), per_message)]


# The fault tests run with one event per message and with batch messages (a redelivered batch message's
# chunks committed before the fault find their ids rated).
MESSAGES = pytest.mark.parametrize("per_message", [None, 200], ids=["one event a message", "batch messages"])


def start_stream(platform):
    port = localinfra.free_port()
    process = subprocess.Popen([sys.executable, "-m", "rating", "stream"],
                               env={**platform.env, "HEALTH_PORT": str(port)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    localinfra.wait_http([f"http://127.0.0.1:{port}/health/ready"], timeout=180, alive=process)
    return process


def test_the_stream_serves_health_and_metrics(platform):
    import httpx

    process = platform["rating:stream"]
    assert httpx.get(f"{process.url}/health/ready", timeout=10).json()["checks"]["amqp"] == "ok"
    assert "stream_batch_size" in httpx.get(f"{process.url}/metrics", timeout=10).text


@MESSAGES
def test_a_killed_stream_process_redelivers_and_every_event_is_rated_exactly_once(platform, lines, per_message):
    tag, identifiers = lines
    db = platform.database("rating")
    sent = events(identifiers, 3000)
    publish(platform.env["AMQP_URI"], batches(sent, per_message))
    ids = [e["id"] for e in sent]
    assert wait_long(lambda: db.usage.count_documents({"_id": {"$in": ids}}) >= 300)
    victim = platform["rating:stream"].process
    victim.send_signal(signal.SIGKILL)  # mid-stream: some batches committed but not acknowledged
    victim.wait()
    platform["rating:stream"].process = start_stream(platform)
    assert wait_long(lambda: depth(platform.env["AMQP_URI"]) == 0
                    and db.usage.count_documents({"_id": {"$in": ids}}) == len(sent))
    assert_rated_exactly_once(db, tag, sent)


@MESSAGES
def test_the_stream_reconnects_when_the_broker_drops_its_connection(platform, lines, per_message):
    tag, identifiers = lines
    db = platform.database("rating")
    sent = events(identifiers, 2000)
    publish(platform.env["AMQP_URI"], batches(sent[:1000], per_message))
    ids = [e["id"] for e in sent]
    assert wait_long(lambda: db.usage.count_documents({"_id": {"$in": ids}}) >= 100)
    vhost = platform.env["AMQP_URI"].rsplit("/", 1)[1]
    localinfra.close_connections(vhost)
    publish(platform.env["AMQP_URI"], batches(sent[1000:], per_message))
    assert wait_long(lambda: depth(platform.env["AMQP_URI"]) == 0
                    and db.usage.count_documents({"_id": {"$in": ids}}) == len(sent))
    assert_rated_exactly_once(db, tag, sent)


def dead_letters(amqp_uri):
    """Every message of dlq.rating.usage, taken off it: [(body, reason)]."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    found = []
    while True:
        method, properties, body = channel.basic_get("dlq.rating.usage", auto_ack=True)
        if method is None:
            break
        found.append((body, properties.headers[REASON_HEADER]))
    connection.close()
    return found


def test_poison_messages_go_to_the_dead_letter_queue_with_their_reason_and_the_rest_is_rated(platform, lines):
    tag, identifiers = lines
    db = platform.database("rating")
    good = events(identifiers, 20)
    bad_event = {**events(identifiers, 1)[0], "serviceIdentifier": "nobody"}
    publish(platform.env["AMQP_URI"], [*good[:10], b"not json", {"no": "id"}, bad_event, *good[10:]])
    assert wait_long(lambda: depth(platform.env["AMQP_URI"], "dlq.rating.usage") >= 2)
    assert wait_long(lambda: db.usage.count_documents({"_id": {"$in": [e["id"] for e in good]}}) == 20)
    assert_rated_exactly_once(db, tag, good)
    # A well-formed event that cannot be rated is stored as rejected with its reason, not dead-lettered.
    assert wait_long(lambda: db.usage.find_one({"_id": bad_event["id"]}) is not None)
    assert db.usage.find_one({"_id": bad_event["id"]})["reason_field"] == "serviceIdentifier"
    reasons = [reason for _, reason in dead_letters(platform.env["AMQP_URI"])]
    assert any(r.startswith("not JSON") for r in reasons) and any("not a usage event" in r for r in reasons)


def test_an_event_published_twice_without_a_redelivery_is_rated_once_within_a_batch_and_across_batches(
        platform, lines):
    # No message is redelivered here, so the stream inserts without looking ids up first (decision 0413): the
    # usage record's key refuses the second copy and its batch runs again the careful way.
    tag, identifiers = lines
    db = platform.database("rating")
    sent = events(identifiers, 200)
    publish(platform.env["AMQP_URI"], [*sent[:100], *sent[:20]])  # 20 ids twice, mostly in one batch
    assert wait_long(lambda: db.usage.count_documents({"_id": {"$in": [e["id"] for e in sent[:100]]}}) == 100)
    publish(platform.env["AMQP_URI"], [*sent[40:60], *sent[100:]])  # rated ids again, beside new ones
    assert wait_long(lambda: depth(platform.env["AMQP_URI"]) == 0
                    and db.usage.count_documents({"_id": {"$in": [e["id"] for e in sent]}}) == len(sent))
    assert_rated_exactly_once(db, tag, sent)


# -- batch messages: many usage events in one message (usage.batch.v1, decision 0411) -------------------------

def test_a_batch_message_sent_again_and_events_repeated_inside_it_are_rated_once(platform, lines):
    tag, identifiers = lines
    db = platform.database("rating")
    sent = events(identifiers, 300)
    batch = {"events": [*sent, *sent[:50]]}  # 50 ids twice in one message
    publish(platform.env["AMQP_URI"], [batch, batch, {"events": sent[100:200]}, sent[0]])
    assert wait_long(lambda: depth(platform.env["AMQP_URI"]) == 0
                    and db.usage.count_documents({"_id": {"$in": [e["id"] for e in sent]}}) == len(sent))
    assert_rated_exactly_once(db, tag, sent)


def test_a_batch_over_the_limit_is_dead_lettered_unrated_and_one_with_unusable_events_names_them(platform, lines):
    tag, identifiers = lines
    db = platform.database("rating")
    too_many = events(identifiers, 1001)
    good = events(identifiers, 30)
    stranger = {**events(identifiers, 1)[0], "serviceIdentifier": "nobody"}
    mixed = {"events": [*good[:10], {"quantity": "1"}, stranger, *good[10:20], "not an object"]}
    publish(platform.env["AMQP_URI"], [{"events": too_many}, {"events": []}, {"events": good[20:], "from": "x"},
                                       mixed, *good[20:]])
    assert wait_long(lambda: depth(platform.env["AMQP_URI"]) == 0
                    and db.usage.count_documents({"_id": {"$in": [e["id"] for e in good]}}) == 30)
    assert_rated_exactly_once(db, tag, good)
    # A well-formed event of a batch that cannot be rated is stored as rejected, like one sent alone.
    assert db.usage.find_one({"_id": stranger["id"]})["reason_field"] == "serviceIdentifier"
    assert db.usage.count_documents({"_id": {"$in": [e["id"] for e in too_many]}}) == 0
    assert wait_long(lambda: depth(platform.env["AMQP_URI"], "dlq.rating.usage") >= 4)
    reasons = {(json.loads(body).get("events") or [{}])[0].get("id"): reason
               for body, reason in dead_letters(platform.env["AMQP_URI"]) if body.startswith(b'{"events"')}
    assert "1001 events" in reasons[too_many[0]["id"]] and "0 events" in reasons[None]
    assert reasons[good[20]["id"]] == "not a usage batch: from: a usage batch has no member but 'events' " \
                                      "(found 'from')"
    assert reasons[good[0]["id"]] == ("not usage events at events.10, events.22 (the batch's other events were "
                                      "rated): events.10: id: must be a non-empty string of at most 128 characters; "
                                      "events.22: a usage event must be a JSON object")

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pika
import pytest

from chassis import localinfra
from chassis.stream import BATCH_SIZE, REASON_HEADER, StreamConsumer
from chassis.testing import queue_depth, running, wait_for

SAMPLE = Path(__file__).parent / "sample" / "stream_sample.py"
_spec = importlib.util.spec_from_file_location("stream_sample", SAMPLE)
sample = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sample)
handler_for, topology = sample.handler_for, sample.topology


@pytest.fixture
def queue_name():
    return f"stream-{uuid.uuid4().hex[:8]}"


def publish(uri, queue, bodies, start=0):
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    topology(queue).declare(channel)
    channel.confirm_delivery()
    for i, body in enumerate(bodies, start):
        channel.basic_publish(f"{queue}.in", "n", json.dumps(body).encode(),
                              pika.BasicProperties(message_id=f"m-{i}", delivery_mode=2,
                                                   timestamp=int(time.time())))
    connection.close()


def tally(db):
    return (db.tally.find_one({"_id": "tally"}) or {}).get("count", 0)


def test_a_batch_is_applied_once_and_acknowledged_after_its_transaction(chassis_db, amqp_uri, queue_name):
    publish(amqp_uri, queue_name, [{"n": i} for i in range(200)])
    before = BATCH_SIZE.labels(queue_name)._sum.get()
    consumer = StreamConsumer(amqp_uri, topology(queue_name), handler_for(chassis_db), batch_size=50,
                              prefetch=100, max_wait=0.2)
    stop = running(consumer)
    try:
        assert wait_for(lambda: tally(chassis_db) == 200)
        assert wait_for(lambda: queue_depth(amqp_uri, queue_name) == 0)
    finally:
        stop()
    assert chassis_db.applied.count_documents({}) == 200
    assert BATCH_SIZE.labels(queue_name)._sum.get() - before == 200
    # Batches, not single messages: the 200 messages took far fewer than 200 handler calls.
    assert sum(b.get() for b in BATCH_SIZE.labels(queue_name)._buckets[:3]) < 50


def test_a_poison_message_goes_to_the_dead_letter_queue_with_its_reason_and_the_rest_is_applied(
        chassis_db, amqp_uri, queue_name):
    publish(amqp_uri, queue_name, [{"n": 0}, {"poison": "not a number"}, {"n": 2}, "not even an object"])
    consumer = StreamConsumer(amqp_uri, topology(queue_name), handler_for(chassis_db), batch_size=10,
                              max_wait=0.2)
    stop = running(consumer)
    try:
        assert wait_for(lambda: queue_depth(amqp_uri, f"dlq.{queue_name}") == 2)
    finally:
        stop()
    assert tally(chassis_db) == 2
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    reasons = {}
    for _ in range(2):
        _, properties, body = channel.basic_get(f"dlq.{queue_name}", auto_ack=True)
        reasons[properties.message_id] = properties.headers[REASON_HEADER]
    connection.close()
    assert reasons["m-1"] == "refused: not a number"
    assert "TypeError" in reasons["m-3"]  # the handler raised on it alone; the others were still applied
    assert queue_depth(amqp_uri, queue_name) == 0


def test_a_killed_consumer_redelivers_and_nothing_is_applied_twice(chassis_db, mongo_uri, amqp_uri, queue_name):
    publish(amqp_uri, queue_name, [{"n": i} for i in range(400)])
    env = {**os.environ, "MONGODB_URI": mongo_uri, "DB_NAME": chassis_db.name, "AMQP_URI": amqp_uri,
           "QUEUE": queue_name}

    def start(delay):
        return subprocess.Popen([sys.executable, str(SAMPLE)], env={**env, "DELAY": delay})

    first = start("0.3")  # slow: commits, then dies before most acks
    try:
        assert wait_for(lambda: tally(chassis_db) >= 60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert tally(chassis_db) < 400
    second = start("0")
    try:
        assert wait_for(lambda: queue_depth(amqp_uri, queue_name) == 0 and tally(chassis_db) == 400)
    finally:
        second.terminate()
        second.wait(30)
    assert chassis_db.applied.count_documents({}) == 400 and tally(chassis_db) == 400


def test_the_consumer_reconnects_by_itself_when_the_broker_drops_it_or_the_vhost_comes_back(
        chassis_db, scratch_vhost, queue_name):
    vhost, uri = scratch_vhost
    publish(uri, queue_name, [{"n": i} for i in range(50)])
    consumer = StreamConsumer(uri, topology(queue_name), handler_for(chassis_db), batch_size=10, max_wait=0.1,
                              max_backoff=1.0)
    stop = running(consumer)
    try:
        assert wait_for(lambda: tally(chassis_db) == 50)
        consumer.connected.clear()
        localinfra.close_connections(vhost)
        assert consumer.connected.wait(30), "no reconnection after the broker closed the connection"
        publish(uri, queue_name, [{"n": i} for i in range(50, 80)], start=50)
        assert wait_for(lambda: tally(chassis_db) == 80)
        localinfra.delete_vhost(vhost)
        time.sleep(1.5)
        localinfra.create_vhost(vhost)
        # The consumer redeclares its exchange and queue on reconnecting, so new events flow again.
        assert wait_for(lambda: consumer.connected.is_set(), 30)
        publish(uri, queue_name, [{"n": i} for i in range(80, 100)], start=80)
        assert wait_for(lambda: tally(chassis_db) == 100)
    finally:
        stop()
    assert chassis_db.applied.count_documents({}) == 100


def test_the_next_batch_is_read_while_one_is_handled_and_stopping_acknowledges_the_batch_in_hand(
        chassis_db, amqp_uri, queue_name):
    publish(amqp_uri, queue_name, [{"n": i} for i in range(10)])
    apply = handler_for(chassis_db)
    handling, release, received_meanwhile = threading.Event(), threading.Event(), []

    def handle(batch):
        if not received_meanwhile:  # the first batch: hold it until the test has seen what arrived meanwhile
            handling.set()
            received_meanwhile.append(wait_for(lambda: len(consumer._pending) == 10, 20))
            release.wait(20)
        return apply(batch)

    # A long max_wait: the first batch is handled when all ten have arrived (batch_size), never earlier with
    # only the first few (on a loaded machine the rest can take longer than a short wait to arrive).
    consumer = StreamConsumer(amqp_uri, topology(queue_name), handle, batch_size=10, prefetch=30, max_wait=10)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    assert handling.wait(30)
    publish(amqp_uri, queue_name, [{"n": i} for i in range(10, 20)], start=10)
    assert wait_for(lambda: received_meanwhile, 30)
    assert received_meanwhile == [True]  # the consumer kept reading while the handler worked
    stop.set()
    release.set()
    thread.join(30)
    assert not thread.is_alive()
    # The batch in hand was finished and acknowledged; the one only received went back to the queue.
    assert tally(chassis_db) == 10 and chassis_db.applied.count_documents({}) == 10
    assert wait_for(lambda: queue_depth(amqp_uri, queue_name) == 10)

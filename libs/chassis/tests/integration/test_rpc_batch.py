"""The batch RPC server (chassis.rpc_batch) against a real RabbitMQ: with batches handled on the consumer thread
(`parallel=1`) and on worker threads, every call is answered once, acknowledged after its reply, given back
when the handler fails transiently, and served again after the broker drops the connection."""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pika
import pytest
from prometheus_client import REGISTRY

from chassis import localinfra
from chassis.nameko_adapter import RPC_EXCHANGE
from chassis.rpc_batch import BatchRpcServer, RpcTopology
from chassis.rpc_client import AmqpRpcClient
from chassis.testing import running, wait_for


class Flaky(Exception):
    """The database being away: the batch is given back."""


def call_until_answered(client, service, *args, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return client.call(service, "echo", *args)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("parallel", [1, 2])
def test_every_concurrent_call_gets_its_own_answer_and_nothing_is_redelivered_afterwards(amqp_uri, parallel):
    name = f"svc{uuid.uuid4().hex[:8]}"
    batches = []

    def handle(batch):
        batches.append(len(batch))
        time.sleep(0.003)  # a database wait: requests arriving meanwhile form the next batch
        return [request.args[0] for request in batch]

    stop = running(BatchRpcServer(amqp_uri, RpcTopology(name), handle, batch_size=50, max_wait=0, parallel=parallel))
    client = AmqpRpcClient(amqp_uri, timeout=10)
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda n: client.call(name, "echo", {"n": n}), range(300)))
        assert answers == [{"n": n} for n in range(300)]
        assert sum(batches) == 300 and max(batches) > 1, batches
        # Its batches are on /metrics as the stream's are (docs/rating.md: operating the charging process).
        queue = RpcTopology(name).queue
        assert REGISTRY.get_sample_value("stream_batch_size_sum", {"queue": queue}) == 300
        assert REGISTRY.get_sample_value("stream_batch_size_count", {"queue": queue}) == len(batches)
        # Observed once the replies are written: the last one may reach us a moment before.
        assert wait_for(lambda: REGISTRY.get_sample_value("stream_batch_seconds_count", {"queue": queue})
                        == len(batches), timeout=5)
    finally:
        client.close()
        stop()  # closes the connection: a request left unacknowledged would go back to the queue
    seen = []
    stop = running(BatchRpcServer(amqp_uri, RpcTopology(name), lambda batch: seen.extend(batch) or [None] * len(batch),
                                  max_wait=0, parallel=parallel))
    time.sleep(1.0)
    stop()
    assert seen == [], f"{len(seen)} requests were redelivered"


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_batch_whose_handler_fails_transiently_is_given_back_and_answered_when_redelivered(amqp_uri, parallel):
    name = f"svc{uuid.uuid4().hex[:8]}"
    attempts = []

    def handle(batch):
        attempts.append([request.redelivered for request in batch])
        if len(attempts) == 1:
            raise Flaky("database away")
        return [request.args[0] for request in batch]

    stop = running(BatchRpcServer(amqp_uri, RpcTopology(name), handle, max_wait=0, parallel=parallel,
                                  transient=(Flaky,), max_backoff=0.5))
    client = AmqpRpcClient(amqp_uri, timeout=20)
    try:
        assert client.call(name, "echo", "again") == "again"
    finally:
        client.close()
        stop()
    assert attempts[0] == [False] and attempts[-1] == [True]


@pytest.mark.parametrize("parallel", [1, 2])
def test_the_server_serves_again_after_the_broker_drops_its_connection(scratch_vhost, parallel):
    vhost, uri = scratch_vhost
    name = f"svc{uuid.uuid4().hex[:8]}"
    server = BatchRpcServer(uri, RpcTopology(name), lambda batch: [r.args[0] for r in batch], max_wait=0,
                            parallel=parallel, max_backoff=1.0)
    stop = running(server)
    client = AmqpRpcClient(uri, timeout=5)
    try:
        assert client.call(name, "echo", 1) == 1
        server.connected.clear()
        localinfra.close_connections(vhost)
        assert server.connected.wait(30), "no reconnection after the broker closed the connection"
        assert call_until_answered(client, name, 2) == 2
    finally:
        client.close()
        stop()


def call_with_pika(amqp_uri, routing_key, body, **properties):
    """Publish a call as a plain pika client would, replies to a queue of its own: ((correlation id, decoded
    reply) or None after 10 s, the reply queue)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        replies = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(replies, RPC_EXCHANGE, routing_key=replies)
        channel.basic_publish(RPC_EXCHANGE, routing_key, body, pika.BasicProperties(reply_to=replies, **properties))
        for method, reply_properties, payload in channel.consume(replies, auto_ack=True, inactivity_timeout=10):
            return ((reply_properties.correlation_id, json.loads(payload)) if method is not None else None), replies
        return None, replies
    finally:
        connection.close()


def serving_what_it_sees(amqp_uri):
    """A server answering each call with its problem, or "called"; (its service name, the requests it saw,
    stop)."""
    name = f"svc{uuid.uuid4().hex[:8]}"
    seen = []
    stop = running(BatchRpcServer(amqp_uri, RpcTopology(name),
                                  lambda batch: seen.extend(batch) or [r.problem or "called" for r in batch],
                                  max_wait=0, parallel=1))
    return name, seen, stop


@pytest.mark.parametrize("body", [b"not json", b'{"args": "ab", "kwargs": {}}', b'{"args": [], "kwargs": [1]}',
                                  b'{"kwargs": {}}'])
def test_a_body_that_is_no_call_is_answered_with_a_malformed_request_error_and_the_handler_sees_why(amqp_uri, body):
    name, seen, stop = serving_what_it_sees(amqp_uri)
    try:
        reply, _ = call_with_pika(amqp_uri, f"{name}.echo", body, correlation_id="c-1", content_type="application/json")
    finally:
        stop()
    assert reply is not None, "no reply"
    correlation_id, answer = reply
    assert correlation_id == "c-1" and answer["result"] is None
    assert answer["error"]["exc_type"] == "MalformedRequest", answer
    assert len(seen) == 1 and seen[0].args == [] and seen[0].kwargs == {}


def test_a_call_from_another_client_with_every_property_set_is_read_as_sent_and_answered(amqp_uri):
    # The server decodes its requests itself (decision 0020): properties it does not read, set by other clients,
    # must be skipped, not mistaken for the ones it reads.
    name = f"svc{uuid.uuid4().hex[:8]}"
    seen = []
    stop = running(BatchRpcServer(amqp_uri, RpcTopology(name),
                                  lambda batch: seen.extend(batch) or ["done"] * len(batch), max_wait=0, parallel=1))
    user = pika.URLParameters(amqp_uri).credentials.username
    try:
        reply, replies = call_with_pika(
            amqp_uri, f"{name}.reserve", b'{"args": ["a"], "kwargs": {"b": 1}}', content_type="application/json",
            content_encoding="utf-8", headers={"nameko.traceparent": "00-ab-cd-01", "nameko.call_id_stack": ["x.y.1"]},
            delivery_mode=2, priority=3, correlation_id="c-7", expiration="60000", message_id="m-1",
            timestamp=1_767_225_600, type="rpc", user_id=user, app_id="another-client", cluster_id="c")
    finally:
        stop()
    assert reply == ("c-7", {"result": "done", "error": None})
    [request] = seen
    assert (request.method, request.args, request.kwargs, request.reply_to, request.correlation_id) == (
        "reserve", ["a"], {"b": 1}, replies, "c-7")
    assert (request.traceparent, request.timestamp, request.redelivered) == ("00-ab-cd-01", 1_767_225_600, False)


def test_a_routing_key_that_is_not_utf8_is_answered_as_malformed_and_the_server_goes_on_serving(amqp_uri):
    # `<service>.*` matches any octets after the dot: such a call must be refused, not crash the consume loop
    # (it would be redelivered to crash it again).
    name, seen, stop = serving_what_it_sees(amqp_uri)
    try:
        refused, _ = call_with_pika(amqp_uri, f"{name}.".encode() + b"\xff\xfe", b'{"args": [], "kwargs": {}}',
                                    correlation_id=b"\xfe-1")
        answered, _ = call_with_pika(amqp_uri, f"{name}.echo", b'{"args": [], "kwargs": {}}', correlation_id="c-2")
    finally:
        stop()
    assert refused is not None, "no reply"
    correlation_id, answer = refused
    assert correlation_id == b"\xfe-1"  # echoed as sent, so the caller can match it
    assert answer["error"]["exc_type"] == "MalformedRequest", answer
    assert answered == ("c-2", {"result": "called", "error": None})
    assert [r.method for r in seen] == ["", "echo"]

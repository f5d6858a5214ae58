import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pika
import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.parser import text_string_to_metric_families

from chassis import localinfra
from chassis.envelope import new_event
from chassis.errors import NotFound, Unavailable, ValidationFailed
from chassis.nameko_adapter import RpcClient, consumer_queue, declare_topology

SAMPLE_DIR = Path(__file__).parent / "sample"
QUEUE = consumer_queue("sample", "on_customer_created", "customer.created").name


@pytest.fixture(scope="module")
def sample_worker(mongo_uri, amqp_uri, tmp_path_factory):
    sys.path.insert(0, str(SAMPLE_DIR))
    from sample_worker import SampleService

    declare_topology(SampleService, amqp_uri)  # as `migrate` does: events sent before start are kept
    sys.path.remove(str(SAMPLE_DIR))
    port = localinfra.free_port()
    prefix = f"n{os.getpid()}_"
    env = {**os.environ, "MONGODB_URI": mongo_uri, "AMQP_URI": amqp_uri, "MONGODB_DB_PREFIX": prefix,
           "HEALTH_PORT": str(port), "PYTHONPATH": str(SAMPLE_DIR)}
    log = tmp_path_factory.mktemp("sample") / "worker.log"
    code = ("import eventlet; eventlet.monkey_patch()\n"
            "from chassis.nameko_adapter import run_worker; run_worker('sample_worker:SampleService', 'sample')")
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        localinfra.wait_http([f"http://127.0.0.1:{port}/health/ready"], timeout=60, alive=process)
    except RuntimeError as exc:
        process.kill()
        raise RuntimeError(log.read_text()) from exc
    import pymongo

    db = pymongo.MongoClient(mongo_uri)[f"{prefix}sample"]
    yield {"port": port, "db": db}
    process.terminate()
    process.wait(15)


@pytest.fixture(scope="module")
def rpc(amqp_uri):
    client = RpcClient(amqp_uri, timeout=10)
    yield client
    client.close()


@pytest.fixture
def channel(amqp_uri):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    yield connection.channel()
    connection.close()


def publish(channel, body: bytes, content_type="application/cloudevents+json"):
    channel.basic_publish("customer.events", "customer.created", body,
                          pika.BasicProperties(content_type=content_type, delivery_mode=2))


def event_body(email, traceparent=None):
    data = {"id": 1, "firstName": "A", "lastName": "B", "email": email, "status": "active",
            "createdAt": "2026-01-01T00:00:00+00:00"}
    return new_event("customer.created", "customer", data, traceparent=traceparent)


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    return predicate()


def dead_letters(channel):
    return channel.queue_declare(f"dlq.{QUEUE}", passive=True).method.message_count


def test_typed_errors_cross_rpc_as_themselves(sample_worker, rpc):
    with pytest.raises(NotFound) as caught:
        rpc.call("sample", "fail", "not-found")
    assert caught.value.fields == {"thingId": "unknown"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.call("sample", "fail", "invalid")
    assert caught.value.to_problem()["invalid_params"] == [{"name": "thing.name", "reason": "too long"}]


def test_an_argument_outside_the_methods_contract_is_refused_naming_the_parameter(sample_worker, rpc):
    with pytest.raises(ValidationFailed) as refused:
        rpc.call("sample", "fail", 5)
    assert set(refused.value.fields) == {"kind"}
    with pytest.raises(ValidationFailed) as refused:
        rpc.call("sample", "fail")
    assert set(refused.value.fields) == {"_arguments"}


def test_calling_a_service_that_is_not_running_is_unavailable(sample_worker, rpc):
    with pytest.raises(Unavailable, match="not running"):
        rpc.call("nosuchservice", "anything")


def test_under_eventlet_call_async_answers_through_the_nameko_pool_in_green_threads(sample_worker, amqp_uri):
    code = ("import eventlet; eventlet.monkey_patch()\n"
            "import sys\n"
            "from chassis.nameko_adapter import NamekoRpcPool, RpcClient\n"
            "client = RpcClient(sys.argv[1], timeout=10)\n"
            "assert isinstance(client._impl, NamekoRpcPool)\n"
            "calls = [client.call_async('sample', 'fail', 'not-found') for _ in range(3)]\n"
            "calls.append(client.call_async('nosuchservice', 'anything'))\n"
            "traced = client.call_async('sample', 'trace_id')\n"
            "print(' '.join(type(call.exception(30)).__name__ for call in calls), len(traced.result(30)))\n"
            "client.close()\n")
    ran = subprocess.run([sys.executable, "-c", code, amqp_uri], capture_output=True, text=True, timeout=120)
    assert ran.stdout.split() == ["NotFound", "NotFound", "NotFound", "Unavailable", "32"], ran.stderr


def test_the_worker_continues_the_callers_trace(sample_worker, rpc):
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("operator request") as span:
        remote_trace = rpc.call("sample", "trace_id")
    assert remote_trace == format(span.get_span_context().trace_id, "032x")


def test_an_event_is_applied_and_keeps_its_producers_trace(sample_worker, channel):
    event = event_body("ok@example.com", traceparent="00-" + "c" * 32 + "-" + "d" * 16 + "-01")
    publish(channel, event.to_json())
    seen = wait_for(lambda: sample_worker["db"].seen.find_one({"_id": event.id}))
    assert seen["traceparent"] == event.traceparent


def test_a_malformed_message_is_dead_lettered_not_lost(sample_worker, channel):
    before = dead_letters(channel)
    publish(channel, json.dumps({"no": "envelope"}).encode())
    assert wait_for(lambda: dead_letters(channel) == before + 1)


def test_an_event_the_service_rejects_is_dead_lettered(sample_worker, channel):
    before = dead_letters(channel)
    event = event_body("poison@example.com")
    publish(channel, event.to_json())
    assert wait_for(lambda: dead_letters(channel) == before + 1)
    assert sample_worker["db"].seen.find_one({"_id": event.id}) is None


def test_a_transient_failure_is_retried_until_applied_once(sample_worker, channel):
    event = event_body("flaky@example.com")
    publish(channel, event.to_json())
    assert wait_for(lambda: sample_worker["db"].seen.find_one({"_id": event.id}))
    assert sample_worker["db"].attempts.find_one({"_id": event.id})["n"] == 2


def test_the_worker_serves_health_and_counts_its_work(sample_worker):
    import httpx

    base = f"http://127.0.0.1:{sample_worker['port']}"
    assert httpx.get(f"{base}/health/live").json() == {"status": "live"}
    assert httpx.get(f"{base}/health/ready").json()["checks"] == {"mongodb": "ok", "amqp": "ok"}
    metrics = httpx.get(f"{base}/metrics")
    assert metrics.status_code == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(metrics.text) for s in family.samples}
    assert samples[("rpc_calls_total", (("method", "fail"), ("outcome", "NotFound"), ("service", "sample")))] >= 1
    assert samples[("events_consumed_total",
                    (("outcome", "applied"), ("service", "sample"), ("type", "customer.created")))] >= 1

"""The lean RPC client (chassis.rpc_client, decision 0015) against a real RabbitMQ, in a vhost of its own, answered
by a `BatchRpcServer` in this process. (Its answers from a nameko worker: test_nameko_adapter.py, whose `rpc`
fixture is this client too.)"""
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import TracerProvider

from chassis import localinfra
from chassis.errors import NotFound, Unavailable
from chassis.nameko_adapter import RpcClient
from chassis.rpc_batch import BatchRpcServer, RpcTopology
from chassis.rpc_client import AmqpRpcClient


def answer(request):
    """`echo(x)` returns x; `missing(name)` is a typed error; `slow(seconds)` answers late; `trace()` returns
    the caller's traceparent as the request carried it."""
    if request.method == "echo":
        return request.args[0]
    if request.method == "missing":
        return NotFound(f"{request.args[0]} does not exist", {"name": "unknown"})
    if request.method == "slow":
        time.sleep(request.args[0])
        return "late"
    if request.method == "trace":
        return request.traceparent
    return ValueError(request.method)


def serving(amqp_uri, service):
    server = BatchRpcServer(amqp_uri, RpcTopology(service), lambda batch: [answer(r) for r in batch],
                            batch_size=50, prefetch=100, max_wait=0, parallel=2)
    stop = threading.Event()
    thread = threading.Thread(target=server.run, args=(stop,), daemon=True)
    thread.start()
    assert server.connected.wait(30)
    return server, lambda: (stop.set(), thread.join(30))


@pytest.fixture
def service(amqp_uri):
    name = f"svc{uuid.uuid4().hex[:8]}"
    _, stop = serving(amqp_uri, name)
    yield name
    stop()


@pytest.fixture
def client(amqp_uri):
    rpc = RpcClient(amqp_uri, timeout=5)
    yield rpc
    rpc.close()


def test_a_process_without_eventlet_gets_the_lean_client(client):
    assert isinstance(client._impl, AmqpRpcClient)


def test_results_and_typed_errors_come_back_as_the_server_answered(service, client):
    assert client.call(service, "echo", {"amount": "1.50", "items": [1, 2]}) == {"amount": "1.50", "items": [1, 2]}
    with pytest.raises(NotFound) as caught:
        client.call(service, "missing", "widget-7")
    assert caught.value.fields == {"name": "unknown"}


def test_a_request_and_an_answer_larger_than_a_frame_and_values_with_type_markers_travel_whole(service, client):
    # More than one body frame each way (the client encodes its requests and reads its replies itself), and
    # the values nameko's JSON marks with their type (Decimal, datetime) come back as themselves.
    payload = {"note": "é" * 20_000, "amount": Decimal("1.50"), "at": datetime(2026, 11, 30, 6, 0, tzinfo=UTC)}
    assert client.call(service, "echo", payload) == payload
    assert client.call(service, "echo", ["plain", 1, None]) == ["plain", 1, None]


def test_concurrent_callers_on_one_connection_each_get_their_own_answer(service, client):
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda n: client.call(service, "echo", n), range(500)))
    assert answers == list(range(500))


def test_calling_a_service_nobody_serves_is_unavailable_at_once(client):
    started = time.monotonic()
    with pytest.raises(Unavailable, match="nosuchservice is not running"):
        client.call("nosuchservice", "anything")
    assert time.monotonic() - started < 2, "the broker returns the request: no waiting for the timeout"


def test_a_server_that_does_not_answer_in_time_is_unavailable_and_its_late_answer_is_dropped(amqp_uri, service):
    rpc = RpcClient(amqp_uri, timeout=0.5)
    try:
        with pytest.raises(Unavailable, match="did not answer within 0.5s"):
            rpc.call(service, "slow", 1.5)
        time.sleep(1.5)  # the late reply arrives for nobody
        assert rpc.call(service, "echo", "next") == "next"
    finally:
        rpc.close()


def test_the_callers_trace_travels_with_the_request(service, client):
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("operator request") as span:
        traceparent = client.call(service, "trace")
    assert traceparent.split("-")[1] == format(span.get_span_context().trace_id, "032x")


def answered_again(rpc, name, value, within=30):
    """`echo(value)` once calls are answered again: each try that finds the broker or server away fails fast."""
    deadline = time.monotonic() + within
    while True:
        try:
            return rpc.call(name, "echo", value)
        except Unavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)

def test_calls_in_flight_blocking_or_async_fail_when_the_broker_drops_the_connection_then_it_reconnects(scratch_vhost):
    vhost, uri = scratch_vhost
    name = f"svc{uuid.uuid4().hex[:8]}"
    server, stop = serving(uri, name)
    rpc = RpcClient(uri, timeout=20)
    try:
        assert rpc.call(name, "echo", 1) == 1
        outcome = {}

        def in_flight():
            try:
                outcome["answer"] = rpc.call(name, "slow", 3)
            except Unavailable as exc:
                outcome["error"] = exc

        caller = threading.Thread(target=in_flight)
        caller.start()
        pending_async = [rpc.call_async(name, "slow", 3) for _ in range(5)]  # nobody waits on these
        time.sleep(0.5)
        started = time.monotonic()
        localinfra.close_connections(vhost)
        caller.join(15)
        assert "message broker unreachable" in str(outcome.get("error")), outcome
        _, unfinished = wait(pending_async, timeout=5)
        assert not unfinished
        assert all("message broker unreachable" in str(call.exception()) for call in pending_async)
        assert all(isinstance(call.exception(), Unavailable) for call in pending_async)
        assert time.monotonic() - started < 10, "failed when the connection dropped, not at the 20 s timeout"
        assert server.connected.wait(30)
        # The server reconnects by itself; the client on the next call.
        assert answered_again(rpc, name, 2) == 2
    finally:
        rpc.close()
        stop()


def test_while_the_broker_refuses_connections_calls_fail_fast_and_serve_again_when_it_returns(scratch_vhost):
    vhost, uri = scratch_vhost
    name = f"svc{uuid.uuid4().hex[:8]}"
    _, stop = serving(uri, name)
    rpc = RpcClient(uri, timeout=5)
    outage = localinfra.BrokerOutage(vhost)
    try:
        assert rpc.call(name, "echo", 1) == 1
        outage.begin()
        try:
            for _ in range(5):
                started = time.monotonic()
                with pytest.raises(Unavailable):
                    rpc.call(name, "echo", 2)
                assert time.monotonic() - started < 5 + 1
            failed = rpc.call_async(name, "echo", 2)  # raises nothing: the failure is the future's
            assert isinstance(failed.exception(5), Unavailable)
        finally:
            outage.end()
        assert answered_again(rpc, name, 3) == 3
    finally:
        rpc.close()
        stop()


def test_batches_answered_out_of_order_are_all_acknowledged_so_nothing_is_redelivered(amqp_uri, client):
    name = f"svc{uuid.uuid4().hex[:8]}"
    # Two batches in flight: the older one (holding a slow request) finishes after the younger ones.
    _, stop = serving(amqp_uri, name)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            slow = pool.submit(client.call, name, "slow", 1.0)
            time.sleep(0.2)
            quick = list(pool.map(lambda n: client.call(name, "echo", n), range(40)))
            assert slow.result() == "late"
        assert quick == list(range(40))
    finally:
        stop()  # closes the connection: a request left unacknowledged would go back to the queue
    seen = []
    server = BatchRpcServer(amqp_uri, RpcTopology(name), lambda batch: seen.extend(batch) or [None] * len(batch),
                            max_wait=0)
    halt = threading.Event()
    thread = threading.Thread(target=server.run, args=(halt,), daemon=True)
    thread.start()
    try:
        assert server.connected.wait(30)
        time.sleep(1.0)
    finally:
        halt.set()
        thread.join(30)
    assert seen == [], f"{len(seen)} requests were redelivered"


# -- call_async: many calls in flight from one thread, completed by the client's I/O thread ---------------------

def test_one_thread_keeps_hundreds_of_async_calls_in_flight_and_each_future_gets_its_own_answer(service, client):
    futures = [client.call_async(service, "echo", {"n": n, "amount": "0.10"}) for n in range(800)]
    done, pending = wait(futures, timeout=30)
    assert not pending
    assert [future.result() for future in futures] == [{"n": n, "amount": "0.10"} for n in range(800)]


def test_an_async_call_fails_with_the_services_typed_error_or_unavailable_as_a_blocking_call_raises(service, client):
    missing = client.call_async(service, "missing", "widget-7")
    nobody = client.call_async("nosuchservice", "anything")
    assert isinstance(missing.exception(10), NotFound)
    assert missing.exception().fields == {"name": "unknown"}
    assert isinstance(nobody.exception(10), Unavailable)
    assert "nosuchservice is not running" in str(nobody.exception())


def test_an_async_calls_timeout_fires_with_nobody_waiting_for_it(amqp_uri, service):
    rpc = RpcClient(amqp_uri, timeout=0.5)
    try:
        completed = threading.Event()
        sent = time.monotonic()
        future = rpc.call_async(service, "slow", 2.0)
        future.add_done_callback(lambda _: completed.set())
        time.sleep(1.2)  # nobody waits on the future: the client's own I/O thread must fail it
        assert completed.is_set(), "the deadline passed unnoticed"
        assert future.done() and time.monotonic() - sent < 1.5
        assert isinstance(future.exception(), Unavailable)
        assert "did not answer within 0.5s" in str(future.exception())
        assert rpc.call(service, "echo", "next") == "next"  # the late answer (at 2 s) finds nobody
        time.sleep(1.0)
        assert rpc.call(service, "echo", "after") == "after"
    finally:
        rpc.close()


def test_a_done_callback_chains_the_next_async_call_but_may_not_block_on_a_call(service, client):
    chained: Future = Future()
    blocking: Future = Future()

    def then(first):
        second = client.call_async(service, "echo", first.result() + 1)
        second.add_done_callback(lambda done: chained.set_result(done.result()))
        try:
            client.call(service, "echo", 0)
        except RuntimeError as exc:
            blocking.set_result(exc)

    client.call_async(service, "echo", 41).add_done_callback(then)
    assert chained.result(10) == 42
    assert "call_async" in str(blocking.result(10))


def test_a_closed_client_fails_its_async_calls_in_flight(amqp_uri, service):
    rpc = RpcClient(amqp_uri, timeout=20)
    future = rpc.call_async(service, "slow", 3)
    time.sleep(0.3)
    rpc.close()
    assert isinstance(future.exception(5), Unavailable)
    assert "closed" in str(future.exception())

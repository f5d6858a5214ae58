"""Shared by the benchmarks: real infrastructure and figures."""
from __future__ import annotations

import contextlib
import functools
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pika

from chassis import localinfra

PUBLISH_CHUNK = 1000


@contextlib.contextmanager
def infrastructure(mongo_needed: bool = True) -> Iterator[tuple[str, str, Path]]:
    """(mongo_uri, amqp_uri, log_dir): a fresh mongod unless MONGODB_URI is set (none, and an empty URI, when
    `mongo_needed` is false), and an own vhost."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        base = Path(tmp)
        amqp_base = os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"
        localinfra.ensure_rabbitmq(amqp_base)
        vhost = f"bench-{uuid.uuid4().hex[:8]}"
        localinfra.create_vhost(vhost)
        mongo = None
        try:
            if not mongo_needed or os.environ.get("MONGODB_URI"):
                mongo_uri = os.environ.get("MONGODB_URI", "") if mongo_needed else ""
            else:
                mongo = localinfra.MongoReplicaSet(base / "mongo")
                mongo_uri = mongo.start()
            yield mongo_uri, localinfra.with_vhost(amqp_base, vhost), base
        finally:
            if mongo is not None:
                mongo.stop()
            localinfra.delete_vhost(vhost)


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return f"p50 {q[49]:.1f} ms  p95 {q[94]:.1f} ms  p99 {q[98]:.1f} ms  max {ordered[-1]:.1f} ms  (n={len(ordered)})"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/<pid>/stat, in clock ticks)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_of(*words: str) -> list[int]:
    """Processes whose command line holds every one of `words` (e.g. the benchmark's own mongod by its port)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(word in command for word in words):
            found.append(int(entry.name))
    return found


def infrastructure_pids(mongo_uri: str) -> dict[str, list[int]]:
    """The MongoDB and RabbitMQ processes a benchmark talks to: its own mongod (by the URI's port) and the
    broker (shared with whatever else uses it on the machine)."""
    from urllib.parse import urlsplit

    port = urlsplit(mongo_uri.split(",")[0]).port or 27017
    return {"mongod": pids_of("mongod", f"--port {port}"), "rabbitmq": rabbitmq_pids()}


def rabbitmq_pids() -> list[int]:
    """The broker's Erlang VM (not the short-lived ones `rabbitmqctl` starts, which end while being measured)."""
    return pids_of("beam.smp", "-s rabbit boot")


def publish(amqp_uri: str, exchange: str, bodies: list[bytes]) -> float:
    """Persistent messages as fast as one pika connection sends them; seconds until the broker has them all
    (a synchronous command on the same channel returns only after the broker handled every publish before it)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/json",
                                      timestamp=int(time.time()))
    started = time.perf_counter()
    for index, body in enumerate(bodies, 1):
        channel.basic_publish(exchange, "data", body, properties)
        if index % PUBLISH_CHUNK == 0:
            connection.process_data_events(0)  # keep heartbeats and flow control alive
    channel.basic_qos(prefetch_count=0)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def raw_rabbitmq(amqp_uri: str, bodies: list[bytes]) -> tuple[float, float]:
    """(publish msgs/s, consume msgs/s) on a scratch queue, same publisher and prefetch as the stream."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    queue = f"bench-raw-{uuid.uuid4().hex[:6]}"
    channel.exchange_declare(queue, exchange_type="topic", durable=True)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, queue, routing_key="#")
    connection.close()
    publish_seconds = publish(amqp_uri, queue, bodies)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=1000)
    received = 0
    started = time.perf_counter()
    for method, _, _ in channel.consume(queue, inactivity_timeout=5):
        if method is None:
            break
        received += 1
        if received % 500 == 0 or received == len(bodies):
            channel.basic_ack(method.delivery_tag, multiple=True)
        if received == len(bodies):
            break
    consume_seconds = time.perf_counter() - started
    channel.cancel()
    channel.queue_delete(queue)
    channel.exchange_delete(queue)
    connection.close()
    return len(bodies) / publish_seconds, received / consume_seconds


def paced(begin: Callable[[int], Future[Any]], count: int, rate: float, first: int = 0
          ) -> tuple[list[float], float]:
    """An open-loop load from one thread: `begin(first + n)` for each n < `count`, started at a steady `rate` per
    second; `begin` starts a unit of work and returns the future its end completes (the RPC client's
    `call_async`, or a chain of them, see `then`). Returns (each unit's latency in ms, seconds from the first
    start to the last end). A unit's latency runs from the moment it was due, not from when the driver got to
    it: a driver that falls behind adds its lag to the units it delays instead of hiding it (coordinated
    omission). Raises if any unit failed."""
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    finished = threading.Event()

    def ended(due: float, done: Future[Any]) -> None:
        error = done.exception()
        with lock:
            if error is None:
                latencies.append((time.perf_counter() - due) * 1000)
            else:
                failures.append(error)
            if len(latencies) + len(failures) == count:
                finished.set()

    started = time.perf_counter()
    for n in range(count):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        begin(first + n).add_done_callback(functools.partial(ended, due))
    if count:
        finished.wait()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} of {count} units failed") from failures[0]
    return latencies, seconds


def then(first: Future[Any], next_step: Callable[[Any], Future[Any]]) -> Future[Any]:
    """A future of `next_step(first's result)`'s result: two calls one after the other without a waiting thread
    (`next_step` runs where `first` completes: the RPC client's I/O thread, from which `call_async` publishes
    at once)."""
    chained: Future[Any] = Future()

    def step(done: Future[Any]) -> None:
        if done.exception() is not None:
            chained.set_exception(done.exception())  # type: ignore[arg-type]
            return
        try:
            second = next_step(done.result())
        except BaseException as exc:  # noqa: BLE001 (handed to the waiting driver)
            chained.set_exception(exc)
            return
        second.add_done_callback(lambda last: chained.set_exception(last.exception())  # type: ignore[arg-type]
                                 if last.exception() is not None else chained.set_result(last.result()))

    first.add_done_callback(step)
    return chained

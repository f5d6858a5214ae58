"""Shared by the benchmarks: real infrastructure and figures."""
from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def paced(one: Callable[[int], None], count: int, rate: float, first: int = 0, workers: int = 64) -> None:
    """`one(first + n)` for each n < `count`, started at a steady `rate` per second on `workers` threads (an
    open-loop load: a slow answer does not slow the offered rate); returns when all are done."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        begin = time.perf_counter()
        futures = []
        for n in range(count):
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, first + n))
        for future in futures:
            future.result()

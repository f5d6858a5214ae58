"""The hot-path stream consumer: batches from one durable queue, outside nameko (pika, no eventlet).

- Prefetch window: the broker keeps up to `prefetch` unacknowledged messages in flight, so the next batch
  is already on the wire while one is handled.
- A handler receives a whole batch and commits its effects (one MongoDB transaction) before it returns;
  only then is the batch acknowledged (`multiple=True` on the last tag). A crash before the ack redelivers
  the batch, so handlers key their writes on message ids and a redelivery changes nothing.
- Pipelined: the handler runs on a worker thread, one batch at a time, while this thread keeps reading the
  next batch off the connection; while the handler waits for the database the next batch is already being
  decoded. Batches are handled and acknowledged in delivery order (a batch's ack covers only its own tags).
- Poison messages: the handler names the ones it cannot apply (with the reason); a handler that raises is
  retried on halves of the batch until the failing message is alone. Poison messages are published to
  `dlq.<queue>` with an `x-death-reason` header, with publisher confirms, before the batch is acked.
- Transient failures (broker or database away): the batch is given back and the consumer reconnects with
  exponential backoff; it redeclares its topology, so a recreated vhost works again.
- Trace context: each batch runs in one span linked to every message's `traceparent`.
- Metrics: batch size, lag (publish to handling), messages by outcome (their rate is the throughput).
"""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, NamedTuple, Protocol

import pika
import pika.exceptions
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from prometheus_client import Counter, Gauge, Histogram

from chassis import metrics, telemetry
from chassis.amqp_deliveries import DeliveryReader
from chassis.settings import Settings

log = logging.getLogger(__name__)
DEAD_LETTER_EXCHANGE = "dead-letter"
REASON_HEADER = "x-death-reason"

BATCH_SIZE = Histogram("stream_batch_size", "Messages per handled batch", ["queue"],
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2000))
LAG_SECONDS = Histogram("stream_lag_seconds", "Seconds from publish to handling (oldest message of a batch)",
                        ["queue"], buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600))
MESSAGES = Counter("stream_messages_total", "Stream messages by outcome", ["queue", "outcome"])
BATCH_SECONDS = Histogram("stream_batch_seconds", "Time to handle and acknowledge one batch", ["queue"])
CONNECTED = Gauge("stream_connected", "1 while the consumer holds a broker connection", ["queue"])

# Failures that say nothing about the messages: give the batch back and retry later.
_BROKER_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)


class StreamMessage(NamedTuple):
    """One message of a batch (a named tuple: one is built per message, and a frozen dataclass's `__init__`
    cost more than decoding the delivery)."""

    body: bytes
    message_id: str | None
    headers: dict[str, Any]
    timestamp: int | None  # seconds since the epoch, set by the publisher
    redelivered: bool
    delivery_tag: int

    @property
    def traceparent(self) -> str | None:
        return self.headers.get("traceparent")


# A handler applies a batch and returns {index in batch: reason} for messages it refuses (poison).
BatchHandler = Callable[[Sequence[StreamMessage]], dict[int, str]]


class Topology(Protocol):
    """What a consumer needs of its topology: the queue it reads, and how to declare it (`StreamTopology`, or
    `chassis.rpc_batch.RpcTopology` for `BatchRpcServer`)."""

    @property
    def queue(self) -> str: ...

    def declare(self, channel: Any) -> None: ...


@dataclass(frozen=True)
class StreamTopology:
    """A durable topic exchange feeding one durable queue, dead-lettering to `dlq.<queue>`."""

    exchange: str
    queue: str
    routing_key: str = "#"

    @property
    def dead_letter_queue(self) -> str:
        return f"dlq.{self.queue}"

    def declare(self, channel: Any) -> None:
        channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
        channel.queue_declare(self.queue, durable=True, arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": self.queue})
        channel.queue_bind(self.queue, self.exchange, routing_key=self.routing_key)
        channel.queue_declare(self.dead_letter_queue, durable=True)
        channel.queue_bind(self.dead_letter_queue, DEAD_LETTER_EXCHANGE, routing_key=self.queue)


@dataclass
class StreamConsumer:
    amqp_uri: str
    topology: Topology
    # A BatchHandler; a BatchRpcServer's is a chassis.rpc_batch.BatchRpcHandler (a batch of requests, answers).
    handler: Callable[[Sequence[Any]], Any]
    batch_size: int = 500
    prefetch: int = 1000
    max_wait: float = 0.05
    # Exceptions that mean "not now" (e.g. the database is away): the batch is requeued, never dead-lettered.
    transient: tuple[type[BaseException], ...] = ()
    max_backoff: float = 10.0
    _connection: Any = field(default=None, init=False)
    _channel: Any = field(default=None, init=False)
    _pending: list[StreamMessage] = field(default_factory=list, init=False)
    # The batch the worker thread is handling: (batch, started, future of the handler's poison map).
    _in_flight: tuple[list[StreamMessage], float, Future] | None = field(default=None, init=False)
    _worker: ThreadPoolExecutor | None = field(default=None, init=False)
    connected: threading.Event = field(default_factory=threading.Event, init=False)
    # Publisher confirms on the consumer's channel: the stream's dead-lettered copies are confirmed before the
    # original is acked. A subclass that publishes only what may be lost (RPC replies) turns them off.
    confirm_deliveries: ClassVar[bool] = True
    # Deliveries decoded by `chassis.amqp_deliveries` instead of pika's frame machinery (decision 0018); a
    # subclass that reads pika's method and properties objects in its own `_on_message` turns it off.
    read_deliveries_directly: ClassVar[bool] = True
    _reader: DeliveryReader | None = field(default=None, init=False)

    # -- the loop ----------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        backoff = 0.2
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stream-{self.topology.queue}")
        try:
            self._run(stop, backoff)
        finally:
            self._worker.shutdown(wait=True)

    def _run(self, stop: threading.Event, backoff: float) -> None:
        while not stop.is_set():
            try:
                self._connect()
                backoff = 0.2
                self._consume(stop)
            except _BROKER_ERRORS as exc:
                log.warning("stream consumer lost the broker, reconnecting",
                            extra={"queue": self.topology.queue, "error": repr(exc), "retry_in": backoff})
            except self.transient as exc:
                log.warning("stream handler failed transiently, batch given back",
                            extra={"queue": self.topology.queue, "error": repr(exc), "retry_in": backoff})
            self._disconnect()
            stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff)
        self._disconnect()

    def _connect(self) -> None:
        params = pika.URLParameters(self.amqp_uri)
        params.heartbeat = 30
        params.blocked_connection_timeout = 30
        params.socket_timeout = 5
        self._connection = pika.BlockingConnection(params)
        channel = self._connection.channel()
        self.topology.declare(channel)
        if self.confirm_deliveries:
            channel.confirm_delivery()
        channel.basic_qos(prefetch_count=self.prefetch)
        # The reader is in place before the consumer exists, so every delivery takes the same path, in order.
        tag = f"ctag{channel.channel_number}.{uuid.uuid4().hex}"
        self._pending = []  # before consuming: the reader delivers while `basic_consume` waits for its answer
        if self.read_deliveries_directly:
            self._reader = DeliveryReader(self._connection, channel.channel_number, tag, self._on_delivery)
        channel.basic_consume(self.topology.queue, self._on_message, consumer_tag=tag)
        self._channel = channel
        CONNECTED.labels(self.topology.queue).set(1)
        self.connected.set()

    def _disconnect(self) -> None:
        self.connected.clear()
        CONNECTED.labels(self.topology.queue).set(0)
        if self._in_flight is not None:
            # Let the handler finish before the batch is redelivered, so a batch never runs twice at once; its
            # ack is lost with the connection and the redelivery changes nothing.
            _, _, future = self._in_flight
            self._in_flight = None
            try:
                future.result()
            except Exception:  # noqa: BLE001 (already failing over; the batch will be redelivered)
                pass
        if self._reader is not None:
            self._reader.uninstall()  # closing cancels the consumer: what arrives after is pika's to refuse
            self._reader = None
        connection, self._connection, self._channel = self._connection, None, None
        self._pending = []  # unacked messages return to the queue when the connection closes
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except _BROKER_ERRORS:
                pass

    def _on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self._pending.append(StreamMessage(
            body=body, message_id=properties.message_id, headers=dict(properties.headers or {}),
            timestamp=properties.timestamp, redelivered=method.redelivered, delivery_tag=method.delivery_tag))

    def _on_delivery(self, delivery_tag: int, redelivered: bool, routing_key: Any, correlation_id: Any,
                     reply_to: Any, message_id: Any, headers: dict[str, Any] | None, timestamp: int | None,
                     body: bytes) -> None:
        self._pending.append(StreamMessage(body, message_id, headers or {}, timestamp, redelivered, delivery_tag))

    def _consume(self, stop: threading.Event) -> None:
        deadline: float | None = None  # when a partial batch stops waiting for more messages
        while not stop.is_set():
            if self._in_flight is not None and self._in_flight[2].done():
                self._finish()
            if self._pending and deadline is None:
                deadline = time.monotonic() + self.max_wait
            due = deadline is not None and (len(self._pending) >= self.batch_size or time.monotonic() >= deadline)
            if due and self._in_flight is None:
                batch, self._pending = self._pending[:self.batch_size], self._pending[self.batch_size:]
                deadline = None
                self._start(batch)
                continue
            # Wait for messages, the partial batch's deadline, or the worker's "done" (which wakes this up).
            wait = 0.2 if deadline is None or self._in_flight is not None else max(0.0, deadline - time.monotonic())
            self._connection.process_data_events(time_limit=wait)
        if self._in_flight is not None:
            # Stopping: the batch being handled is acknowledged; what was only received goes back to the queue.
            self._in_flight[2].exception()
            self._finish()

    # -- one batch ---------------------------------------------------------------------------------
    def _start(self, batch: list[StreamMessage]) -> None:
        assert self._worker is not None
        queue = self.topology.queue
        BATCH_SIZE.labels(queue).observe(len(batch))
        stamps = [m.timestamp for m in batch if m.timestamp]
        if stamps:
            LAG_SECONDS.labels(queue).observe(max(0.0, time.time() - min(stamps)))
        connection = self._connection
        future = self._worker.submit(self._handle, batch)
        # Wake the consumer loop as soon as the batch is done (pika's only thread-safe call).
        future.add_done_callback(lambda _: _wake(connection))
        self._in_flight = (batch, time.monotonic(), future)

    def _handle(self, batch: list[StreamMessage]) -> dict[int, str]:
        """On the worker thread: the handler, in one span linked to every message's trace."""
        links = [Link(span.get_span_context()) for span in _remote_spans(batch)]
        with telemetry.tracer().start_as_current_span(f"stream {self.topology.queue}", kind=SpanKind.CONSUMER,
                                                      links=links) as span:
            span.set_attribute("messaging.batch.message_count", len(batch))
            return self._apply(batch)

    def _finish(self) -> None:
        """On the consumer thread: dead-letter what the handler refused, then acknowledge the batch."""
        assert self._in_flight is not None
        batch, started, future = self._in_flight
        self._in_flight = None
        poison = future.result()  # a transient failure propagates: the batch is given back
        queue = self.topology.queue
        for index, reason in sorted(poison.items()):
            self._dead_letter(batch[index], reason)
        self._channel.basic_ack(batch[-1].delivery_tag, multiple=True)
        MESSAGES.labels(queue, "applied").inc(len(batch) - len(poison))
        if poison:
            MESSAGES.labels(queue, "dead-lettered").inc(len(poison))
        BATCH_SECONDS.labels(queue).observe(time.monotonic() - started)

    def _apply(self, batch: Sequence[StreamMessage]) -> dict[int, str]:
        """Run the handler; when it raises, split the batch until the message that makes it fail is alone."""
        try:
            return dict(self.handler(batch))
        except self.transient:
            raise
        except Exception as exc:
            if len(batch) == 1:
                log.exception("stream message refused by its handler", extra={"queue": self.topology.queue})
                return {0: f"{type(exc).__name__}: {exc}"}
        middle = len(batch) // 2
        first = self._apply(batch[:middle])
        second = self._apply(batch[middle:])
        return {**first, **{middle + i: reason for i, reason in second.items()}}

    def _dead_letter(self, message: StreamMessage, reason: str) -> None:
        log.warning("dead-lettering a stream message",
                    extra={"queue": self.topology.queue, "message_id": message.message_id, "reason": reason})
        self._channel.basic_publish(
            DEAD_LETTER_EXCHANGE, self.topology.queue, message.body,
            pika.BasicProperties(message_id=message.message_id, delivery_mode=pika.DeliveryMode.Persistent,
                                 headers={**message.headers, REASON_HEADER: reason[:1000]},
                                 timestamp=message.timestamp, content_type="application/json"))


def _wake(connection: Any) -> None:
    try:
        connection.add_callback_threadsafe(lambda: None)
    except _BROKER_ERRORS:
        pass  # the connection is gone; the consumer loop notices on its own


def _remote_spans(batch: Sequence[StreamMessage]) -> list[Any]:
    spans = []
    for message in batch:
        context = telemetry.context_from(message.traceparent)
        if context is not None:
            span = trace.get_current_span(context)
            if span.get_span_context().is_valid:
                spans.append(span)
    return spans


# -- health and metrics for a process that has no web framework --------------------------------------

class HealthServer:
    """`/health/live`, `/health/ready` (the readiness callable decides) and `/metrics` on a port."""

    def __init__(self, host: str, port: int, ready: Callable[[], tuple[bool, dict[str, Any]]]):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path == "/health/live":
                    self._send(200, "application/json", json.dumps({"status": "live"}).encode())
                elif self.path == "/health/ready":
                    ok, checks = server.ready()
                    body = json.dumps({"status": "ready" if ok else "not ready", "checks": checks}).encode()
                    self._send(200 if ok else 503, "application/json", body)
                elif self.path == "/metrics":
                    body, content_type = metrics.render()
                    self._send(200, content_type, body)
                else:
                    self._send(404, "application/json", b'{"status": 404}')

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.ready = ready
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="health")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(settings: Settings, consumer: StreamConsumer) -> None:
    """Run a stream consumer as a process: health and metrics on HEALTH_PORT, until SIGTERM or SIGINT.

    Ready means MongoDB answers and the consumer holds its broker connection."""
    from chassis import heap
    from chassis.health import mongo_ok

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def ready() -> tuple[bool, dict[str, Any]]:
        mongo, detail = mongo_ok()
        amqp = consumer.connected.is_set()
        return mongo and amqp, {"mongodb": detail, "amqp": "ok" if amqp else "not connected"}

    health = HealthServer(settings.http_host, settings.health_port, ready)
    health.start()
    heap.settle()  # start-up is done: its objects leave the collector's full walks (chassis.heap)
    log.info("stream consumer starting", extra={"queue": consumer.topology.queue, "health_port": settings.health_port})
    try:
        consumer.run(stop)
    finally:
        health.stop()
        telemetry.shutdown()

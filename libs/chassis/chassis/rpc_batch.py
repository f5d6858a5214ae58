"""An RPC server that answers nameko RPC calls in batches, outside nameko (pika, no eventlet).

Callers keep using `RpcClient.call(service, method, ...)` unchanged: this consumer speaks nameko's AMQP RPC
wire protocol (decision 0407). It consumes the durable queue `rpc-<service>` bound to the `nameko-rpc` topic
exchange with `<service>.*`, reads `{"args": [...], "kwargs": {...}}` bodies, and answers each request on the
`nameko-rpc` exchange with the request's `reply_to` as routing key and its `correlation_id`, with nameko's
`{"result": ..., "error": ...}` body, so typed errors (`chassis.errors`) are rebuilt on the caller's side.

Unlike a nameko worker (one green thread and one transaction per call), the handler receives every request
that arrived while the previous batches were handled at once and can apply them together (group commit). It
rides on the stream consumer's connection handling (`chassis.stream.StreamConsumer`), including its reading of
deliveries off the socket (`chassis.amqp_deliveries`, decision 0020: routing key, reply-to, correlation id,
headers and timestamp decoded there, not by pika's frame machinery). With `parallel=1` the
consumer thread handles each batch itself: no hand-off to another thread, and the requests that arrive
meanwhile wait in the socket and are read in one go. With `parallel` > 1 up to that many batches are in flight
on worker threads: a request that finds a free worker is handled at once instead of waiting for the batch
before it; while every worker is busy the consumer thread waits for one to finish, not for the socket, so it
is not woken once per arriving request (decision 0016).

When a batch's handler returns, every reply is published and then the batch's requests are acknowledged: the
replies and the ack are encoded here (`chassis.amqp_frames`) and written in that order as one buffer, one
`send` per batch, where pika's `basic_publish` flushes and polls once per reply and sends every frame on its
own. A crash before the ack redelivers the requests, so handlers must be idempotent (a redelivered request
gets the answer the first one got, or the same effect). Acknowledgements go out with `multiple=True` up to
the oldest request still unanswered (batches finish in any order; one ack covers every batch answered before
it).
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import pika
import pika.exceptions

from chassis import amqp_frames, metrics
from chassis.errors import PlatformError
from chassis.nameko_adapter import RPC_EXCHANGE, malformed_request, rpc_queue, serialize_error
from chassis.stream import BATCH_SECONDS, BATCH_SIZE, StreamConsumer, _wake

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class RpcRequest:
    """One call: `method(*args, **kwargs)`; `problem` is set when the message is not a usable call."""

    method: str
    args: list[Any]
    kwargs: dict[str, Any]
    reply_to: str | None
    correlation_id: str | None
    headers: dict[str, Any]
    delivery_tag: int
    redelivered: bool
    problem: BaseException | None = None
    timestamp: int | None = None

    @property
    def traceparent(self) -> str | None:
        return self.headers.get("nameko.traceparent")


class _Flight:
    """A batch being handled: its requests, when it started and, once `done`, the handler's answers (or the
    exception it raised)."""

    __slots__ = ("batch", "started", "answers", "failure", "done")

    def __init__(self, batch: list[RpcRequest]):
        self.batch, self.started = batch, time.monotonic()
        self.answers: list[Any] = []
        self.failure: BaseException | None = None
        self.done = False

    def run(self, handle: Callable[[Any], Any]) -> None:
        try:
            self.answers = handle(self.batch)
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer thread, which raises it)
            self.failure = exc
        finally:
            self.done = True

    def result(self) -> list[Any]:
        if self.failure is not None:
            raise self.failure
        return self.answers


# A handler answers a batch: one item per request, in order, either the result or the (typed) error.
BatchRpcHandler = Callable[[Sequence[RpcRequest]], list[Any]]


@dataclass(frozen=True)
class RpcTopology:
    """nameko's RPC topology of one service: `rpc-<service>` bound to `nameko-rpc` with `<service>.*`."""

    service: str

    @property
    def queue(self) -> str:
        return rpc_queue(self.service)

    def declare(self, channel: Any) -> None:
        channel.exchange_declare(RPC_EXCHANGE, exchange_type="topic", durable=True)
        channel.queue_declare(self.queue, durable=True)
        channel.queue_bind(self.queue, RPC_EXCHANGE, routing_key=f"{self.service}.*")


@dataclass
class BatchRpcServer(StreamConsumer):
    """`BatchRpcServer(amqp_uri, RpcTopology(service), handler, batch_size, prefetch, max_wait, transient)`;
    `parallel` batches at most are handled at once."""

    parallel: int = 1
    # As the stream's connection, without publisher confirms: a reply lost with the broker makes the caller time
    # out and retry, and the request (not yet acknowledged) is redelivered and answered again.
    confirm_deliveries: ClassVar[bool] = False
    _pending: list[Any] = field(default_factory=list, init=False)  # RpcRequests
    # Delivery tags not yet acknowledged, in delivery order, and those of them already answered.
    _unacked: deque[int] = field(default_factory=deque, init=False)
    _answered: set[int] = field(default_factory=set, init=False)
    # Metric children by label values, looked up once instead of per request.
    _counters: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)
    _timers: dict[str, Any] = field(default_factory=dict, init=False)

    def run(self, stop: threading.Event) -> None:
        self._flights: list[_Flight] = []
        self._finished = threading.Event()  # set by a worker thread when its batch is done
        self._jobs: queue.SimpleQueue[tuple[_Flight, Any] | None] = queue.SimpleQueue()
        # parallel 1: the consumer thread handles each batch itself (no hand-off to a thread).
        workers = [threading.Thread(target=self._work, name=f"rpc-{self.topology.queue}-{n}")
                   for n in range(self.parallel if self.parallel > 1 else 0)]
        for worker in workers:
            worker.start()
        try:
            self._run(stop, 0.2)
        finally:
            for _ in workers:
                self._jobs.put(None)
            for worker in workers:
                worker.join()

    def _consume(self, stop: threading.Event) -> None:
        deadline: float | None = None  # when a partial batch stops waiting for more requests
        while not stop.is_set():
            self._finished.clear()  # before looking: a batch that finishes after the look sets it again
            for flight in [f for f in self._flights if f.done]:
                self._flights.remove(flight)
                self._answer(flight)
            if self._pending and deadline is None:
                deadline = time.monotonic() + self.max_wait
            free = len(self._flights) < self.parallel
            due = deadline is not None and (len(self._pending) >= self.batch_size or time.monotonic() >= deadline)
            if free and self._pending and due:
                batch, self._pending = self._pending[:self.batch_size], self._pending[self.batch_size:]
                deadline = None
                self._launch(batch)
                continue
            if not free:
                # Every worker busy: wait for one to finish, not for the socket. Requests arriving meanwhile are
                # then read in one go instead of waking this thread (and pika's loop) once each.
                if not self._finished.wait(0.2):
                    self._connection.process_data_events(0)  # heartbeats while a batch takes long
                continue
            wait = 0.2 if deadline is None else max(0.0, deadline - time.monotonic())
            self._connection.process_data_events(time_limit=wait)
        while self._flights:  # stopping: what is being handled is answered; what was only received goes back
            flight = self._flights.pop(0)
            self._until_done(flight)
            self._answer(flight)

    def _launch(self, batch: list[Any]) -> None:
        BATCH_SIZE.labels(self.topology.queue).observe(len(batch))
        flight = _Flight(batch)
        self._flights.append(flight)
        if self.parallel == 1:
            flight.run(self._handle)
        else:
            self._jobs.put((flight, self._connection))

    def _work(self) -> None:
        """A worker thread: handles the batches it is given until it gets None."""
        while (job := self._jobs.get()) is not None:
            flight, connection = job
            flight.run(self._handle)
            self._finished.set()
            _wake(connection)  # the consumer may be waiting for the socket (pika's only thread-safe call)

    def _until_done(self, flight: _Flight) -> None:
        while not flight.done:
            self._finished.wait(0.05)

    def _disconnect(self) -> None:
        # Let the handlers finish before their requests are redelivered, so a request never runs twice at once;
        # the acks are lost with the connection and a redelivered request changes nothing.
        for flight in getattr(self, "_flights", []):
            self._until_done(flight)
        self._flights = []
        super()._disconnect()

    def _connect(self) -> None:
        super()._connect()
        self._unacked, self._answered = deque(), set()  # delivery tags count per channel

    def _on_delivery(self, delivery_tag: int, redelivered: bool, routing_key: Any, correlation_id: Any,
                     reply_to: Any, message_id: Any, headers: dict[str, Any] | None, timestamp: int | None,
                     body: bytes) -> None:
        """A request as `chassis.amqp_deliveries` reads it off the socket (decision 0020)."""
        self._unacked.append(delivery_tag)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        problem: BaseException | None = None
        try:
            decoded = json.loads(body)
            args, kwargs = decoded["args"], decoded["kwargs"]  # fresh from the decoder: no copies needed
            if type(args) is not list or type(kwargs) is not dict:
                raise TypeError("args must be an array and kwargs an object")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            args, kwargs, problem = [], {}, malformed_request(f"not an RPC call: {exc}")
        if type(routing_key) is str:
            method = routing_key.rpartition(".")[2]
        else:  # octets that are not UTF-8 (decoded as pika does): no method has such a name; refused, not crashed on
            method, args, kwargs, problem = "", [], {}, malformed_request("the routing key is not UTF-8")
        self._pending.append(RpcRequest(method, args, kwargs, reply_to, correlation_id,
                                        headers or {}, delivery_tag, redelivered, problem, timestamp))

    def _on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """A request that pika decoded: one the reader left to it (not laid out as expected) or one received
        before the reader was installed (none, in practice)."""
        self._on_delivery(method.delivery_tag, method.redelivered, method.routing_key, properties.correlation_id,
                          properties.reply_to, properties.message_id, properties.headers, properties.timestamp, body)

    def _apply(self, batch: Sequence[Any]) -> Any:
        """The handler's answers; a handler that fails for no transient reason fails every request of the
        batch with an internal error (it never leaves a caller waiting)."""
        try:
            answers = list(self.handler(batch))
        except self.transient:
            raise
        except Exception as exc:
            log.exception("RPC batch handler failed", extra={"queue": self.topology.queue})
            return [PlatformError(f"{type(exc).__name__}: {exc}")] * len(batch)
        if len(answers) != len(batch):
            raise RuntimeError(f"the handler answered {len(answers)} of {len(batch)} requests")
        return answers

    def _answer(self, flight: _Flight) -> None:
        """On the consumer thread: reply to every request, then acknowledge them: the replies and the ack are
        written in this order in one buffer (`chassis.amqp_frames`), so the broker has every reply before the
        ack, and a batch costs one `send` instead of a flush and a poll per reply."""
        batch, answers = flight.batch, flight.result()  # a transient failure propagates: the batch is given back
        channel = self._channel.channel_number
        frames = []
        for request, answer in zip(batch, answers, strict=True):
            error = answer if isinstance(answer, BaseException) else None
            self._counter(request.method, "ok" if error is None else type(error).__name__).inc()
            if request.reply_to is None:
                continue  # nobody waits (nameko's callers always set reply_to)
            frames.append(amqp_frames.json_reply(channel, RPC_EXCHANGE, request.reply_to, request.correlation_id,
                                                 reply_body(answer)))
        last = self._acknowledgeable(request.delivery_tag for request in batch)
        if last is not None:
            frames.append(amqp_frames.ack(channel, last, multiple=True))
        self._write(frames)
        elapsed = time.monotonic() - flight.started
        BATCH_SECONDS.labels(self.topology.queue).observe(elapsed)
        for request in batch:
            self._timer(request.method).observe(elapsed)

    def _acknowledgeable(self, tags: Any) -> int | None:
        """The tag to acknowledge (`multiple`) now that `tags` are answered: every request answered so far that
        no unanswered one precedes. A batch finished before an older one waits for it (batches never overtake by
        much: `parallel`)."""
        self._answered.update(tags)
        last = None
        while self._unacked and self._unacked[0] in self._answered:
            last = self._unacked.popleft()
            self._answered.discard(last)
        return last

    def _write(self, frames: list[bytes]) -> None:
        """Hand the frames to pika's transport as one buffer and send it now. pika has no public call for
        frames encoded elsewhere: this uses its connection's internals (pika is pinned; the integration tests
        exercise it)."""
        if not frames:
            return
        if not (self._connection.is_open and self._channel.is_open):
            raise pika.exceptions.ChannelWrongStateError("the consumer's channel is closed")
        self._connection._impl._adapter_emit_data(b"".join(frames))
        self._connection._flush_output()

    def _counter(self, method: str, outcome: str) -> Any:
        child = self._counters.get((method, outcome))
        if child is None:
            service = cast(RpcTopology, self.topology).service
            child = self._counters[(method, outcome)] = metrics.RPC_CALLS.labels(service, method, outcome)
        return child

    def _timer(self, method: str) -> Any:
        child = self._timers.get(method)
        if child is None:
            service = cast(RpcTopology, self.topology).service
            child = self._timers[method] = metrics.RPC_SECONDS.labels(service, method)
        return child


def reply_body(answer: Any) -> bytes:
    """nameko's reply body: `{"result": ..., "error": null}` or `{"result": null, "error": {...}}`."""
    if isinstance(answer, BaseException):
        return json.dumps({"result": None, "error": serialize_error(answer)}).encode()
    try:
        return json.dumps({"result": answer, "error": None}).encode()
    except (TypeError, ValueError) as exc:
        return json.dumps({"result": None, "error": serialize_error(PlatformError(f"unserializable: {exc}"))}).encode()

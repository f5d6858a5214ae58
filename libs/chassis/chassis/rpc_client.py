"""A lean RPC client for processes that do not run eventlet: nameko's AMQP RPC protocol on one pika connection.

`AmqpRpcClient(amqp_uri, timeout)`:
- `call_async(service, method, *args, **kwargs)` sends the request and returns a `concurrent.futures.Future` at
  once; its result is the decoded answer, its exception the service's typed error, or `Unavailable` for a service
  nobody serves, a timeout or a broker that is away. One thread can keep any number of calls in flight (decision
  0017). Every failure is the future's, never raised by `call_async` itself, so a caller handles errors in one
  place; only the first call (and the first after the broker was lost) waits while the connection opens.
- `call(...)` is `call_async(...).result()`: the result or the error raised, exactly as the nameko-based pool
  (`chassis.nameko_adapter.NamekoRpcPool`) does.
It calls nameko workers and `chassis.rpc_batch.BatchRpcServer` alike (decision 0015).
`chassis.nameko_adapter.RpcClient` chooses it in every process that does not run eventlet.

Futures complete on the client's I/O thread, so their done callbacks run there: they must be short and must not
block. `call_async` from a done callback is fine (that is how a caller chains calls without a thread of its
own; only after the broker was lost does it wait, for the new connection); `call` from one raises
`RuntimeError` (it would wait for the thread it blocks).

How it works, and why it is cheap (one connection instead of a pool of nameko standalone proxies, each with its
own connection, reply queue and a synchronous publisher-confirm round trip per call):
- One asynchronous connection (pika's `SelectConnection`) owned by one I/O thread running its event loop;
  callers never touch pika (it is not thread-safe). A caller puts its request on an outbox and, unless a wake-up
  is already on its way, wakes the I/O thread (the event loop's only thread-safe call); the I/O thread publishes
  everything waiting at once, in one write (decision 0021).
- Requests are encoded here (`chassis.amqp_frames`: the bytes pika would send, with each method's
  `basic.publish` frame encoded once) by the caller, outside the lock, and the I/O thread sends them at once when
  nothing else waits to be sent, instead of leaving them to pika's transport for the loop's next turn.
- One exclusive, auto-delete reply queue bound to the `nameko-rpc` exchange with a routing key of its own (the
  request's `reply_to`: nameko servers publish replies to that exchange with that key). Replies are consumed
  without acknowledgements and read straight off the receive buffer by the consumers' delivery reader
  (`chassis.amqp_deliveries`, decisions 0018 and 0021); the correlation id (a counter: the reply queue is this
  connection's alone) finds the call, whose future the I/O thread completes with the decoded answer.
- Timeouts need no waiting caller: calls are kept in the order they were sent, which with one timeout per client
  is the order of their deadlines, and one timer on the I/O thread, set for the oldest call's deadline, fails
  whatever is overdue with `Unavailable` (a late reply then finds nobody and is dropped).
- Requests are published `mandatory`: the broker returns a request no queue takes (`basic.return`), which is
  answered at once with `Unavailable("<service> is not running")`, the same answer nameko's confirm-and-check
  gives, without a confirm round trip per call. No publisher confirms: a request lost with the broker fails its
  caller when the connection drops (or when the caller's timeout passes), and the caller gets `Unavailable`
  either way; a confirm would add a broker round trip and broker work to every call and tell it nothing more.
- Requests are transient: a request is worth nothing once its caller stopped waiting (the caller has its
  `Unavailable` when the broker goes away), and a persistent one would be executed after a broker restart for
  a caller long gone.
- The broker lost: every call in flight fails with `Unavailable`; the next call connects again. While the
  broker stays away, calls fail fast: one connection attempt at a time, and none again for a moment after one
  failed.
- The call's client span is built only where spans are exported (`telemetry.exported_tracer`); the request
  carries the `traceparent` of that span, or of the caller's current span, as before.
- JSON as nameko's `json` serializer writes and reads it (kombu's encoder and its type markers), with one
  encoder and one decoder for the process instead of new ones per call; a reply that cannot hold a type
  marker is decoded without kombu's Python hook.
"""
from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pika
import pika.exceptions
from kombu.utils import json as kombu_json
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pika.adapters.utils.io_services_utils import _AsyncPlaintextTransport

from chassis import amqp_frames, telemetry
from chassis.amqp_deliveries import DeliveryReader
from chassis.errors import Unavailable
from chassis.nameko_adapter import RPC_EXCHANGE, remote_error

log = logging.getLogger(__name__)

# After a failed connection attempt, calls fail without trying again for this long (a broker that is away).
RECONNECT_PAUSE_SECONDS = 0.5
# The longest a caller waits for a connection to open (pika's own socket and handshake timeouts end it sooner).
CONNECT_SECONDS = 20.0
_BROKER_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)
# nameko's `json` serializer is kombu's: its encoder (Decimal, datetime, UUID ... with type markers) and decoder.
_ENCODER = kombu_json.JSONEncoder()
_DECODER = json.JSONDecoder(object_hook=kombu_json.object_hook)
# kombu's hook only changes an object whose keys are exactly "__type__" and "__value__"; a reply whose text has
# neither that key nor a \u escape (which could spell it) cannot hold one, and C's decoder without a hook (no
# Python call per object) gives the same values.
_PLAIN_DECODER = json.JSONDecoder()
# A request is three frames or more (method, content header, body); pika's counter is reported, not checked.
_FRAMES_PER_REQUEST = 3


class _Call:
    __slots__ = ("service", "method", "correlation_id", "future", "deadline", "span")

    def __init__(self, service: str, method: str, correlation_id: str, deadline: float, span: Span):
        self.service, self.method, self.correlation_id = service, method, correlation_id
        self.deadline, self.span = deadline, span
        self.future: Future[Any] = Future()
        self.future.set_running_or_notify_cancel()  # a request on its way cannot be taken back

    def answered(self, body: bytes) -> None:
        try:
            text = body.decode()
            typed = "__type__" in text or "\\u" in text
            answer = (_DECODER if typed else _PLAIN_DECODER).decode(text)
            error = answer.get("error")
            outcome = None if error is None else remote_error(self.service, self.method, error)
        except Exception as exc:  # a malformed reply is this caller's error, not the I/O thread's
            outcome = exc
        if outcome is None:
            self.span.end()
            self.future.set_result(answer.get("result"))
        else:
            self.failed(outcome)

    def failed(self, error: BaseException) -> None:
        if self.span.is_recording():
            self.span.record_exception(error)
            self.span.set_status(Status(StatusCode.ERROR, str(error)))
        self.span.end()
        self.future.set_exception(error)


class _Link:
    """One connection and its reply queue, driven by its own I/O thread until the broker is lost or it is
    closed. Calls in flight when it ends fail with `Unavailable`."""

    def __init__(self, amqp_uri: str, timeout: float):
        self.params = pika.URLParameters(amqp_uri)
        self.params.heartbeat = 30
        self.params.blocked_connection_timeout = 30
        self.params.socket_timeout = 5
        self.params.client_properties = {"connection_name": "chassis rpc client"}
        self.timeout = timeout
        self.reply_to = str(uuid.uuid4())
        self.queue = f"rpc.reply-chassis-{self.reply_to}"
        self.consumer_tag = f"chassis-rpc-client-{self.reply_to}"
        self.lock = threading.Lock()
        self.calls: dict[str, _Call] = {}  # in the order sent, which is the order of their deadlines
        self.outbox: deque[tuple[_Call, bytes]] = deque()  # each call's request, encoded
        self.methods: dict[tuple[str, str], bytes] = {}  # each method's basic.publish frame, encoded once
        self.woken = False  # a wake-up is on its way to the I/O thread: callers need not send another
        self.alive = False
        self.closing = False
        self.ids = itertools.count()
        self.ready = threading.Event()  # set once consuming replies, or once it failed to get there
        self.failure: BaseException | None = None
        self.connection: pika.SelectConnection | None = None
        self.channel: Any = None
        self.sweep: Any = None  # the timer set for the oldest call's deadline
        self.thread = threading.Thread(target=self._run, name="rpc-client-io", daemon=True)
        self.thread.start()
        if not self.ready.wait(CONNECT_SECONDS):
            self.close()
            raise pika.exceptions.AMQPConnectionError(f"no connection within {CONNECT_SECONDS:g}s")
        if self.failure is not None:
            self.thread.join(5)
            raise self.failure

    # -- callers' side (any thread) ------------------------------------------------------------------
    def send(self, service: str, method: str, body: bytes, headers: dict[str, Any], span: Span) -> _Call:
        on_io_thread = threading.current_thread() is self.thread
        if not self.alive:
            raise Unavailable("message broker unreachable: the connection was lost")
        call = _Call(service, method, str(next(self.ids)), 0.0, span)
        request = self._request(call, body, headers)
        with self.lock:
            if not self.alive:
                raise Unavailable("message broker unreachable: the connection was lost")
            call.deadline = time.monotonic() + self.timeout  # taken in the lock: calls stay in deadline order
            self.calls[call.correlation_id] = call
            self.outbox.append((call, request))
            wake = not self.woken and not on_io_thread
            self.woken = self.woken or wake
        if on_io_thread:
            self._publish_waiting()  # a done callback chaining a call: no wake-up needed, pika is ours here
        elif wake:
            self._wake(self._publish_waiting)
        return call

    def _request(self, call: _Call, body: bytes, headers: dict[str, Any]) -> bytes:
        """The request's frames as pika would have encoded them (`chassis.amqp_frames`): a mandatory
        `basic.publish` to the service's method and a transient JSON message with the headers, the call's
        correlation id and this link's reply-to."""
        channel = self.channel.channel_number
        publish = self.methods.get((call.service, call.method))
        if publish is None:
            publish = amqp_frames.publish(channel, RPC_EXCHANGE, f"{call.service}.{call.method}", mandatory=True)
            self.methods[call.service, call.method] = publish
        return publish + amqp_frames.json_content(channel, body, headers, call.correlation_id, self.reply_to)

    def close(self) -> None:
        self.closing = True
        self._wake(self._shut_down)
        if self.thread is not threading.current_thread():
            self.thread.join(10)

    def _wake(self, callback: Callable[[], None]) -> None:
        connection = self.connection
        if connection is None:
            return
        try:
            connection.ioloop.add_callback_threadsafe(callback)
        except Exception:  # noqa: BLE001 - the event loop is gone: its thread failed the calls in flight
            pass

    # -- the I/O thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self.connection = pika.SelectConnection(
                self.params, on_open_callback=self._on_open, on_open_error_callback=self._on_open_error,
                on_close_callback=self._on_closed)
            self.connection.ioloop.start()
        except Exception as exc:  # noqa: BLE001 - pika itself failed: end as if the broker were lost
            log.warning("RPC client I/O thread failed", extra={"error": repr(exc)})
            self._ended(exc)
        finally:
            self._ended(pika.exceptions.AMQPConnectionError("the connection ended"))
            if self.connection is not None:
                try:
                    self.connection.ioloop.close()
                except Exception:  # noqa: BLE001 - nothing left to release
                    pass

    def _on_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel: Any) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.exchange_declare(RPC_EXCHANGE, exchange_type="topic", durable=True,
                                 callback=lambda _: channel.queue_declare(
                                     self.queue, exclusive=True, auto_delete=True, callback=self._on_queue))

    def _on_queue(self, _: Any) -> None:
        self.channel.queue_bind(self.queue, RPC_EXCHANGE, routing_key=self.reply_to, callback=self._on_bound)

    def _on_bound(self, _: Any) -> None:
        # Replies are read straight off the receive buffer (decisions 0018, 0021); pika sees every other frame.
        DeliveryReader(self.connection, self.channel.channel_number, self.consumer_tag, self._on_delivery)
        self.channel.basic_consume(self.queue, self._on_reply, auto_ack=True, consumer_tag=self.consumer_tag,
                                   callback=self._on_consuming)

    def _on_consuming(self, _: Any) -> None:
        with self.lock:
            self.alive = not self.closing
        self.ready.set()
        if self.closing:
            self._shut_down()

    def _on_open_error(self, connection: Any, error: BaseException) -> None:
        self.failure = error if isinstance(error, _BROKER_ERRORS) else pika.exceptions.AMQPConnectionError(error)
        self._ended(self.failure)
        connection.ioloop.stop()

    def _on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        # A channel the broker closed (or one closed with the connection): this link is done either way.
        if not self.ready.is_set():
            self.failure = reason
        if self.connection is not None and not (self.connection.is_closing or self.connection.is_closed):
            self.connection.close()

    def _on_closed(self, connection: Any, reason: BaseException) -> None:
        if not self.ready.is_set() and self.failure is None:
            self.failure = reason
        elif not self.closing:
            log.warning("RPC client lost the broker", extra={"error": repr(reason)})
        self._ended(reason)
        connection.ioloop.stop()

    def _shut_down(self) -> None:
        connection = self.connection
        if connection is None:
            return
        if connection.is_closing or connection.is_closed:
            connection.ioloop.stop()
        else:
            connection.close()

    def _ended(self, reason: BaseException) -> None:
        """Fail every call in flight (once the link is no longer alive, nobody adds one)."""
        with self.lock:
            self.alive = False
            calls, self.calls = self.calls, {}
            self.outbox.clear()
        self.ready.set()
        failure = "the RPC client was closed" if self.closing else f"message broker unreachable: {reason!r}"
        for call in calls.values():
            call.failed(Unavailable(failure))

    def _publish_waiting(self) -> None:
        with self.lock:
            self.woken = False
            waiting, self.outbox = self.outbox, deque()
        if not waiting:
            return
        connection = self.connection
        if connection is not None and connection.is_open and self.channel.is_open:
            _write(connection, b"".join(request for _, request in waiting), len(waiting) * _FRAMES_PER_REQUEST)
        else:
            for call, _ in waiting:  # the connection is closing: its end fails what is still in flight
                if self._take(call.correlation_id) is not None:
                    call.failed(Unavailable("message broker unreachable: the connection is closing"))
        self._set_sweep()

    def _set_sweep(self) -> None:
        if self.sweep is not None or not self.calls:
            return
        with self.lock:
            oldest = next(iter(self.calls.values()), None)
        if oldest is not None and self.connection is not None:
            delay = max(oldest.deadline - time.monotonic(), 0.0)
            self.sweep = self.connection.ioloop.call_later(delay, self._fail_overdue)

    def _fail_overdue(self) -> None:
        self.sweep = None
        now = time.monotonic()
        overdue = []
        with self.lock:
            for call in self.calls.values():
                if call.deadline > now:
                    break
                overdue.append(call)
            for call in overdue:
                del self.calls[call.correlation_id]
        for call in overdue:
            call.failed(Unavailable(f"{call.service} did not answer within {self.timeout:g}s"))
        self._set_sweep()

    def _take(self, correlation_id: str | None) -> _Call | None:
        with self.lock:
            return self.calls.pop(correlation_id, None) if correlation_id is not None else None

    def _on_delivery(self, delivery_tag: int, redelivered: bool, routing_key: Any, correlation_id: Any,
                     reply_to: Any, message_id: Any, headers: Any, timestamp: Any, body: bytes) -> None:
        call = self._take(correlation_id)
        if call is not None:  # else: its caller's timeout passed
            call.answered(body)

    def _on_reply(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """A reply the delivery reader left to pika (a layout it does not decode)."""
        call = self._take(properties.correlation_id)
        if call is not None:
            call.answered(body)

    def _on_return(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        call = self._take(properties.correlation_id)
        if call is not None:
            call.failed(Unavailable(f"{call.service} is not running"))


def _write(connection: pika.SelectConnection, data: bytes, frames: int) -> None:
    """Every request waiting, in one write. Sent at once when nothing else waits to be sent (the usual case,
    the loop is ours): pika's transport would only buffer it, watch the socket for writability and send on
    the loop's next turn (two `epoll_ctl`s, a `poll` and a turn of the loop per write). What the socket does
    not take, or a socket that fails, goes to pika's transport, which sends it in order or reports the
    broken connection as it always does. A TLS connection always goes through pika."""
    connection.bytes_sent += len(data)
    connection.frames_sent += frames
    transport = connection._transport
    if (type(transport) is _AsyncPlaintextTransport and transport._state == transport._STATE_ACTIVE
            and not transport.get_write_buffer_size()):
        try:
            sent = transport._sock.send(data)
        except OSError:  # would block, or a broken socket pika's writer then reports
            sent = 0
        if sent == len(data):
            return
        data = data[sent:]
    connection._adapter_emit_data(data)


class AmqpRpcClient:
    """Thread-safe; `call_async(service, method, *args, **kwargs)` → Future, `call(...)` → result, `close()`.
    `size` is accepted for the nameko pool's signature and means nothing here: one connection carries any number
    of concurrent calls."""

    def __init__(self, amqp_uri: str, timeout: float = 10.0, size: int = 8):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self._link: _Link | None = None
        self._connecting = threading.Lock()
        self._failed_at = 0.0
        self._failure: BaseException | None = None

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        link = self._link
        if link is not None and link.thread is threading.current_thread():
            raise RuntimeError("call() in a done callback would block the RPC client's I/O thread: use call_async")
        future = self.call_async(service, method, *args, **kwargs)
        try:
            # The I/O thread fails the call at its deadline; this wait's own limit only guards against a bug there.
            return future.result(self.timeout + CONNECT_SECONDS)
        except FutureTimeout:
            raise Unavailable(f"{service} did not answer within {self.timeout:g}s") from None

    def call_async(self, service: str, method: str, *args: Any, **kwargs: Any) -> Future[Any]:
        span = telemetry.exported_tracer().start_span(f"rpc {service}.{method}", kind=SpanKind.CLIENT)
        try:
            traceparent = telemetry.traceparent_of(span)
            headers = {"nameko.traceparent": traceparent} if traceparent else {}
            body = _ENCODER.encode({"args": args, "kwargs": kwargs}).encode()
            return self._connected().send(service, method, body, headers, span).future
        except Exception as exc:  # noqa: BLE001 - every failure is the future's, as the module says
            call = _Call(service, method, "", 0.0, span)
            call.failed(exc)
            return call.future

    def _connected(self) -> _Link:
        link = self._link
        if link is not None and link.alive:
            return link
        with self._connecting:
            link = self._link
            if link is not None and link.alive:
                return link
            if time.monotonic() - self._failed_at < RECONNECT_PAUSE_SECONDS:
                raise Unavailable(f"message broker unreachable: {self._failure!r}")
            try:
                self._link = _Link(self.amqp_uri, self.timeout)
            except _BROKER_ERRORS as exc:
                self._failed_at, self._failure = time.monotonic(), exc
                raise Unavailable(f"message broker unreachable: {exc!r}") from exc
            return self._link

    def close(self) -> None:
        with self._connecting:
            link, self._link = self._link, None
        if link is not None:
            link.close()

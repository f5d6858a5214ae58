"""A lean RPC client for processes that do not run eventlet: nameko's AMQP RPC protocol on one pika connection.

`AmqpRpcClient(amqp_uri, timeout).call(service, method, *args, **kwargs)` returns the result or raises the
service's typed error, exactly as the nameko-based pool (`chassis.nameko_adapter.NamekoRpcPool`) does; a service
nobody serves, a timeout or a broker that is away raises `Unavailable`. It calls nameko workers and
`chassis.rpc_batch.BatchRpcServer` alike (decision 0015). `chassis.nameko_adapter.RpcClient` chooses it in every
process that does not run eventlet.

How it works, and why it is cheap (one connection instead of a pool of nameko standalone proxies, each with its
own connection, reply queue and a synchronous publisher-confirm round trip per call):
- One connection, owned by one I/O thread; callers never touch pika (it is not thread-safe). A caller puts its
  request on an outbox and wakes the I/O thread (pika's only thread-safe call), which publishes everything
  waiting at once and delivers replies.
- One exclusive, auto-delete reply queue bound to the `nameko-rpc` exchange with a routing key of its own (the
  request's `reply_to`: nameko servers publish replies to that exchange with that key). Replies are consumed
  without acknowledgements; the correlation id finds the waiting caller.
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
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pika
import pika.exceptions
from kombu.utils import json as kombu_json
from opentelemetry.trace import SpanKind

from chassis import telemetry
from chassis.errors import Unavailable
from chassis.nameko_adapter import RPC_EXCHANGE, remote_error

log = logging.getLogger(__name__)

# After a failed connection attempt, calls fail without trying again for this long (a broker that is away).
RECONNECT_PAUSE_SECONDS = 0.5
_BROKER_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)


class _Call:
    __slots__ = ("service", "correlation_id", "future")

    def __init__(self, service: str):
        self.service = service
        self.correlation_id = str(uuid.uuid4())
        self.future: Future[bytes] = Future()


class _Link:
    """One connection and its reply queue, driven by its own I/O thread until the broker is lost or it is
    closed. Calls in flight when it ends fail with `Unavailable`."""

    def __init__(self, amqp_uri: str):
        params = pika.URLParameters(amqp_uri)
        params.heartbeat = 30
        params.blocked_connection_timeout = 30
        params.socket_timeout = 5
        params.client_properties = {"connection_name": "chassis rpc client"}
        self.connection = pika.BlockingConnection(params)
        try:
            self.channel = self.connection.channel()
            self.channel.exchange_declare(RPC_EXCHANGE, exchange_type="topic", durable=True)
            self.reply_to = str(uuid.uuid4())
            queue = f"rpc.reply-chassis-{self.reply_to}"
            self.channel.queue_declare(queue, exclusive=True, auto_delete=True)
            self.channel.queue_bind(queue, RPC_EXCHANGE, routing_key=self.reply_to)
            self.channel.basic_consume(queue, self._on_reply, auto_ack=True)
            self.channel.add_on_return_callback(self._on_return)
        except BaseException:
            self.connection.close()
            raise
        self.lock = threading.Lock()
        self.calls: dict[str, _Call] = {}
        self.outbox: deque[tuple[str, bytes, pika.BasicProperties]] = deque()
        self.woken = False  # a wake-up is on its way to the I/O thread: callers need not send another
        self.alive = True
        self.closing = False
        self.thread = threading.Thread(target=self._run, name="rpc-client-io", daemon=True)
        self.thread.start()

    # -- callers' side -------------------------------------------------------------------------------
    def send(self, service: str, routing_key: str, body: bytes, headers: dict[str, Any]) -> _Call:
        call = _Call(service)
        properties = pika.BasicProperties(
            content_type="application/json", content_encoding="utf-8", reply_to=self.reply_to,
            correlation_id=call.correlation_id, headers=headers, delivery_mode=pika.DeliveryMode.Transient)
        with self.lock:
            if not self.alive:
                raise Unavailable("message broker unreachable: the connection was lost")
            self.calls[call.correlation_id] = call
            self.outbox.append((routing_key, body, properties))
            wake, self.woken = not self.woken, True
        if wake:
            self._wake()
        return call

    def forget(self, call: _Call) -> None:
        with self.lock:
            self.calls.pop(call.correlation_id, None)

    def close(self) -> None:
        self.closing = True
        self._wake()
        if self.thread is not threading.current_thread():
            self.thread.join(10)

    def _wake(self) -> None:
        try:
            self.connection.add_callback_threadsafe(lambda: None)
        except _BROKER_ERRORS:
            pass  # the connection is gone: the I/O thread fails the calls in flight

    # -- the I/O thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        reason: BaseException | None = None
        try:
            while not self.closing:
                self._publish_waiting()
                self.connection.process_data_events(time_limit=1.0)
        except _BROKER_ERRORS as exc:
            reason = exc
            log.warning("RPC client lost the broker", extra={"error": repr(exc)})
        finally:
            with self.lock:
                self.alive = False
                calls, self.calls = self.calls, {}
                self.outbox.clear()
            failure = "the RPC client was closed" if reason is None else f"message broker unreachable: {reason!r}"
            for call in calls.values():
                call.future.set_exception(Unavailable(failure))
            try:
                if self.connection.is_open:
                    self.connection.close()
            except _BROKER_ERRORS:
                pass

    def _publish_waiting(self) -> None:
        with self.lock:
            self.woken = False
            waiting, self.outbox = self.outbox, deque()
        for routing_key, body, properties in waiting:
            self.channel.basic_publish(RPC_EXCHANGE, routing_key, body, properties, mandatory=True)

    def _on_reply(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        with self.lock:
            call = self.calls.pop(properties.correlation_id, None)
        if call is not None:  # else: its caller stopped waiting
            call.future.set_result(body)

    def _on_return(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        with self.lock:
            call = self.calls.pop(properties.correlation_id, None)
        if call is not None:
            call.future.set_exception(Unavailable(f"{call.service} is not running"))


class AmqpRpcClient:
    """Thread-safe; `call(service, method, *args, **kwargs)`, `close()`. `size` is accepted for the nameko
    pool's signature and means nothing here: one connection carries any number of concurrent calls."""

    def __init__(self, amqp_uri: str, timeout: float = 10.0, size: int = 8):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self._link: _Link | None = None
        self._connecting = threading.Lock()
        self._failed_at = 0.0
        self._failure: BaseException | None = None

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        with telemetry.tracer().start_as_current_span(f"rpc {service}.{method}", kind=SpanKind.CLIENT):
            headers = {}
            traceparent = telemetry.current_traceparent()
            if traceparent:
                headers["nameko.traceparent"] = traceparent
            body = kombu_json.dumps({"args": args, "kwargs": kwargs}).encode()
            link = self._connected()
            call = link.send(service, f"{service}.{method}", body, headers)
            try:
                reply = call.future.result(self.timeout)
            except FutureTimeout:
                link.forget(call)
                raise Unavailable(f"{service} did not answer within {self.timeout:g}s") from None
            answer = kombu_json.loads(reply)
            if answer.get("error") is not None:
                raise remote_error(service, method, answer["error"])
            return answer.get("result")

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
                self._link = _Link(self.amqp_uri)
            except _BROKER_ERRORS as exc:
                self._failed_at, self._failure = time.monotonic(), exc
                raise Unavailable(f"message broker unreachable: {exc!r}") from exc
            return self._link

    def close(self) -> None:
        with self._connecting:
            link, self._link = self._link, None
        if link is not None:
            link.close()

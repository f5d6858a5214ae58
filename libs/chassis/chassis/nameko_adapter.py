"""Everything nameko-specific, in one module.

Services declare their worker as a subclass of `WorkerBase` and use `rpc` and
`cloudevent_handler` from here; nothing else in the platform imports nameko, so
replacing it (it has had no release since 2021) touches this file only.

What this adds on top of nameko:
- typed errors (`chassis.errors`) cross RPC as themselves;
- `traceparent` travels in RPC context data and event envelopes, and every
  worker runs inside a span continuing the caller's trace;
- event handlers receive a parsed `CloudEvent`; a poison message (bad envelope
  or a non-retryable error) is dead-lettered to `dlq.<queue>`, a transient
  failure is requeued after a pause instead of being dropped;
- the outbox relay runs inside every worker;
- `/health/live`, `/health/ready`, `/metrics` on the worker's HEALTH_PORT.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import json
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import amqp.exceptions
import eventlet
import kombu
import kombu.serialization
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.exceptions import (
    MalformedRequest,
    MethodNotFound,
    RemoteError,
    RpcTimeout,
    UnknownService,
    deserialize,
    registry,
    serialize,
)
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.rpc import RPC_QUEUE_TEMPLATE, Responder
from nameko.rpc import rpc as _nameko_rpc
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.timer import timer as _nameko_timer
from nameko.web.handlers import http
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from chassis import metrics, rpc_contracts, telemetry
from chassis.envelope import CONTENT_TYPE, CloudEvent, EnvelopeError, exchange_for, producer_of
from chassis.errors import PlatformError, Unavailable, all_error_types
from chassis.health import readiness
from chassis.settings import Settings

if TYPE_CHECKING:
    from chassis.rpc_client import AmqpRpcClient

log = logging.getLogger(__name__)
SETTINGS_KEY = "CHASSIS_SETTINGS"
DEAD_LETTER_EXCHANGE = "dead-letter"
REQUEUE_PAUSE_SECONDS = 1.0

kombu.serialization.register(
    "cloudevents", json.dumps, json.loads, content_type=CONTENT_TYPE, content_encoding="utf-8"
)


def register_errors() -> None:
    """Let nameko rebuild our typed errors on the caller's side (idempotent)."""
    for cls in all_error_types():
        registry[f"{cls.__module__}.{cls.__name__}"] = cls


register_errors()

# nameko's RPC wire protocol, for servers that answer nameko callers without nameko (chassis.rpc_batch).
RPC_EXCHANGE = "nameko-rpc"


def rpc_queue(service: str) -> str:
    """The durable queue a service's RPC requests wait in (`rpc-<service>`)."""
    return RPC_QUEUE_TEMPLATE.format(service)


def serialize_error(exc: BaseException) -> dict[str, Any]:
    """An error as nameko's reply carries it; the caller rebuilds registered (typed) errors from it."""
    return serialize(exc)


def remote_error(service: str, method: str, data: dict[str, Any]) -> BaseException:
    """The error a nameko reply's `error` carries, rebuilt as nameko's proxy rebuilds it: a registered (typed)
    error as itself; one the caller does not know as a `PlatformError` naming its type."""
    error = deserialize(data)
    if isinstance(error, RemoteError):
        failure = _unknown_remote_error(service, method, error)
        failure.__cause__ = error
        return failure
    return error


def _unknown_remote_error(service: str, method: str, error: RemoteError) -> PlatformError:
    return PlatformError(f"{service}.{method} failed: {error.exc_type}")


def malformed_request(detail: str) -> Exception:
    return MalformedRequest(detail)


def method_not_found(method: str) -> Exception:
    return MethodNotFound(method)


class _ReplyPublisher(Publisher):
    """Publishes RPC replies without waiting for a broker confirm. A reply goes to the caller's own
    non-durable reply queue and is worth nothing once the caller stopped waiting; a reply the broker loses
    is a timeout for the caller (`Unavailable`), which every caller handles (a saga undoes the step), and a
    reply the broker is not there to take still fails its publish. The confirm cost a round trip and broker
    work on every RPC (issue 15: 4-client onboarding). Requests keep confirms: nameko needs them to tell
    an unknown service (`mandatory`)."""

    use_confirms = False


Responder.publisher_cls = _ReplyPublisher


def nameko_config(settings: Settings) -> dict[str, Any]:
    return {
        "AMQP_URI": settings.amqp_uri,
        "WEB_SERVER_ADDRESS": f"{settings.http_host}:{settings.health_port}",
        "serializer": "json",
        "ACCEPT": ["json", "cloudevents"],
        SETTINGS_KEY: settings,
    }


# -- entrypoints -----------------------------------------------------------------

def rpc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An RPC method. Typed errors are expected outcomes: returned to the caller, not logged as crashes.

    Its arguments are checked against `contracts/rpc/<service>.yaml` before it runs (a bad one is a
    ValidationFailed naming the parameter), its result too when RPC_CHECK_RESULTS=1 (tests)."""

    @functools.wraps(fn)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        contract = rpc_contracts.method(self.name, fn.__name__, getattr(self, "rpc_contract", None))
        contract.check_arguments(fn, args, kwargs)
        result = fn(self, *args, **kwargs)
        if rpc_contracts.check_results():
            contract.check_result(result)
        return result

    return _nameko_rpc(expected_exceptions=(PlatformError,))(checked)


def consumer_queue(service: str, method: str, event_type: str) -> kombu.Queue:
    """The durable queue of one event handler, dead-lettering to `dlq.<name>`."""
    name = f"evt-{producer_of(event_type)}-{event_type}--{service}.{method}"
    return kombu.Queue(
        name,
        exchange=kombu.Exchange(exchange_for(event_type), type="topic", durable=True),
        routing_key=event_type,
        durable=True,
        queue_arguments={"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": name},
    )


def dead_letter_queue(queue_name: str) -> kombu.Queue:
    return kombu.Queue(
        f"dlq.{queue_name}",
        exchange=kombu.Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True),
        routing_key=queue_name,
        durable=True,
    )


class CloudEventHandler(EventHandler):
    """`@cloudevent_handler("customer.created")`: the method gets a `CloudEvent`."""

    def __init__(self, event_type: str, **kwargs: Any):
        super().__init__(event_type.split(".", 1)[0], event_type, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.queue = consumer_queue(self.container.service_name, self.method_name, self.event_type)
        with kombu.Connection(self.container.config["AMQP_URI"]) as conn:
            dead_letter_queue(self.queue.name)(conn.default_channel).declare()

    def handle_message(self, body: Any, message: Any) -> None:
        try:
            event = CloudEvent.from_dict(body if isinstance(body, dict) else json.loads(body))
        except (EnvelopeError, ValueError, TypeError) as exc:
            log.error("dead-lettering a malformed event", extra={"queue": self.queue.name, "error": str(exc)})
            metrics.EVENTS_CONSUMED.labels(self.container.service_name, self.event_type, "malformed").inc()
            message.reject(requeue=False)
            return
        context_data = self.unpack_message_headers(message)
        if event.traceparent:
            context_data["traceparent"] = event.traceparent
        context_data["event_type"] = event.type
        handle_result = lambda worker_ctx, result=None, exc_info=None: self._done(  # noqa: E731
            message, result, exc_info
        )
        try:
            self.container.spawn_worker(self, (event,), {}, context_data=context_data, handle_result=handle_result)
        except Exception:  # container being killed: give the message back
            self.queue_consumer.requeue_message(message)

    def _done(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        service = self.container.service_name
        if exc_info is None:
            metrics.EVENTS_CONSUMED.labels(service, self.event_type, "applied").inc()
            self.queue_consumer.ack_message(message)
        elif isinstance(exc_info[1], PlatformError) and not isinstance(exc_info[1], Unavailable):
            # Retrying cannot fix a rejected event: park it for an operator.
            metrics.EVENTS_CONSUMED.labels(service, self.event_type, "dead-lettered").inc()
            message.reject(requeue=False)
        else:
            metrics.EVENTS_CONSUMED.labels(service, self.event_type, "requeued").inc()
            eventlet.sleep(REQUEUE_PAUSE_SECONDS)
            self.queue_consumer.requeue_message(message)
        return result, exc_info


cloudevent_handler = CloudEventHandler.decorator


def timer(interval: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A method run every `interval` seconds in the worker (e.g. recovery sweeps)."""
    return _nameko_timer(interval=interval)


def handled_event_queues(service_cls: type[WorkerBase]) -> list[kombu.Queue]:
    """The queues a worker class consumes from (for `migrate` to declare ahead of time)."""
    queues = []
    for name in dir(service_cls):
        for ext in getattr(getattr(service_cls, name, None), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(ext, CloudEventHandler):
                queues.append(consumer_queue(service_cls.name, name, ext.event_type))
    return queues


def declare_topology(service_cls: type[WorkerBase], amqp_uri: str) -> list[str]:
    """Declare every exchange and queue the worker consumes from, so events
    published before its first start are kept. Idempotent."""
    declared = []
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.default_channel
        for q in handled_event_queues(service_cls):
            q(channel).declare()
            dead_letter_queue(q.name)(channel).declare()
            declared.append(q.name)
    return declared


def _set_traceparent(context_data: dict[str, Any]) -> None:
    """Carry the current trace in nameko context data (headers can't hold None)."""
    traceparent = telemetry.current_traceparent()
    if traceparent:
        context_data["traceparent"] = traceparent
    else:
        context_data.pop("traceparent", None)


# -- dependencies every worker gets ----------------------------------------------

class Observability(DependencyProvider):
    """Runs each worker inside a span continuing the caller's trace, and counts it."""

    def setup(self) -> None:
        self._active: dict[Any, tuple[Any, Any, float]] = {}

    def worker_setup(self, worker_ctx: Any) -> None:
        entry = worker_ctx.entrypoint
        event_type = worker_ctx.data.get("event_type")
        kind = SpanKind.CONSUMER if event_type else SpanKind.SERVER
        name = f"{self.container.service_name}.{entry.method_name}"
        span = telemetry.tracer().start_span(
            name, context=telemetry.context_from(worker_ctx.data.get("traceparent")), kind=kind
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        # Outgoing RPC calls and events of this worker become children of its span.
        _set_traceparent(worker_ctx.data)
        self._active[worker_ctx] = (span, token, time.perf_counter())

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        span, _, started = self._active.get(worker_ctx, (None, None, 0.0))
        if span is None:
            return
        method = worker_ctx.entrypoint.method_name
        outcome = "ok" if exc_info is None else type(exc_info[1]).__name__
        if exc_info is not None:
            span.record_exception(exc_info[1])
            span.set_status(Status(StatusCode.ERROR, str(exc_info[1])))
        if not worker_ctx.data.get("event_type"):
            metrics.RPC_CALLS.labels(self.container.service_name, method, outcome).inc()
            metrics.RPC_SECONDS.labels(self.container.service_name, method).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx: Any) -> None:
        span, token, _ = self._active.pop(worker_ctx, (None, None, 0.0))
        if span is not None:
            otel_context.detach(token)
            span.end()


class ServiceSettings(DependencyProvider):
    """`self.settings` in a worker."""

    def get_dependency(self, worker_ctx: Any) -> Settings:
        return self.container.config[SETTINGS_KEY]


class OutboxRelayRunner(DependencyProvider):
    """Runs the service's outbox relay in a green thread for the worker's lifetime."""

    def start(self) -> None:
        from chassis.mongo import database
        from chassis.outbox import OutboxRelay

        settings: Settings = self.container.config[SETTINGS_KEY]
        self.relay = OutboxRelay(database(), settings.amqp_uri, poll_seconds=settings.outbox_poll_seconds)
        self._stop = threading.Event()
        self._thread = eventlet.spawn(self.relay.run, self._stop)

    def stop(self) -> None:
        self._stop.set()
        self._thread.wait()


class RemoteServices(DependencyProvider):
    """`self.services.call("catalog", "get_customer_type", code)` in a worker: the `RpcClient` the HTTP
    processes use (typed errors, timeout -> Unavailable); under eventlet, the nameko pool."""

    def setup(self) -> None:
        settings: Settings = self.container.config[SETTINGS_KEY]
        self.client = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout)

    def stop(self) -> None:
        self.client.close()

    def get_dependency(self, worker_ctx: Any) -> RpcClient:
        return self.client


class MongoConnection(DependencyProvider):
    """Connects mongoengine to the service's database before anything runs."""

    def __init__(self, ensure_indexes: Callable[[], None] | None = None):
        self.ensure_indexes = ensure_indexes

    def setup(self) -> None:
        from chassis.mongo import connect

        connect(self.container.config[SETTINGS_KEY])
        if self.ensure_indexes is not None:
            self.ensure_indexes()


class ConsumersReady(DependencyProvider):
    """Whether the container's queue consumers have started consuming: its RPC queue is declared, bound and
    served. Nameko starts a container's extensions side by side, so the health port can answer before the
    RPC queue exists, and a caller told "ready" would have its first call returned unroutable ("billing is
    not running", a CI flake). `QueueConsumer._consumers_ready` is nameko's own start-up signal (2.14, pinned)."""

    def setup(self) -> None:
        # Found once: nameko injects a dependency into every worker, that is into every RPC call and event.
        from nameko.messaging import QueueConsumer

        self.consumers = [ext for ext in self.container.extensions if isinstance(ext, QueueConsumer)]

    def ready(self) -> bool:
        return all(consumer._consumers_ready.ready() for consumer in self.consumers)

    def get_dependency(self, worker_ctx: Any) -> Callable[[], bool]:
        return self.ready


class WorkerBase:
    """Base of every service worker: settings, tracing, outbox relay, health endpoints, and the reads of
    the service's resumable jobs (`get_job`, `list_jobs`; chassis.jobs) that the gateway routes to by job id.

    Subclasses set `name` and `db = MongoConnection(ensure_indexes)`. Their RPC methods are declared in
    `contracts/rpc/<name>.yaml` (`rpc_contract` names another file, for a worker outside the platform).
    """

    name = "base"
    rpc_contract: Path | None = None
    settings = ServiceSettings()
    observability = Observability()
    outbox_relay = OutboxRelayRunner()
    consumers_ready = ConsumersReady()

    @rpc
    def get_job(self, job_id: str) -> dict[str, Any]:
        from chassis import jobs

        return jobs.to_wire(jobs.JobStore(self.name).get(job_id))

    @rpc
    def list_jobs(self, kind: str | None = None, status: str | None = None, offset: int = 0,
                  limit: int = 50) -> dict[str, Any]:
        from chassis import jobs

        items, total = jobs.JobStore(self.name).listing(kind, status, offset, limit)
        return {"items": [jobs.to_wire(job) for job in items], "total": total}

    @http("GET", "/health/live")
    def health_live(self, request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, json.dumps({"status": "live"})

    @http("GET", "/health/ready")
    def health_ready(self, request: Any) -> tuple[int, dict[str, str], str]:
        ok, checks = readiness(self.settings.amqp_uri)
        if not self.consumers_ready():
            ok, checks = False, {**checks, "consumers": "starting"}
        body = json.dumps({"status": "ready" if ok else "not ready", "checks": checks})
        return (200 if ok else 503), {"Content-Type": "application/json"}, body

    @http("GET", "/metrics")
    def metrics(self, request: Any) -> tuple[int, dict[str, str], str]:
        body, content_type = metrics.render()
        return 200, {"Content-Type": content_type}, body.decode()  # nameko's http wants str


def run_worker(import_path: str, service: str) -> None:
    """Run one worker class (`package.module:Class`) until SIGTERM/SIGINT.

    A container that dies (nameko stops a whole container when, say, an RPC reply cannot be
    published while the broker is away) is started again with backoff inside this process, so a
    broker restart never ends the process, nor, under `make up`, the rest of the platform."""
    eventlet.monkey_patch()
    from nameko.runners import ServiceRunner

    settings = Settings.from_env(service)
    telemetry.setup(settings)
    module_name, class_name = import_path.split(":")
    service_cls = getattr(importlib.import_module(module_name), class_name)
    stopping = {"now": False}
    current: dict[str, Any] = {}

    def shutdown(signum: int, frame: Any) -> None:
        # signal handlers run in the main loop and cannot use eventlet primitives directly
        stopping["now"] = True
        if "runner" in current:
            eventlet.spawn_n(current["runner"].stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info("worker starting", extra={"health_port": settings.health_port})
    backoff = _RESTART_BACKOFF
    try:
        while not stopping["now"]:
            runner = current["runner"] = ServiceRunner(nameko_config(settings))
            runner.add_service(service_cls)
            started = time.monotonic()
            try:
                runner.start()
                _wait(eventlet.spawn(runner.wait))
                return
            except Exception:
                log.exception("worker container died; starting it again", extra={"retry_in_s": backoff})
                with contextlib.suppress(Exception):
                    runner.kill()
            # a container that ran for a while failed for a new reason: start over from the shortest wait
            backoff = _RESTART_BACKOFF if time.monotonic() - started > 60 else min(backoff * 2, 15.0)
            eventlet.sleep(backoff)
    finally:
        telemetry.shutdown()


_RESTART_BACKOFF = 1.0


def _wait(runnlet: Any) -> None:
    while True:
        try:
            runnlet.wait()
            return
        except OSError as exc:  # EINTR from a signal arriving while eventlet waits on a socket
            if exc.errno != errno.EINTR:
                raise


# -- the caller's side -------------------------------------------------------------

class RpcClient:
    """The RPC client every process uses, safe to share between threads.

    `call("customer", "create_customer", payload)` returns the result or raises the
    service's typed error; an unreachable broker or service, or a timeout,
    raises `Unavailable`.

    A process without eventlet gets the lean client (`chassis.rpc_client.AmqpRpcClient`: one connection, one
    I/O thread, decision 0015); a nameko worker (eventlet monkey-patched) gets the pool of nameko standalone
    proxies (`NamekoRpcPool`), whose green threads the lean client's blocking I/O thread would not suit.

    `call_async(...)` returns a `concurrent.futures.Future` at once (result, typed error or `Unavailable`, as
    `call` returns or raises them): the lean client keeps any number in flight on its one connection and completes
    them on its I/O thread (done callbacks run there, see chassis.rpc_client); the nameko pool runs each as a
    blocking call in a green thread of its own, which is what a green thread is for.
    """

    def __init__(self, amqp_uri: str, timeout: float = 10.0, size: int = 8):
        self.timeout = timeout
        self._impl: AmqpRpcClient | NamekoRpcPool
        if eventlet.patcher.is_monkey_patched("thread"):
            self._impl = NamekoRpcPool(amqp_uri, timeout, size)
        else:
            from chassis.rpc_client import AmqpRpcClient

            self._impl = AmqpRpcClient(amqp_uri, timeout, size)

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._impl.call(service, method, *args, **kwargs)

    def call_async(self, service: str, method: str, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._impl.call_async(service, method, *args, **kwargs)

    def close(self) -> None:
        self._impl.close()


class NamekoRpcPool:
    """A pool of nameko standalone RPC proxies (each its own connection and reply queue), safe to share between
    green threads: `RpcClient` in an eventlet process."""

    def __init__(self, amqp_uri: str, timeout: float = 10.0, size: int = 8):
        self.config = {"AMQP_URI": amqp_uri, "serializer": "json", "ACCEPT": ["json"]}
        self.timeout = timeout
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        with telemetry.tracer().start_as_current_span(f"rpc {service}.{method}", kind=SpanKind.CLIENT):
            with self._slots:
                runner = self._acquire()
                healthy = False
                try:
                    _set_traceparent(runner._worker_ctx.data)
                    result = getattr(getattr(runner._proxy, service), method)(*args, **kwargs)
                    healthy = True
                    return result
                except PlatformError:
                    healthy = True
                    raise
                except RpcTimeout as exc:
                    raise Unavailable(f"{service} did not answer within {self.timeout:g}s") from exc
                except UnknownService as exc:
                    healthy = True
                    raise Unavailable(f"{service} is not running") from exc
                except RemoteError as exc:
                    healthy = True
                    raise _unknown_remote_error(service, method, exc) from exc
                except (OSError, kombu.exceptions.KombuError, amqp.exceptions.AMQPError) as exc:
                    # AMQPError: the broker closed the connection (a restart, `close_all_connections`)
                    raise Unavailable(f"message broker unreachable: {exc!r}") from exc
                finally:
                    self._release(runner, healthy)

    def call_async(self, service: str, method: str, *args: Any, **kwargs: Any) -> Future[Any]:
        """`call` in a green thread of its own: the same API as the lean client's, without its single
        connection (a green thread waiting on a proxy costs little under eventlet)."""
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            try:
                future.set_result(self.call(service, method, *args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - the caller gets every failure through the future
                future.set_exception(exc)

        eventlet.spawn_n(run)
        return future

    def _acquire(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            try:
                runner = ClusterRpcProxy(self.config, timeout=self.timeout)
                runner._proxy = runner.start()
                return runner
            except Exception as exc:
                raise Unavailable(f"message broker unreachable: {exc}") from exc

    def _release(self, runner: Any, healthy: bool) -> None:
        if healthy:
            self._idle.put(runner)
        else:
            try:
                runner.stop()
            except Exception:
                pass

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return
            except Exception:
                continue

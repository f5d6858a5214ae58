"""pytest fixtures on real infrastructure (loaded by the repository's conftest.py).

- `mongo_uri`: MONGODB_URI if set, else a fresh mongod replica set in a temp dir.
- `amqp_uri`: RabbitMQ (started if needed) with a vhost of this test session's own.
- `db_prefix`: a database-name prefix unique to this session; its databases are dropped at the end.
- `service_db(service)`: an empty database for one service, mongoengine connected to it.
- `start_services(...)`: real service processes (`python -m <service> worker|api`) on free ports.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymongo
import pytest

from chassis import localinfra
from chassis.settings import Settings

# How long a started process may take to become ready: generous, because a machine running many
# test sessions at once can take minutes to import and start an API process.
PORT_ATTEMPTS = 3  # a process whose port was taken meanwhile is started again on another
READY_TIMEOUT = float(os.environ.get("TEST_READY_TIMEOUT_SECONDS", "240"))


def pytest_configure(config: pytest.Config) -> None:
    """Every RPC result is checked against contracts/rpc/ in tests (the service processes inherit it): a
    service that answers outside its declaration fails the test that made it. Set here, when pytest loads
    this plugin, not on import: benchmarks import these helpers too and measure the production setting."""
    os.environ.setdefault("RPC_CHECK_RESULTS", "1")


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    with tempfile.TemporaryDirectory(prefix="mongod-") as tmp:
        replica_set = localinfra.MongoReplicaSet(Path(tmp), test_commands=True)
        replica_set.start()
        try:
            yield replica_set.uri
        finally:
            replica_set.stop()


@pytest.fixture(scope="session")
def amqp_base_uri() -> str:
    uri = os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"
    localinfra.ensure_rabbitmq(uri)
    return uri


# One vhost per test module: durable queues of one module's platform never hold a backlog of another
# module's events for the next platform to wade through (decision 0004).
@pytest.fixture(scope="module")
def amqp_uri(amqp_base_uri: str) -> Iterator[str]:
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    localinfra.create_vhost(vhost)
    try:
        yield localinfra.with_vhost(amqp_base_uri, vhost)
    finally:
        localinfra.delete_vhost(vhost)


@pytest.fixture(scope="session")
def db_prefix(mongo_uri: str) -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongo_uri)
    for name in client.list_database_names():
        if name.startswith(prefix):
            client.drop_database(name)
    client.close()


def settings_for(service: str, mongo_uri: str, amqp_uri: str, db_prefix: str) -> Settings:
    base = Settings.from_env(service)
    return Settings(**{**base.__dict__, "mongodb_uri": mongo_uri, "amqp_uri": amqp_uri,
                       "mongodb_db_prefix": db_prefix, "service": service})


@pytest.fixture
def service_db(mongo_uri: str, amqp_uri: str, db_prefix: str) -> Callable[[str], Any]:
    """Empty database of a service, mongoengine's default alias connected to it."""
    from chassis.mongo import connect

    def open_db(service: str) -> Any:
        settings = settings_for(service, mongo_uri, amqp_uri, db_prefix)
        db = connect(settings)
        db.client.drop_database(db.name)
        return db

    return open_db


@dataclass
class ServiceProcess:
    service: str
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Platform:
    """Processes started for one test module; look them up as platform["customer"]."""

    env: dict[str, str]
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    def database(self, service: str) -> Any:
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(self.env["MONGODB_URI"], tz_aware=True)
        return client[f"{self.env['MONGODB_DB_PREFIX']}{service}"]

    def run_job(self, service: str, command: str, timeout: float = 120) -> str:
        """Run `python -m <service> <command>` (a migration, a job, the demo loader) against this platform."""
        done = subprocess.run([sys.executable, "-m", service, command], env={**self.env, "LOG_LEVEL": "WARNING"},
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{service} {command} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop()


def start_platform(
    processes: list[str], mongo_uri: str, amqp_uri: str, log_dir: Path, extra_env: dict[str, str] | None = None
) -> Platform:
    """Start `service` (its worker) or `service:api` processes and wait until each is ready."""
    env = {
        **os.environ,
        "MONGODB_URI": mongo_uri,
        "AMQP_URI": amqp_uri,
        "MONGODB_DB_PREFIX": f"e{uuid.uuid4().hex[:10]}_",
        "OUTBOX_POLL_SECONDS": "0.05",
        "LOG_LEVEL": "INFO",
        # The operators' API creates this admin on start-up; operator_client logs in with it.
        "GATEWAY_ADMIN_USERNAME": "admin",
        "GATEWAY_ADMIN_PASSWORD": f"test-{uuid.uuid4().hex}",
        "GATEWAY_TOKEN_SECRET": uuid.uuid4().hex * 2,
        **(extra_env or {}),
    }
    platform = Platform(env=env)
    try:
        for spec in processes:
            service, _, kind = spec.partition(":")
            kind = kind or "worker"
            for attempt in range(PORT_ATTEMPTS):
                # A free port is free only when asked: another test worker's process may bind it first.
                port = localinfra.free_port()
                proc_env = {**env, "HTTP_PORT" if kind == "api" else "HEALTH_PORT": str(port)}
                log_path = log_dir / f"{service}-{kind}.log"
                with open(log_path, "wb") as log_file:
                    process = subprocess.Popen([sys.executable, "-m", service, kind], env=proc_env,
                                               stdout=log_file, stderr=subprocess.STDOUT)
                handle = ServiceProcess(service, kind, port, process, log_path)
                platform.processes[spec] = handle
                try:
                    localinfra.wait_http([f"{handle.url}/health/ready"], timeout=READY_TIMEOUT, alive=process)
                    break
                except RuntimeError as exc:
                    if "address already in use" in handle.log() and attempt + 1 < PORT_ATTEMPTS:
                        handle.stop()
                        continue
                    raise RuntimeError(f"{spec} did not become ready: {exc}\n--- log ---\n{handle.log()[-4000:]}") \
                        from exc
    except BaseException:
        platform.stop()
        raise
    return platform


@pytest.fixture(scope="module")
def start_services(
    mongo_uri: str, amqp_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Platform]]:
    started: list[Platform] = []

    def start(*processes: str, env: dict[str, str] | None = None) -> Platform:
        platform = start_platform(list(processes), mongo_uri, amqp_uri, tmp_path_factory.mktemp("logs"), env)
        started.append(platform)
        return platform

    yield start
    for platform in started:
        platform.stop()


def operator_client(
    platform: Platform, api: str = "gateway:api", username: str | None = None, password: str | None = None
) -> Any:
    """An httpx client on the operators' API of `platform`, ready to call any endpoint.

    The one place that knows how an operator authenticates: it logs in (as the
    platform's initial admin unless `username`/`password` are given) and sends the
    bearer token with every request. Tests get their client here.
    """
    import httpx

    credentials = {"username": username or platform.env["GATEWAY_ADMIN_USERNAME"],
                   "password": password or platform.env["GATEWAY_ADMIN_PASSWORD"]}
    response = httpx.post(f"{platform[api].url}/api/v1/auth/token", json=credentials, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"cannot log in as {credentials['username']!r}: {response.status_code} {response.text}")
    # Not opened here, so callers may still use it as a context manager.
    client = httpx.Client(base_url=platform[api].url, timeout=30,
                          headers={"Authorization": f"Bearer {response.json()['accessToken']}"})
    return client


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1) -> bool:
    """Poll `condition` until it is truthy or `timeout` seconds passed; returns whether it became true."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def running(consumer: Any) -> Callable[[], None]:
    """Run a stream consumer or batch RPC server (`run(stop)`) on a thread until it holds its connection; the
    returned function stops it and waits for it."""
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    assert consumer.connected.wait(30)

    def halt() -> None:
        stop.set()
        thread.join(30)

    return halt


def queue_depth(amqp_uri: str, queue: str) -> int:
    """Messages ready in a queue (what a consumer has not taken yet)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def assert_serves_health(process: ServiceProcess) -> None:
    """A process answers its probes and exports metrics (what Kubernetes and Prometheus rely on)."""
    import httpx

    assert httpx.get(f"{process.url}/health/live", timeout=5).status_code == 200
    ready = httpx.get(f"{process.url}/health/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"mongodb": "ok", "amqp": "ok"}
    metrics = httpx.get(f"{process.url}/metrics", timeout=5)
    assert metrics.status_code == 200 and "python_info" in metrics.text


class OtlpReceiver:
    """A real OTLP/HTTP trace endpoint on 127.0.0.1 that keeps the spans it receives.

    Point processes at it with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint.
    """

    def __init__(self) -> None:
        import gzip
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.spans: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    receiver._collect(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _collect(self, request: Any) -> None:
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append({
                        "service": attributes.get("service.name"),
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "duration_ms": (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
                    })

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""Process settings, read from the environment in one place.

| variable | default | meaning |
|---|---|---|
| MONGODB_URI | mongodb://127.0.0.1:27017/?replicaSet=rs0 | MongoDB replica set (transactions need one) |
| MONGODB_DB_PREFIX | monetization_ | each service uses database <prefix><service> |
| AMQP_URI | amqp://guest:guest@127.0.0.1:5672/ | RabbitMQ, vhost included |
| OTEL_EXPORTER_OTLP_ENDPOINT | (unset) | OTLP/HTTP collector; spans are exported only when set |
| SERVICE_NAME | the service's own name | resource name in traces, logs and metrics |
| HEALTH_PORT | per process (contracts/services.toml) | a worker's or stream's /health and /metrics port |
| HTTP_PORT | per api process (contracts/services.toml) | API process port |
| HTTP_HOST | 127.0.0.1 | API/health bind address (0.0.0.0 in containers) |
| LOG_LEVEL | INFO | root log level; logs are JSON lines on stdout |
| RPC_TIMEOUT_SECONDS | 10 | how long a caller waits for an RPC reply |
| OUTBOX_POLL_SECONDS | 0.2 | outbox relay's idle poll interval |
| JOB_LEASE_SECONDS | 60 | how long a resumable job (chassis.jobs) stays with a worker that stopped renewing it |
| CONTRACTS_DIR | the repository's contracts/ | where OpenAPI and event schemas are loaded from |
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from chassis import manifest

# Default ports come from the manifest (contracts/services.toml, chassis.manifest); a process the manifest
# does not declare (a test's sample service) falls back to these.
FALLBACK_HEALTH_PORT = 8090
FALLBACK_HTTP_PORT = 8080
# Every service of the platform, in the manifest's order.
SERVICES = manifest.load().names


def _default_port(service: str, process: str, fallback: int) -> int:
    """The manifest's port of `python -m <service> <process>` (a worker's or stream's health port, an
    api's HTTP port), or `fallback` when the manifest does not declare that process."""
    found = manifest.load().port(service, process)
    return fallback if found is None else found


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    service: str
    mongodb_uri: str
    mongodb_db_prefix: str
    amqp_uri: str
    otlp_endpoint: str | None
    health_port: int
    http_port: int
    http_host: str
    log_level: str
    rpc_timeout: float
    outbox_poll_seconds: float
    job_lease_seconds: float = 60.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return f"{self.mongodb_db_prefix}{self.service}"

    @classmethod
    def from_env(cls, service: str, process: str = "worker") -> Settings:
        """`process` picks the default HEALTH_PORT: a worker's, or a stream's (`python -m <svc> stream`)."""
        return cls(
            service=_env("SERVICE_NAME", service),
            mongodb_uri=_env("MONGODB_URI", "mongodb://127.0.0.1:27017/?replicaSet=rs0"),
            mongodb_db_prefix=_env("MONGODB_DB_PREFIX", "monetization_"),
            amqp_uri=_env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
            otlp_endpoint=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            health_port=int(_env("HEALTH_PORT", str(_default_port(service, process, FALLBACK_HEALTH_PORT)))),
            http_port=int(_env("HTTP_PORT", str(_default_port(service, "api", FALLBACK_HTTP_PORT)))),
            http_host=_env("HTTP_HOST", "127.0.0.1"),
            log_level=_env("LOG_LEVEL", "INFO").upper(),
            rpc_timeout=float(_env("RPC_TIMEOUT_SECONDS", "10")),
            outbox_poll_seconds=float(_env("OUTBOX_POLL_SECONDS", "0.2")),
            job_lease_seconds=float(_env("JOB_LEASE_SECONDS", "60")),
        )

    def service_setting(self, name: str, default: str) -> str:
        """A service-specific variable, e.g. CUSTOMER_RETENTION_DAYS."""
        return _env(f"{self.service.upper()}_{name}", default)

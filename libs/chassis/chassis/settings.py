"""Process settings, read from the environment in one place.

| variable | default | meaning |
|---|---|---|
| MONGODB_URI | mongodb://127.0.0.1:27017/?replicaSet=rs0 | MongoDB replica set (transactions need one) |
| MONGODB_DB_PREFIX | monetization_ | each service uses database <prefix><service> |
| AMQP_URI | amqp://guest:guest@127.0.0.1:5672/ | RabbitMQ, vhost included |
| OTEL_EXPORTER_OTLP_ENDPOINT | (unset) | OTLP/HTTP collector; spans are exported only when set |
| SERVICE_NAME | the service's own name | resource name in traces, logs and metrics |
| HEALTH_PORT | per service (see DEFAULT_HEALTH_PORTS) | worker's /health and /metrics port |
| HTTP_PORT | gateway 8080, selfcare 8081 | API process port |
| HTTP_HOST | 127.0.0.1 | API/health bind address (0.0.0.0 in containers) |
| LOG_LEVEL | INFO | root log level; logs are JSON lines on stdout |
| RPC_TIMEOUT_SECONDS | 10 | how long a caller waits for an RPC reply |
| OUTBOX_POLL_SECONDS | 0.2 | outbox relay's idle poll interval |
| CONTRACTS_DIR | the repository's contracts/ | where OpenAPI and event schemas are loaded from |
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_HEALTH_PORTS = {
    "customer": 8091,
    "catalog": 8092,
    "rating": 8093,
    "billing": 8094,
    "notification": 8095,
    "selfcare": 8096,
    "gateway": 8097,
}
DEFAULT_HTTP_PORTS = {"gateway": 8080, "selfcare": 8081}
# A stream process (`python -m <service> stream`) serves health and metrics here unless HEALTH_PORT is set.
STREAM_HEALTH_PORT = 8090


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
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return f"{self.mongodb_db_prefix}{self.service}"

    @classmethod
    def from_env(cls, service: str) -> Settings:
        return cls(
            service=_env("SERVICE_NAME", service),
            mongodb_uri=_env("MONGODB_URI", "mongodb://127.0.0.1:27017/?replicaSet=rs0"),
            mongodb_db_prefix=_env("MONGODB_DB_PREFIX", "monetization_"),
            amqp_uri=_env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
            otlp_endpoint=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            health_port=int(_env("HEALTH_PORT", str(DEFAULT_HEALTH_PORTS.get(service, 8090)))),
            http_port=int(_env("HTTP_PORT", str(DEFAULT_HTTP_PORTS.get(service, 8080)))),
            http_host=_env("HTTP_HOST", "127.0.0.1"),
            log_level=_env("LOG_LEVEL", "INFO").upper(),
            rpc_timeout=float(_env("RPC_TIMEOUT_SECONDS", "10")),
            outbox_poll_seconds=float(_env("OUTBOX_POLL_SECONDS", "0.2")),
        )

    def service_setting(self, name: str, default: str) -> str:
        """A service-specific variable, e.g. CUSTOMER_RETENTION_DAYS."""
        return _env(f"{self.service.upper()}_{name}", default)

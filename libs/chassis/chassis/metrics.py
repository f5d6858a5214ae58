"""The Prometheus metrics every process exports on /metrics."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

RPC_CALLS = Counter("rpc_calls_total", "RPC calls handled", ["service", "method", "outcome"])
RPC_SECONDS = Histogram("rpc_duration_seconds", "RPC handling time", ["service", "method"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events handled", ["service", "type", "outcome"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox records published with confirms", ["database"])
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox records waiting for the broker", ["database"])
HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests served", ["method", "route", "status"])
HTTP_SECONDS = Histogram("http_request_duration_seconds", "HTTP request time", ["method", "route"])


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST

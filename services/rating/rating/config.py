"""Rating's own settings, read in one place (on top of the shared ones in chassis.settings).

| variable | default | meaning |
|---|---|---|
| RATING_LATENESS_WINDOW_HOURS | 72 | how long after a cycle closed its late usage is still rated (into the next) |
| RATING_STREAM_BATCH_SIZE | 500 | usage events per stream chunk (its parts' transactions), messages per batch (0411) |
| RATING_STREAM_PREFETCH | 1000 | unacknowledged messages (one event or a batch each) in flight to the stream process |
| RATING_STREAM_MAX_WAIT_MS | 50 | how long a partial batch waits for more events |
| RATING_STREAM_PARALLEL | 2 | parts of a batch rated in concurrent transactions (split by service identifier) |
| RATING_CHARGING_BATCH_SIZE | 200 | charging requests (reserve, commit, release) handled together (group commit) |
| RATING_CHARGING_PREFETCH | 400 | unacknowledged charging requests the broker keeps in flight to the charging process |
| RATING_CHARGING_MAX_WAIT_MS | 0 | how long an idle charging process waits for more requests before handling a batch |
| RATING_CHARGING_PARALLEL | 1 | charging batches handled at once (a transaction each, 0409); 1: no threads (0016) |
| RATING_CHARGING_WIRE | 1 | charging's transactions as OP_MSG on a borrowed connection (0022); 0: pymongo's sessions |
| RATING_DEFAULT_CREDIT_PROFILE | unset | credit profile for balance groups that name none (thresholds) |
| RATING_INVENTORY_CACHE_SIZE | 20000 | services (subscriptions, ...) kept by stream and charging; 0: none (0409) |
| RATING_INVENTORY_CACHE_SECONDS | 60 | how long at most they keep one, however quiet the events are |
| RATING_RESERVATION_CACHE_SIZE | 20000 | active reservations the charging process keeps unread; 0: none (0410) |
| RATING_CHARGE_FLUSH_SECONDS | 60 | how long committed postpaid charges wait to be summed for billing (0415) |
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chassis.settings import Settings


def lateness_window(settings: Settings) -> timedelta:
    return timedelta(hours=float(settings.service_setting("LATENESS_WINDOW_HOURS", "72")))


def charge_flush_window(settings: Settings) -> timedelta:
    """How long the oldest committed postpaid charge waits before the worker sums what waits for billing: a
    longer window sums more commits of a service into one `usage.charged`, a shorter one grows the bill sooner."""
    seconds = float(settings.service_setting("CHARGE_FLUSH_SECONDS", "60"))
    if seconds < 0:
        raise ValueError(f"RATING_CHARGE_FLUSH_SECONDS must not be negative, not {seconds}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Batching:
    """How a batch-consuming process (`stream`, `charging`) forms and handles its batches."""

    batch_size: int
    prefetch: int
    max_wait: float  # seconds
    parallel: int


def _batching(settings: Settings, process: str, batch_size: str, prefetch: str, max_wait_ms: str,
              parallel: str) -> Batching:
    def setting(name: str, default: str) -> str:
        return settings.service_setting(f"{process}_{name}", default)

    return Batching(int(setting("BATCH_SIZE", batch_size)), int(setting("PREFETCH", prefetch)),
                    float(setting("MAX_WAIT_MS", max_wait_ms)) / 1000, max(1, int(setting("PARALLEL", parallel))))


def stream_batching(settings: Settings) -> Batching:
    return _batching(settings, "STREAM", batch_size="500", prefetch="1000", max_wait_ms="50", parallel="2")


def charging_batching(settings: Settings) -> Batching:
    # max wait 0: a request that finds the process idle is handled at once; the next batch forms while it is.
    # parallel 1: one batch at a time on the consumer thread, cheaper and faster than two on worker threads on
    # a busy machine (decision 0016).
    return _batching(settings, "CHARGING", batch_size="200", prefetch="400", max_wait_ms="0", parallel="1")


def charging_wire(settings: Settings) -> bool:
    value = settings.service_setting("CHARGING_WIRE", "1")
    if value not in ("0", "1"):
        raise ValueError(f"RATING_CHARGING_WIRE must be 0 or 1, not {value!r}")
    return value == "1"


def inventory_cache_size(settings: Settings) -> int:
    return int(settings.service_setting("INVENTORY_CACHE_SIZE", "20000"))


def inventory_cache_seconds(settings: Settings) -> float:
    return float(settings.service_setting("INVENTORY_CACHE_SECONDS", "60"))


def reservation_cache_size(settings: Settings) -> int:
    return int(settings.service_setting("RESERVATION_CACHE_SIZE", "20000"))

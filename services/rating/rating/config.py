"""Rating's own settings, read in one place (on top of the shared ones in chassis.settings).

| variable | default | meaning |
|---|---|---|
| RATING_LATENESS_WINDOW_HOURS | 72 | how long after a cycle closed its late usage is still rated (into the next) |
| RATING_STREAM_BATCH_SIZE | 500 | usage events per stream batch (one transaction) |
| RATING_STREAM_PREFETCH | 1000 | unacknowledged messages the broker keeps in flight to the stream process |
| RATING_STREAM_MAX_WAIT_MS | 50 | how long a partial batch waits for more events |
| RATING_STREAM_PARALLEL | 2 | parts of a batch rated in concurrent transactions (split by service identifier) |
| RATING_CHARGING_BATCH_SIZE | 200 | charging requests (reserve, commit, release) handled together (group commit) |
| RATING_CHARGING_PREFETCH | 400 | unacknowledged charging requests the broker keeps in flight to the charging process |
| RATING_CHARGING_MAX_WAIT_MS | 0 | how long an idle charging process waits for more requests before handling a batch |
| RATING_CHARGING_PARALLEL | 2 | charging batches handled at once (each settles and reserves concurrently) |
| RATING_DEFAULT_CREDIT_PROFILE | unset | credit profile for balance groups that name none (thresholds) |
| RATING_INVENTORY_CACHE_SIZE | 20000 | services (and subscriptions) the stream keeps in memory; 0: none (0408) |
| RATING_INVENTORY_CACHE_SECONDS | 60 | how long at most the stream keeps one, however quiet rating's events are |
"""
from __future__ import annotations

from datetime import timedelta

from chassis.settings import Settings


def lateness_window(settings: Settings) -> timedelta:
    return timedelta(hours=float(settings.service_setting("LATENESS_WINDOW_HOURS", "72")))


def stream_batch_size(settings: Settings) -> int:
    return int(settings.service_setting("STREAM_BATCH_SIZE", "500"))


def stream_prefetch(settings: Settings) -> int:
    return int(settings.service_setting("STREAM_PREFETCH", "1000"))


def stream_max_wait(settings: Settings) -> float:
    return float(settings.service_setting("STREAM_MAX_WAIT_MS", "50")) / 1000


def stream_parallel(settings: Settings) -> int:
    return max(1, int(settings.service_setting("STREAM_PARALLEL", "2")))


def charging_batch_size(settings: Settings) -> int:
    return int(settings.service_setting("CHARGING_BATCH_SIZE", "200"))


def charging_prefetch(settings: Settings) -> int:
    return int(settings.service_setting("CHARGING_PREFETCH", "400"))


def charging_max_wait(settings: Settings) -> float:
    # 0: a request that finds the process idle is handled at once; the next batch forms while it is.
    return float(settings.service_setting("CHARGING_MAX_WAIT_MS", "0")) / 1000


def charging_parallel(settings: Settings) -> int:
    return max(1, int(settings.service_setting("CHARGING_PARALLEL", "2")))


def inventory_cache_size(settings: Settings) -> int:
    return int(settings.service_setting("INVENTORY_CACHE_SIZE", "20000"))


def inventory_cache_seconds(settings: Settings) -> float:
    return float(settings.service_setting("INVENTORY_CACHE_SECONDS", "60"))

"""`python -m rating stream`: the usage stream consumer (hot path), outside nameko.

Batches from the `rating.usage` queue are rated and acknowledged after their transactions commit. A message
that is not a usage event (not JSON, no id) is dead-lettered with its reason; an event that cannot be rated is
stored as rejected. Catalog reads go through the in-process cache only; services and subscriptions through
the inventory cache, which rating's own events keep current (decision 0408).

A batch is split by service identifier into `RATING_STREAM_PARALLEL` parts rated in concurrent transactions:
a batch spends much of its time waiting for MongoDB (reads, the commit's journal flush), and the parts wait at
the same time. A customer's services usually share one identifier, so parts rarely touch the same balance;
when they do (a sharing member and its owner, say) MongoDB makes one of them retry, and nothing is drawn twice.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from chassis.settings import Settings
from chassis.stream import StreamMessage, serve
from rating import bootstrap, config
from rating.adapters.catalog import CatalogCache
from rating.adapters.inventory_cache import InventoryCache
from rating.service_layer.rating_batch import Outcome, rate_batch


def part_of(event: Any, parts: int) -> int:
    """The part a usage event is rated in: by its service identifier, stable across processes."""
    identifier = event.get("serviceIdentifier") if isinstance(event, dict) else None
    return zlib.crc32(str(identifier).encode()) % parts if parts > 1 else 0


def batch_handler(catalog: CatalogCache, lateness: timedelta, parallel: int = 1,
                  inventory: InventoryCache | None = None):
    pool = ThreadPoolExecutor(max_workers=parallel - 1, thread_name_prefix="rating-part") if parallel > 1 else None

    def rate(events: list[Any]) -> list[Outcome]:
        return rate_batch(events, catalog, source="stream", lateness=lateness, inventory=inventory)

    def handle(batch: Sequence[StreamMessage]) -> dict[int, str]:
        poison: dict[int, str] = {}
        parts: list[list[tuple[int, Any]]] = [[] for _ in range(max(parallel, 1))]
        for index, message in enumerate(batch):
            try:
                event = json.loads(message.body)
            except (ValueError, UnicodeDecodeError) as exc:
                poison[index] = f"not JSON: {exc}"
                continue
            parts[part_of(event, len(parts))].append((index, event))
        parts = [part for part in parts if part]
        if not parts:
            return poison
        futures: list[Future] = [pool.submit(rate, [e for _, e in part]) for part in parts[1:]] if pool else []
        results: list[list[Outcome]] = []
        failure: BaseException | None = None
        try:
            results.append(rate([e for _, e in parts[0]]))
        except BaseException as exc:  # noqa: BLE001 (re-raised once the other parts are done)
            failure = exc
        for future in futures:
            # Every part is finished before the batch is acknowledged or given back.
            try:
                results.append(future.result())
            except BaseException as exc:  # noqa: BLE001
                failure = failure or exc
        if failure is not None:
            raise failure
        for part, outcomes in zip(parts, results, strict=True):
            for (index, _), outcome in zip(part, outcomes, strict=True):
                if outcome.status == "invalid":
                    poison[index] = f"not a usage event: {outcome.reason}"
        return poison

    return handle


def run(settings: Settings) -> None:
    with bootstrap.hot_path_reads(settings) as (catalog, inventory):
        handler = batch_handler(catalog, config.lateness_window(settings), config.stream_batching(settings).parallel,
                                inventory)
        serve(settings, bootstrap.usage_consumer(settings, handler))

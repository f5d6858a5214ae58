"""What the stream's services and subscriptions cache saves (decision 0408), in process: no broker, so the
figure is not drowned by the end-to-end pipeline's noise on a shared machine.

Seeds 10,000 data services as `rating_bench.py` does on a fresh mongod, warms the cache with 40 parts of 250
events, then rates 200 parts of 250 events alternately without and with the cache and prints, per part, the
time rating took and the time its services and subscriptions lookup took.

    .venv/bin/python bench/rating_lookup_bench.py
"""
from __future__ import annotations

import json
import random
import statistics
import time
from datetime import timedelta
from typing import Any

from rating_bench import seed_services, usage_events

from catalog.service_layer.demo import PRODUCTS, RESOURCES, SERVICE_TYPES
from chassis.mongo import connect, ensure_indexes
from chassis.testing import settings_for
from rating.adapters.catalog import StaticCatalog
from rating.adapters.documents import ALL_DOCUMENTS
from rating.adapters.inventory_cache import InventoryCache
from rating.service_layer import rating_batch

from support import infrastructure

PART = 250  # events per part: a 500-event batch in RATING_STREAM_PARALLEL=2 parts
LATENESS = timedelta(hours=72)


def main() -> None:
    with infrastructure() as (mongo_uri, amqp_uri, _):
        db = connect(settings_for("rating", mongo_uri, amqp_uri, "lookup_"))
        ensure_indexes(ALL_DOCUMENTS, db)
        identifiers = seed_services(db, 10_000)
        entries: dict[tuple[str, str], dict[str, Any]] = {("service_type", s["code"]): s for s in SERVICE_TYPES}
        entries.update({("resource", r["code"]): {**r, "consumptionOrder": ["earliestExpiry"]} for r in RESOURCES})
        catalog = StaticCatalog(entries, {(p["code"], 1): {**p, "version": 1} for p in PRODUCTS})
        events = [json.loads(body) for body in usage_events(identifiers, 60_000)]
        random.shuffle(events)
        parts = [events[i:i + PART] for i in range(0, len(events), PART)]

        looked_up = [0.0]
        original = rating_batch.BatchRating._load_inventory

        def timed(self: Any, by_type: Any) -> None:
            started = time.perf_counter()
            original(self, by_type)
            looked_up[0] += time.perf_counter() - started

        rating_batch.BatchRating._load_inventory = timed  # type: ignore[method-assign]
        cache = InventoryCache()
        cache.start()  # as the listener does once it is bound to rating.events
        for part in parts[:40]:
            rating_batch.rate_batch(part, catalog, source="bench", lateness=LATENESS, inventory=cache)
        hits, misses = cache.hits, cache.misses
        rated: dict[str, list[float]] = {"without": [], "with": []}
        lookups: dict[str, list[float]] = {"without": [], "with": []}
        for index, part in enumerate(parts[40:240]):
            mode = "with" if index % 2 else "without"
            looked_up[0] = 0.0
            started = time.perf_counter()
            rating_batch.rate_batch(part, catalog, source="bench", lateness=LATENESS,
                                    inventory=cache if mode == "with" else None)
            rated[mode].append(time.perf_counter() - started)
            lookups[mode].append(looked_up[0])
        for mode in ("without", "with"):
            print(f"{mode} the cache: rating {statistics.median(rated[mode]) * 1000:.1f} ms per {PART}-event part "
                  f"(median), services+subscriptions lookup {statistics.mean(lookups[mode]) * 1000:.2f} ms (mean)")
        kept, read = cache.hits - hits, cache.misses - misses
        print(f"cache hit rate after warm-up: {kept / (kept + read):.0%}")


if __name__ == "__main__":
    main()

"""Keep the garbage collector's full collections off the latency path of the hot-path processes.

CPython's full (generation 2) collection walks every tracked object of the process while holding the GIL:
in the charging process, right after start-up, that is 80,000–105,000 objects (the modules it imported, the
catalog), and each full collection stopped it for 45–200 ms (timed with a `gc.callbacks` hook) —
ten times the 20 ms a reserve may take, and the requests arriving meanwhile queue behind it. Those objects live
as long as the process, so `settle` collects once and moves them out of the collector's sight
(`gc.freeze`); later full collections walk only what the process made since (its caches, its requests).
Frozen objects are still freed by reference counting; only a cycle among them, made unreachable later, is
never collected (start-up objects do not form such cycles: they are modules, classes and functions).

The young generation is also collected less often (after 10,000 net allocations instead of 700, decision
0414): rating allocates a dozen containers per event or request that live until its transaction ends, and
makes little cyclic garbage, so most young collections found nothing (10-13 µs per event in the stream).
"""
from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram

GC_PAUSE_SECONDS = Histogram(
    "python_gc_pause_seconds", "Time the process stood still in one garbage collection, by generation",
    ["generation"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25))

YOUNG_THRESHOLD = (10_000, 10, 10)  # generation 0 after 10,000 net allocations; the older ratios unchanged

_started: list[float] = []


def _time(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[:] = [time.perf_counter()]
    elif _started:
        GC_PAUSE_SECONDS.labels(str(info["generation"])).observe(time.perf_counter() - _started[0])


def settle() -> None:
    """Call once start-up is done, before serving: collect, then freeze what is alive, collect the young
    generation less often, and time every later collection in `python_gc_pause_seconds`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*YOUNG_THRESHOLD)
    if _time not in gc.callbacks:
        gc.callbacks.append(_time)

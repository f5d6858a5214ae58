"""chassis.heap: start-up objects leave the collector's full walks, and every collection is timed."""
from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from chassis import heap


def _full_collections_timed() -> float:
    return REGISTRY.get_sample_value("python_gc_pause_seconds_count", {"generation": "2"}) or 0.0


@pytest.fixture
def settled() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        heap.settle()
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()  # the test process goes on collecting as before
        if heap._time in gc.callbacks:
            gc.callbacks.remove(heap._time)


def test_settling_moves_what_is_alive_out_of_the_full_walk(settled: None) -> None:
    assert gc.get_freeze_count() > 1000
    # What a full collection walks now is only what was made since: a few objects, not the process.
    assert len(gc.get_objects(2)) < gc.get_freeze_count() / 10


def test_settling_collects_the_young_generation_less_often(settled: None) -> None:
    assert gc.get_threshold() == heap.YOUNG_THRESHOLD and heap.YOUNG_THRESHOLD[0] > 700


def test_settling_times_every_later_collection_by_generation(settled: None) -> None:
    before = _full_collections_timed()
    gc.collect()
    assert _full_collections_timed() == before + 1


def test_settling_twice_times_each_collection_once(settled: None) -> None:
    heap.settle()
    before = _full_collections_timed()
    gc.collect()
    assert _full_collections_timed() == before + 1


def test_objects_made_after_settling_are_still_collected(settled: None) -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1

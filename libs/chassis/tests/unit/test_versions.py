import threading

import pytest

from chassis.errors import NotFound
from chassis.versions import ExpiringCache, VersionCache


class Catalog:
    """A stand-in loader that counts reads and knows one plan at versions 1 and 2 (2 is active)."""

    def __init__(self):
        self.reads = []

    def __call__(self, kind, code, version):
        self.reads.append((kind, code, version))
        if code != "P":
            raise NotFound(f"{kind} {code} does not exist")
        return {"kind": kind, "code": code, "version": 2 if version is None else version}


def test_a_pinned_version_is_loaded_once_and_kept_for_good():
    catalog = Catalog()
    cache = VersionCache(catalog)
    first = cache.get("plan", "P", 1)
    assert cache.get("plan", "P", 1) is first
    assert catalog.reads == [("plan", "P", 1)]


def test_the_active_version_is_always_asked_for_but_kept_under_the_version_it_names():
    catalog = Catalog()
    cache = VersionCache(catalog)
    active = cache.get("plan", "P")
    cache.get("plan", "P")
    assert cache.get("plan", "P", 2) is active
    assert catalog.reads == [("plan", "P", None), ("plan", "P", None)]


def test_kinds_do_not_share_entries_and_failures_are_not_cached():
    catalog = Catalog()
    cache = VersionCache(catalog)
    assert cache.get("plan", "P", 1)["kind"] == "plan"
    assert cache.get("bundle", "P", 1)["kind"] == "bundle"
    for _ in range(2):
        with pytest.raises(NotFound):
            cache.get("plan", "X", 1)
    assert len(catalog.reads) == 4


def test_concurrent_readers_all_get_the_version():
    cache = VersionCache(Catalog())
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("product", "P", 3))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r["version"] for r in results} == {3} and len(results) == 8


def test_an_expiring_entry_is_loaded_once_per_ttl_and_a_failed_load_is_not_kept():
    now = [100.0]
    cache = ExpiringCache(ttl=60, clock=lambda: now[0])
    loads = []

    def load():
        loads.append(now[0])
        return {"code": "EUR", "kind": "monetary"}

    assert cache.get(("resource", "EUR"), load) == cache.get(("resource", "EUR"), load)
    now[0] += 59
    cache.get(("resource", "EUR"), load)
    assert loads == [100.0]
    now[0] += 2
    cache.get(("resource", "EUR"), load)
    assert loads == [100.0, 161.0]

    def broken():
        raise LookupError("catalog away")

    with pytest.raises(LookupError):
        cache.get(("resource", "USD"), broken)
    assert cache.get(("resource", "USD"), load)["code"] == "EUR"  # asked again, not a kept failure

"""An in-process cache of immutable versions (catalog plans, bundles, products).

A published catalog version never changes (docs/decisions/0201), so a value read at an explicit
version can be kept for the life of the process: rating and billing price usage and fees from it
without one RPC per event. A lookup without a version means "the active one", which changes when a
new version is published, so it always goes to the loader; its answer is then kept under the version
it names, so later pinned lookups of that version are local.

Values are shared between callers: treat them as read-only.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

Loader = Callable[[str, str, int | None], Mapping[str, Any]]


class VersionCache:
    """`(kind, code, version)` → value, loaded once per version; `version=None` is never cached."""

    def __init__(self, load: Loader, version_field: str = "version") -> None:
        self._load = load
        self._version_field = version_field
        self._values: dict[Hashable, Mapping[str, Any]] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times the loader ran (tests and metrics read it)

    def get(self, kind: str, code: str, version: int | None = None) -> Mapping[str, Any]:
        if version is not None:
            with self._lock:
                cached = self._values.get((kind, code, version))
            if cached is not None:
                return cached
        # Loaded outside the lock: two threads may both load a missing version once; both get equal values.
        value = self._load(kind, code, version)
        self.loads += 1
        loaded_version = value.get(self._version_field, version) if isinstance(value, Mapping) else version
        if loaded_version is not None:
            with self._lock:
                self._values.setdefault((kind, code, loaded_version), value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class ExpiringCache:
    """`key` → value for `ttl` seconds, for reads of things that change rarely and whose staleness for that
    long is harmless (a catalog resource's kind, say). Failed loads are not kept."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        now = self._clock()
        with self._lock:
            kept = self._values.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = load()  # outside the lock: a slow load holds nobody else up
        with self._lock:
            self._values[key] = (now + self._ttl, value)
        return value


class CachingRpc:
    """An RPC caller (anything with `call(service, method, *args)`) that keeps the answers of the chosen reads
    in an `ExpiringCache`: for reads of catalog entries whose answer cannot change in a way that matters (a
    customer type that exists stays; a resource's kind and currency are fixed, docs/catalog.md). Every
    other call goes through unchanged; errors (NotFound) are never kept."""

    def __init__(self, rpc: Any, cache: ExpiringCache, reads: set[tuple[str, str]]) -> None:
        self.rpc, self.cache, self.reads = rpc, cache, reads

    def call(self, service: str, method: str, *args: Any) -> Any:
        if (service, method) not in self.reads:
            return self.rpc.call(service, method, *args)
        return self.cache.get((service, method, *args), lambda: self.rpc.call(service, method, *args))


def catalog_loader(rpc: Any) -> Loader:
    """A loader over the catalog's reads: `get_plan`, `get_bundle` and `get_product` by kind
    (contracts/rpc/catalog.md). `rpc` is anything with `call(service, method, *args)`."""
    methods = {"plan": "get_plan", "bundle": "get_bundle", "product": "get_product"}

    def load(kind: str, code: str, version: int | None) -> Mapping[str, Any]:
        return rpc.call("catalog", methods[kind], code, version)

    return load

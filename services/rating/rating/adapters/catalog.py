"""Catalog reads for rating, cached in process so the hot path never calls catalog per event.

Offerings at a version are immutable (decision 0201), so a product at a version is cached forever
(`chassis.versions.VersionCache`);
configuration entries (service types, resources, sharing policies, credit profiles) are edited in place and
rarely, so they are cached for `ttl` seconds. Absent entries are cached too: a flood of events naming an
unknown service type costs one lookup per `ttl`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from chassis.errors import NotFound
from chassis.versions import ExpiringCache, VersionCache
from rating.domain.engine import Tariff, Threshold

Call = Callable[..., Any]  # call(method, *args) on the catalog service
_FOREVER = float("inf")


class CatalogCache:
    def __init__(self, call: Call, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._call = call
        self._entries = ExpiringCache(ttl, clock)  # an absent entry is kept as None for as long
        self._tariffs: dict[tuple[str, int], Tariff] = {}
        self._versions = VersionCache(lambda kind, code, version: call("get_product", code, version))

    def _entry(self, kind: str, code: str) -> dict[str, Any] | None:
        def load() -> dict[str, Any] | None:
            try:
                return self._call("get_entry", kind, code)
            except NotFound:
                return None

        return self._entries.get((kind, code), load)

    def service_type(self, code: str) -> dict[str, Any] | None:
        return self._entry("service_type", code)

    def resource(self, code: str) -> dict[str, Any] | None:
        return self._entry("resource", code)

    def sharing_policy(self, code: str) -> dict[str, Any] | None:
        return self._entry("sharing_policy", code)

    def credit_profile(self, code: str) -> dict[str, Any] | None:
        return self._entry("credit_profile", code)

    def consumption_order(self, resource: str) -> tuple[str, ...]:
        entry = self.resource(resource) or {}
        return tuple(entry.get("consumptionOrder") or ())

    def product(self, code: str, version: int) -> dict[str, Any] | None:
        try:
            return dict(self._versions.get("product", code, version))
        except NotFound:
            return None

    def tariff(self, code: str, version: int) -> Tariff | None:
        """A found tariff is kept for good (its version is immutable); a missing one for `ttl`, as entries are
        (the version may still be published)."""
        found = self._tariffs.get((code, version))
        if found is None:
            found = self._entries.get(("tariff", code, version), lambda: _tariff(self.product(code, version)))
            if found is not None:
                self._tariffs[(code, version)] = found
        return found

    def thresholds(self, profile: str, resource: str) -> tuple[Decimal, tuple[Threshold, ...]] | None:
        """(credit limit, thresholds) of a credit profile for one resource, or None."""
        entry = self.credit_profile(profile) or {}
        for limit in entry.get("limits", []):
            if limit["resource"] == resource:
                return Decimal(limit["creditLimit"]), tuple(
                    Threshold(t["kind"], Decimal(t["value"]), tuple(t.get("channels") or ()))
                    for t in limit.get("thresholds", []))
        return None


def _tariff(product: dict[str, Any] | None) -> Tariff | None:
    if product is None or product.get("type") != "service" or not product.get("rateTable"):
        return None
    table = product["rateTable"]
    return Tariff(product_code=product["code"], product_version=product["version"], resource=product["resource"],
                  price_resource=product.get("priceResource") or "EUR",
                  rates=tuple(table["rates"]), keys=tuple(table.get("keys") or ()))


class StaticCatalog(CatalogCache):
    """A catalog held in memory (tests of use cases, the benchmark's warm-up check): the same reads over
    dicts in catalog's wire shape."""

    def __init__(self, entries: dict[tuple[str, str], dict[str, Any]], products: dict[tuple[str, int], dict[str, Any]]):
        def call(method: str, *args: Any) -> Any:
            found = products.get(args) if method == "get_product" else entries.get(args)
            if found is None:
                raise NotFound(f"{args} does not exist")
            return found

        super().__init__(call, ttl=_FOREVER)

"""What billing asks the catalog: is a resource monetary, what is a tax's rate now.

Use cases take a `Catalog`; the worker and the bill-run job pass the RPC one (adapters/catalog.py).
Rates are looked up once per run or request (`TaxCache`), never per bill line.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from billing.domain.lines import Tax
from chassis.errors import NotFound, ValidationFailed
from chassis.money import to_decimal


class Catalog(Protocol):
    def get_resource(self, code: str) -> dict[str, Any]: ...

    def get_tax(self, code: str) -> dict[str, Any]: ...


def require_monetary(catalog: Catalog, code: str, field: str = "resource") -> str:
    """The currency of a monetary resource; a unit resource (minutes, MB) cannot be billed in."""
    try:
        resource = catalog.get_resource(code)
    except NotFound as exc:
        raise ValidationFailed(f"no resource {code}", {field: "is not a resource of the catalog"}) from exc
    if resource.get("kind") != "monetary":
        raise ValidationFailed(f"resource {code} is not monetary", {field: "must be a monetary resource"})
    return str(resource.get("currency") or code)


class TaxCache:
    """Tax rates as the catalog has them now (an issued invoice keeps the rate it was issued with)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.taxes: dict[str, Tax] = {}

    def tax(self, code: str, field: str = "tax") -> Tax:
        if code not in self.taxes:
            try:
                found = self.catalog.get_tax(code)
            except NotFound as exc:
                raise ValidationFailed(f"unknown tax {code!r}", {field: f"unknown tax {code!r}"}) from exc
            self.taxes[code] = Tax(code=code, rate=to_decimal(found.get("rate", Decimal(0))),
                                   supplier=found.get("supplier") or "", gl_code=found.get("glCode") or "")
        return self.taxes[code]

    def resolve(self, codes: set[str]) -> dict[str, Tax]:
        return {code: self.tax(code) for code in codes}

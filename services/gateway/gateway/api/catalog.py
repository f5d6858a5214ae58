"""/api/v1/catalog: the offering catalog and business configuration.

Most operations are the same few actions over several kinds of entry, so the handlers are made
by a handful of factories; each is bound to its operationId name at the bottom of this module.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chassis.http import json_response
from gateway import dependencies

Handler = Callable[..., tuple[Any, int, dict[str, str]]]
BASE = "/api/v1/catalog"


def _call(method: str, *args: Any) -> Any:
    return dependencies.rpc.call("catalog", method, *args)


def _listed(result: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    items = result["items"]
    return json_response(items, 200, {"X-Total-Count": str(result["total"]), "X-Result-Count": str(len(items))})


def _key(kind: str, kwargs: dict[str, Any]) -> str:
    return f"{kwargs['entity']}/{kwargs['name']}" if kind == "custom_attribute" else kwargs["code"]


# -- plain entries (keyed by code) ----------------------------------------------------------

def _entry_handlers(kind: str, segment: str) -> dict[str, Handler]:
    def create(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
        entry = _call("create_entry", kind, body)
        key = f"{entry['entity']}/{entry['name']}" if kind == "custom_attribute" else entry["code"]
        return json_response(entry, 201, {"Location": f"{BASE}/{segment}/{key}"})

    def listing(offset: int = 0, limit: int = 100, **filters: Any) -> tuple[Any, int, dict[str, str]]:
        return _listed(_call("list_entries", kind, offset, limit, filters))

    def get(**kwargs: Any) -> tuple[Any, int, dict[str, str]]:
        return json_response(_call("get_entry", kind, _key(kind, kwargs)))

    def update(body: dict[str, Any], **kwargs: Any) -> tuple[Any, int, dict[str, str]]:
        return json_response(_call("update_entry", kind, _key(kind, kwargs), body))

    return {f"create_{kind}": create, f"list_{segment.replace('-', '_')}": listing, f"get_{kind}": get,
            f"update_{kind}": update}


# -- versioned offerings ------------------------------------------------------------------------

def _offering_handlers(kind: str, segment: str) -> dict[str, Handler]:
    def location(offering: dict[str, Any]) -> dict[str, str]:
        return {"Location": f"{BASE}/{segment}/{offering['code']}/versions/{offering['version']}"}

    def create(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
        offering = _call("create_offering", kind, body)
        return json_response(offering, 201, location(offering))

    def listing(offset: int = 0, limit: int = 100, status: str | None = None, code: str | None = None,
                product_type: str | None = None) -> tuple[Any, int, dict[str, str]]:
        filters = {"status": status, "code": code, "type": product_type}
        return _listed(_call("list_offerings", kind, offset, limit, {k: v for k, v in filters.items() if v}))

    def versions(code: str, offset: int = 0, limit: int = 100) -> tuple[Any, int, dict[str, str]]:
        return _listed(_call("list_offerings", kind, offset, limit, {"code": code}))

    def get(code: str) -> tuple[Any, int, dict[str, str]]:
        return json_response(_call("get_offering", kind, code, None))

    def get_version(code: str, version: int) -> tuple[Any, int, dict[str, str]]:
        return json_response(_call("get_offering", kind, code, version))

    def new_version(code: str, body: dict[str, Any] | None = None) -> tuple[Any, int, dict[str, str]]:
        offering = _call("new_version", kind, code, body or None)
        return json_response(offering, 201, location(offering))

    def update(code: str, version: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
        return json_response(_call("update_offering", kind, code, version, body))

    def delete(code: str, version: int) -> tuple[Any, int, dict[str, str]]:
        _call("delete_offering", kind, code, version)
        return None, 204, {}

    def publish(code: str, version: int) -> tuple[Any, int, dict[str, str]]:
        return json_response(_call("publish", kind, code, version))

    def retire(code: str, version: int) -> tuple[Any, int, dict[str, str]]:
        return json_response(_call("retire", kind, code, version))

    handlers: dict[str, Handler] = {
        f"create_{kind}": create, f"list_{segment}": listing, f"list_{kind}_versions": versions,
        f"get_{kind}": get, f"get_{kind}_version": get_version, f"new_{kind}_version": new_version,
        f"update_{kind}_version": update, f"delete_{kind}_version": delete, f"publish_{kind}": publish,
        f"retire_{kind}": retire}
    if kind in ("plan", "bundle"):
        def offer(code: str, version: int | None = None) -> tuple[Any, int, dict[str, str]]:
            return json_response(_call(f"get_{kind}", code, version))

        handlers[f"get_{kind}_offer"] = offer
    return handlers


# -- rates and promotions -----------------------------------------------------------------------

def lookup_rate(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("rate", body["serviceType"], body["fields"], body.get("product"),
                               body.get("version"), body.get("at"), body.get("quantity")))


def resolve_promotion(code: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("resolve_promotion", code))


def create_voucher_batch(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    batch = _call("create_voucher_batch", body)
    return json_response(batch, 201, {"Location": f"{BASE}/voucher-batches/{batch['id']}"})


def list_voucher_batches(offset: int = 0, limit: int = 100) -> tuple[Any, int, dict[str, str]]:
    return _listed(_call("list_voucher_batches", offset, limit))


def get_voucher_batch(batch_id: int) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_voucher_batch", batch_id))


def list_vouchers(batch_id: int, offset: int = 0, limit: int = 100,
                  redeemed: bool | None = None) -> tuple[Any, int, dict[str, str]]:
    return _listed(_call("list_vouchers", batch_id, offset, limit, redeemed))


def get_voucher(code: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_voucher", code))


_ENTRIES = {"resource": "resources", "service_type": "service-types", "customer_type": "customer-types",
            "tax": "taxes", "credit_profile": "credit-profiles", "sharing_policy": "sharing-policies",
            "coupon": "coupons", "custom_attribute": "custom-attributes"}
_OFFERINGS = {"product": "products", "bundle": "bundles", "plan": "plans"}

for _kind, _segment in _ENTRIES.items():
    globals().update(_entry_handlers(_kind, _segment))
for _kind, _segment in _OFFERINGS.items():
    globals().update(_offering_handlers(_kind, _segment))

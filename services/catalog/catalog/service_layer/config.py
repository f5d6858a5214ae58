"""Business configuration: resources, service types, customer types, custom attributes, taxes,
credit profiles, sharing policies (plain entries keyed by code, edited in place)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalog.adapters.documents import CONFIG_DOCUMENTS, CustomAttribute, PromotionCode
from catalog.adapters.repository import MongoReferences, plain
from catalog.domain import rules
from catalog.schemas import CONFIG_SCHEMAS
from catalog.service_layer.common import commit, load, page
from chassis.clock import utc_now
from chassis.errors import NotFound, ValidationFailed
from chassis.merge_patch import apply_merge_patch
from chassis.mongo import UnitOfWork

LABELS = {"resource": "resource", "service_type": "service type", "customer_type": "customer type",
          "custom_attribute": "custom attribute", "tax": "tax", "credit_profile": "credit profile",
          "sharing_policy": "sharing policy", "coupon": "coupon"}

# Rules needing no references take the data only; the others get the references reader too.
_CHECKS: dict[str, Callable[[dict[str, Any], rules.References], dict[str, Any]]] = {
    "resource": lambda data, refs: rules.check_resource(data),
    "service_type": lambda data, refs: rules.check_service_type(data),
    "customer_type": lambda data, refs: data,
    "custom_attribute": lambda data, refs: rules.check_custom_attribute(data),
    "tax": lambda data, refs: data,
    "credit_profile": rules.check_credit_profile,
    "sharing_policy": rules.check_sharing_policy,
    "coupon": rules.check_coupon,
}
# What a PATCH may not change: the identity, and what other entries depend on.
_FROZEN = {"resource": {"code", "kind", "currency", "unit", "minorUnits"}, "service_type": {"code", "fields"},
           "custom_attribute": {"entity", "name", "type"}, "coupon": {"code"}}


def _kind(kind: str) -> str:
    if kind not in CONFIG_DOCUMENTS:
        raise ValidationFailed(f"unknown catalog entry kind {kind!r}", {"kind": "unknown"})
    return kind


def _key(kind: str, key: str) -> dict[str, Any]:
    if kind == "custom_attribute":
        entity, _, name = key.partition("/")
        return {"entity": entity, "name": name}
    return {"code": key}


def _label(kind: str, key: str) -> str:
    return f"{LABELS[kind]} {key}"


def dump(kind: str, doc: Any) -> dict[str, Any]:
    return CONFIG_SCHEMAS[kind]().dump(doc)


def find(kind: str, key: str) -> Any:
    doc = CONFIG_DOCUMENTS[_kind(kind)].objects(**_key(kind, key)).first()
    if doc is None:
        raise NotFound(f"{_label(kind, key)} does not exist")
    return doc


def create(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    schema = CONFIG_SCHEMAS[_kind(kind)]()
    data = _CHECKS[kind](load(schema, payload), MongoReferences())
    doc = CONFIG_DOCUMENTS[kind]._from_son(data)
    key = data.get("code") or f"{data.get('entity')}/{data.get('name')}"

    def write(uow: UnitOfWork) -> Any:
        if kind == "coupon":
            # Coupons and vouchers share one code space.
            uow.insert(PromotionCode(code=data["code"], kind="coupon"))
        uow.insert(doc)
        return doc

    commit(write, f"{_label(kind, key)} already exists (codes are unique)")
    return dump(kind, doc)


def update(kind: str, key: str, patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge-patch of one entry; the result is validated as a whole."""
    doc = find(kind, key)
    if not isinstance(patch, dict):
        raise ValidationFailed("the body must be a JSON object", {"_schema": "must be an object"})
    schema = CONFIG_SCHEMAS[kind]()
    current = schema.dump(doc)
    frozen = [name for name in _FROZEN.get(kind, {"code"}) if name in patch and patch[name] != current.get(name)]
    if frozen:
        raise ValidationFailed(f"{', '.join(sorted(frozen))} cannot change; create a new entry instead",
                               {name: "cannot change" for name in frozen})
    merged = {k: v for k, v in apply_merge_patch(current, patch).items()
              if v is not None and k not in ("createdAt", "updatedAt")}
    data = _CHECKS[kind](load(schema, merged), MongoReferences())
    replacement = CONFIG_DOCUMENTS[kind]._from_son({**data, "created_at": doc.created_at,
                                                    "updated_at": utc_now()})
    replacement.pk = doc.pk

    def write(uow: UnitOfWork) -> None:
        uow.replace(replacement)

    commit(write, f"{_label(kind, key)} clashes with another entry")
    return dump(kind, replacement)


def get(kind: str, key: str) -> dict[str, Any]:
    return dump(kind, find(kind, key))


def listing(kind: str, offset: int = 0, limit: int = 100, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    query = CONFIG_DOCUMENTS[_kind(kind)].objects(**{k: v for k, v in (filters or {}).items() if v is not None})
    order = ("entity", "name") if kind == "custom_attribute" else ("code",)
    return page(query.order_by(*order), offset, limit, lambda doc: dump(kind, doc))


# -- the reads other services use ------------------------------------------------------------

def list_customer_types() -> list[dict[str, Any]]:
    return [{"code": d["code"], "name": d["name"], "description": d.get("description")}
            for d in listing("customer_type", 0, 1000)["items"]]


def get_customer_type(code: str) -> dict[str, Any]:
    d = get("customer_type", code)
    return {"code": d["code"], "name": d["name"], "description": d.get("description")}


def list_custom_attributes(entity: str) -> list[dict[str, Any]]:
    """The entity's attribute definitions, whole (CatalogCustomAttribute, as the gateway lists them)."""
    return listing("custom_attribute", 0, 1000, {"entity": entity})["items"]


def validate_custom_attributes(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    definitions = {doc.name: plain(doc) for doc in CustomAttribute.objects(entity=entity)}
    return rules.normalize_attributes(definitions, values or {})


def get_resource(code: str) -> dict[str, Any]:
    wire = get("resource", code)
    shape = {"code": wire["code"], "name": wire["name"], "kind": wire["kind"],
             "minorUnits": wire["minorUnits"], "consumptionOrder": wire["consumptionOrder"]}
    shape["currency" if wire["kind"] == "monetary" else "unit"] = wire["currency"] or wire["unit"]
    return shape

"""Versioned offerings: products, bundles and plans.

A version is edited only while it is a draft. Publishing makes it active (and retires the version
it replaces); an active version may be sold, so a change is a new version and subscriptions keep
the version they bought (docs/decisions/0201).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from catalog.adapters.documents import OFFERING_DOCUMENTS, Product
from catalog.adapters.repository import MongoReferences, active_at, offering_doc, plain
from catalog.domain import rules
from catalog.domain.model import OfferingKind, ProductType, Status
from catalog.schemas import OFFERING_SCHEMAS
from catalog.service_layer.common import commit, load, page
from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, ValidationFailed
from chassis.mongo import UnitOfWork
from pricing import find_rate, usage_charge

_CHECKS = {"product": rules.check_product, "bundle": rules.check_bundle, "plan": rules.check_plan}
_PARTS = {"bundle": ("products", "product"), "plan": ("bundles", "bundle")}


def _kind(kind: str) -> str:
    if kind not in OFFERING_DOCUMENTS:
        raise ValidationFailed(f"unknown offering kind {kind!r}", {"kind": "unknown"})
    return kind


# One schema instance per kind: building one (its nested fields are deep-copied) cost more than a dump.
_DUMPERS = {kind: schema() for kind, schema in OFFERING_SCHEMAS.items()}


def dump(kind: str, doc: Any) -> dict[str, Any]:
    wire = _DUMPERS[kind].dump(doc)
    if kind == OfferingKind.PRODUCT:
        value = rules.default_value(plain(doc))
        wire["defaultValue"] = None if value is None else format(value, "f")
    return wire


def find(kind: str, code: str, version: int | None = None) -> Any:
    """A version, or without one the active version (else the newest)."""
    doc = offering_doc(_kind(kind), code, version)
    if doc is None and version is None:
        doc = OFFERING_DOCUMENTS[kind].objects(code=code).order_by("-version").first()
    if doc is None:
        raise NotFound(f"{kind} {code}{f' version {version}' if version else ''} does not exist")
    return doc


def _validated(kind: str, payload: dict[str, Any], code: str | None = None) -> dict[str, Any]:
    if code is not None and isinstance(payload, dict):
        if payload.get("code", code) != code:
            raise ValidationFailed("the code of a version cannot change", {"code": "cannot change"})
        payload = {**payload, "code": code}
    return _CHECKS[kind](load(OFFERING_SCHEMAS[kind](), payload), MongoReferences())


def create(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 of a new code, as a draft."""
    data = _validated(_kind(kind), payload)
    if OFFERING_DOCUMENTS[kind].objects(code=data["code"]).first() is not None:
        raise Conflict(f"{kind} {data['code']} already exists; publish a new version of it instead",
                       {"code": "duplicate"})
    doc = OFFERING_DOCUMENTS[kind]._from_son({**data, "version": 1, "status": Status.DRAFT})
    commit(lambda uow: uow.insert(doc), f"{kind} {data['code']} already exists")
    return dump(kind, doc)


def new_version(kind: str, code: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """The next version as a draft: the payload, or a copy of the newest version when empty."""
    latest = OFFERING_DOCUMENTS[_kind(kind)].objects(code=code).order_by("-version").first()
    if latest is None:
        raise NotFound(f"{kind} {code} does not exist")
    if latest.status == Status.DRAFT:
        raise Conflict(f"{kind} {code} version {latest.version} is still a draft; edit it instead")
    if not payload:
        payload = {k: v for k, v in dump(kind, latest).items()
                   if k not in ("version", "status", "createdAt", "updatedAt", "publishedAt", "retiredAt",
                                "defaultValue")}
    data = _validated(kind, payload, code)
    doc = OFFERING_DOCUMENTS[kind]._from_son({**data, "version": latest.version + 1, "status": Status.DRAFT})
    commit(lambda uow: uow.insert(doc), f"{kind} {code} version {latest.version + 1} was created meanwhile")
    return dump(kind, doc)


def update(kind: str, code: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Replace the content of a draft version."""
    current = find(kind, code, version)
    rules.ensure_editable(kind, plain(current))
    data = _validated(kind, payload, code)
    replacement = OFFERING_DOCUMENTS[kind]._from_son({**data, "version": version, "status": Status.DRAFT,
                                                      "created_at": current.created_at,
                                                      "updated_at": utc_now()})
    replacement.pk = current.pk

    def write(uow: UnitOfWork) -> None:
        # Guard on the status too, so a concurrent publish wins cleanly.
        result = uow.collection(OFFERING_DOCUMENTS[kind]).replace_one(
            {"_id": current.pk, "status": Status.DRAFT}, replacement.to_mongo(), session=uow.session)
        if result.matched_count != 1:
            raise Conflict(f"{kind} {code} version {version} was published meanwhile")

    commit(write, f"{kind} {code} clashes")
    return dump(kind, replacement)


def delete_draft(kind: str, code: str, version: int) -> None:
    current = find(kind, code, version)
    rules.ensure_editable(kind, plain(current))

    def write(uow: UnitOfWork) -> None:
        uow.collection(OFFERING_DOCUMENTS[kind]).delete_one({"_id": current.pk, "status": Status.DRAFT},
                                                            session=uow.session)

    commit(write, "")


def _parts(kind: str, doc: Any) -> list[dict[str, Any]]:
    """The versions a bundle or plan refers to (status included) for the publish check."""
    if kind not in _PARTS:
        return []
    field, part_kind = _PARTS[kind]
    refs = list(getattr(doc, field))
    if kind == OfferingKind.PLAN:
        refs += list(doc.add_ons)
    found = []
    for ref in refs:
        part = offering_doc(part_kind, ref.code, ref.version)
        status = part.status if part is not None else "missing"
        found.append({"kind": part_kind, "code": ref.code, "version": ref.version, "status": status})
    return found



def publish(kind: str, code: str, version: int) -> dict[str, Any]:
    """Draft → active; the version it replaces (if any) → retired. Events in the same transaction."""
    doc = find(kind, code, version)
    rules.ensure_publishable(kind, plain(doc), _parts(kind, doc))
    now = utc_now()
    collection_doc = OFFERING_DOCUMENTS[kind]

    def write(uow: UnitOfWork) -> None:
        coll = uow.collection(collection_doc)
        previous = coll.find_one({"code": code, "status": Status.ACTIVE}, session=uow.session)
        if previous is not None:
            coll.update_one({"_id": previous["_id"]}, {"$set": {"status": Status.RETIRED, "retired_at": now,
                                                                "updated_at": now}}, session=uow.session)
            uow.publish(f"catalog.{kind}_retired", {"code": code, "version": previous["version"],
                                                    "name": previous["name"], "reason": "superseded",
                                                    "retiredAt": now.isoformat()}, subject=code)
        result = coll.update_one({"_id": doc.pk, "status": Status.DRAFT},
                                 {"$set": {"status": Status.ACTIVE, "published_at": now, "updated_at": now}},
                                 session=uow.session)
        if result.modified_count != 1:
            raise Conflict(f"{kind} {code} version {version} was published meanwhile")
        uow.publish(f"catalog.{kind}_published", {
            "code": code, "version": version, "name": doc.name, "publishedAt": now.isoformat(),
            "supersedes": None if previous is None else previous["version"]}, subject=code)

    commit(write, "")
    return dump(kind, find(kind, code, version))


def retire(kind: str, code: str, version: int) -> dict[str, Any]:
    """Active → retired: no longer sold; subscriptions that bought it keep it."""
    doc = find(kind, code, version)
    rules.ensure_retirable(kind, plain(doc))
    now = utc_now()

    def write(uow: UnitOfWork) -> None:
        result = uow.collection(OFFERING_DOCUMENTS[kind]).update_one(
            {"_id": doc.pk, "status": Status.ACTIVE},
            {"$set": {"status": Status.RETIRED, "retired_at": now, "updated_at": now}}, session=uow.session)
        if result.modified_count != 1:
            raise Conflict(f"{kind} {code} version {version} changed meanwhile")
        uow.publish(f"catalog.{kind}_retired", {"code": code, "version": version, "name": doc.name,
                                                "reason": "retired", "retiredAt": now.isoformat()}, subject=code)

    commit(write, "")
    return dump(kind, find(kind, code, version))


def get(kind: str, code: str, version: int | None = None) -> dict[str, Any]:
    return dump(kind, find(kind, code, version))


def listing(kind: str, offset: int = 0, limit: int = 100, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    query = OFFERING_DOCUMENTS[_kind(kind)].objects(**{k: v for k, v in (filters or {}).items() if v is not None})
    return page(query.order_by("code", "version"), offset, limit, lambda doc: dump(kind, doc))


# -- what the other services read ---------------------------------------------------------

def for_sale(kind: str, code: str, version: int | None) -> Any:
    """A pinned version as it is (subscriptions keep retired versions), or the active version."""
    if version is not None:
        return find(kind, code, version)
    doc = offering_doc(kind, code)
    if doc is not None:
        return doc
    newest = OFFERING_DOCUMENTS[kind].objects(code=code).order_by("-version").first()
    if newest is None:
        raise NotFound(f"{kind} {code} does not exist")
    raise Conflict(f"{kind} {code} has no active version (newest: version {newest.version}, {newest.status})")


def _expand_bundle(doc: Any) -> dict[str, Any]:
    products = [dump("product", find("product", ref.code, ref.version)) for ref in doc.products]
    return {"code": doc.code, "version": doc.version, "name": doc.name, "status": doc.status,
            "addOn": doc.add_on, "products": products}


def get_bundle(code: str, version: int | None = None) -> dict[str, Any]:
    return _expand_bundle(for_sale("bundle", code, version))


def get_active_version(kind: str, code: str) -> int:
    """The version on sale now: what a caller holding versions in a cache asks before reading one (every
    onboarding asks it, so the usual answer is one read of one field)."""
    active = OFFERING_DOCUMENTS[_kind(kind)]._get_collection().find_one(
        {"code": code, "status": Status.ACTIVE.value}, {"version": 1})
    if active is not None:
        return int(active["version"])
    return int(for_sale(kind, code, None).version)  # NotFound or Conflict, as for_sale says


def get_product(code: str, version: int | None = None) -> dict[str, Any]:
    return dump("product", for_sale("product", code, version))


def get_plan(code: str, version: int | None = None) -> dict[str, Any]:
    plan = for_sale("plan", code, version)
    return {"code": plan.code, "version": plan.version, "name": plan.name, "status": plan.status,
            "description": plan.description, "paymentTypes": list(plan.payment_types),
            "bundles": [_expand_bundle(find("bundle", ref.code, ref.version)) for ref in plan.bundles],
            "addOns": [{"code": ref.code, "version": ref.version} for ref in plan.add_ons]}


def rate(service_type: str, fields: dict[str, Any], product: str | None = None, version: int | None = None,
         at: str | None = None, quantity: Any = None) -> dict[str, Any]:
    """The price of one usage: the rate row of the service product matching the rating-set values."""
    from catalog.schemas import RateSchema
    from chassis.fields import DecimalString

    moment = _moment(at)
    refs = MongoReferences()
    definition = refs.service_type(service_type)
    if definition is None:
        raise NotFound(f"service type {service_type} does not exist")
    values = _rating_values(definition, fields)
    doc = _pricing_product(service_type, product, version, moment)
    matched = find_rate([plain(r) for r in doc.rate_table.rates], values)
    if matched is None:
        shown = ", ".join(f"{k}={values.get(k)}" for k in doc.rate_table.keys)
        raise NotFound(f"product {doc.code} version {doc.version} has no rate for {shown}")
    result = {"product": doc.code, "version": doc.version, "serviceType": service_type, "key": matched["key"],
              **RateSchema(only=("price_per_unit", "unit_size", "rounding")).dump(matched),
              "resource": doc.price_resource, "unitResource": doc.resource, "tax": doc.tax, "glCode": doc.gl_code}
    if quantity is not None:
        amount_field = DecimalString(minimum=0)
        try:
            used = amount_field.deserialize(quantity)
        except Exception as exc:
            raise ValidationFailed("quantity must be a non-negative decimal string", {"quantity": str(exc)}) from exc
        units, amount = usage_charge(used, matched["price_per_unit"], matched["unit_size"], matched["rounding"])
        result.update(quantity=format(used, "f"), units=format(units, "f"), amount=format(amount, "f"))
    return result


def _moment(at: str | None) -> datetime | None:
    if at is None:
        return None
    try:
        moment = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed("at must be an ISO 8601 date-time", {"at": "not a date-time"}) from exc
    if moment.tzinfo is None:
        raise ValidationFailed("at must carry a time zone", {"at": "no time zone"})
    return moment.astimezone(UTC)


def _rating_values(definition: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(fields, dict):
        raise ValidationFailed("fields must be an object", {"fields": "must be an object"})
    known = {f["name"]: f for f in definition["fields"]}
    problems = rules.Problems()
    for name, value in fields.items():
        if name not in known:
            problems.add(f"fields.{name}", f"not a field of service type {definition['code']}")
        elif value is not None:
            try:
                rules.coerce_value(known[name]["type"], value, known[name].get("allowed_values"))
            except ValueError as exc:
                problems.add(f"fields.{name}", str(exc))
    for name, field in known.items():
        if field["role"] == "ratingSet" and fields.get(name) is None:
            problems.add(f"fields.{name}", "a rating-set field is needed to find the rate")
    problems.raise_if_any("rate lookup")
    return fields


def _pricing_product(service_type: str, product: str | None, version: int | None, moment: datetime | None) -> Any:
    if product is not None:
        doc = offering_doc("product", product, version, at=moment)
        if doc is None:
            raise NotFound(f"product {product} has no {'such version' if version else 'version on sale then'}")
        if doc.type != ProductType.SERVICE or doc.service_type != service_type:
            raise ValidationFailed(f"product {product} does not price service type {service_type}",
                                   {"product": "wrong service type"})
        return doc
    candidates = Product.objects(type=ProductType.SERVICE, service_type=service_type)
    candidates = active_at(candidates, moment) if moment is not None else candidates.filter(status=Status.ACTIVE)
    found = list(candidates.limit(2))
    if not found:
        raise NotFound(f"no product prices service type {service_type}")
    if len(found) > 1:
        raise Conflict(f"several products price service type {service_type}; name the product",
                       {"product": "ambiguous"})
    return found[0]

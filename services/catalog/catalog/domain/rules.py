"""Catalog validation rules, free of I/O.

Every rule collects all problems of one request and raises one `ValidationFailed`
naming each field by its wire path (e.g. `rateTable.rates.2.key.destination`).
References are checked through a `References` reader the service layer provides.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from catalog.domain.model import OPPOSITE_CRITERIA, WILDCARD, FieldRole, FieldType, ProductType, Status
from chassis import money
from chassis.errors import Conflict, ValidationFailed
from pricing import is_currency, keys_overlap, minor_units

Doc = dict[str, Any]


class References(Protocol):
    """Reads of other catalog entries, as plain dicts (snake_case, Decimals), or None when absent."""

    def resource(self, code: str) -> Doc | None: ...
    def service_type(self, code: str) -> Doc | None: ...
    def tax(self, code: str) -> Doc | None: ...
    def offering(self, kind: str, code: str, version: int | None) -> Doc | None: ...


class Problems:
    """Collects field problems and raises them together."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, reason: str) -> None:
        self.fields.setdefault(field, reason)

    def raise_if_any(self, what: str = "") -> None:
        if self.fields:
            names = ", ".join(sorted(self.fields))
            raise ValidationFailed(f"{what + ': ' if what else ''}invalid value for: {names}", dict(self.fields))


# -- resources, service types, custom attributes ---------------------------------------

def check_resource(data: Doc) -> Doc:
    problems = Problems()
    if data["kind"] == "monetary":
        currency = data.get("currency")
        if not currency:
            problems.add("currency", "a monetary resource needs an ISO 4217 currency code")
        elif not is_currency(currency):
            problems.add("currency", f"{currency!r} is not a known ISO 4217 currency")
        elif data.get("minor_units") is None:
            data["minor_units"] = minor_units(currency)
        elif data["minor_units"] != minor_units(currency):
            problems.add("minorUnits", f"{currency} has {minor_units(currency)} minor units")
        if data.get("unit"):
            problems.add("unit", "a monetary resource has a currency, not a unit")
    else:
        if not data.get("unit"):
            problems.add("unit", "a unit resource needs its unit (e.g. MB, s, SMS)")
        if data.get("currency"):
            problems.add("currency", "a unit resource has no currency")
        data.setdefault("minor_units", 0)
        if data["minor_units"] is None:
            data["minor_units"] = 0
    order = data.get("consumption_order") or []
    if len(set(order)) != len(order):
        problems.add("consumptionOrder", "a criterion appears twice")
    for a, b in OPPOSITE_CRITERIA:
        if a in order and b in order:
            problems.add("consumptionOrder", f"{a} and {b} contradict each other")
    problems.raise_if_any("resource")
    return data


def check_fields(fields: list[Doc], allowed_types: Iterable[str], prefix: str, problems: Problems) -> None:
    """Field definitions (service-type fields and custom attributes share these rules)."""
    seen: set[str] = set()
    allowed = set(allowed_types)
    for i, field in enumerate(fields):
        where = f"{prefix}{i}." if prefix else ""
        if field["name"] in seen:
            problems.add(f"{where}name", f"field {field['name']!r} is defined twice")
        seen.add(field["name"])
        if field["type"] not in allowed:
            problems.add(f"{where}type", f"must be one of {', '.join(sorted(allowed))}")
        values = field.get("allowed_values") or []
        if field["type"] == FieldType.ENUM:
            if not values:
                problems.add(f"{where}allowedValues", "an enum needs its allowed values")
            elif len(set(values)) != len(values):
                problems.add(f"{where}allowedValues", "a value appears twice")
            elif WILDCARD in values:
                problems.add(f"{where}allowedValues", f"{WILDCARD!r} is reserved for rate-table wildcards")
        elif values:
            problems.add(f"{where}allowedValues", "only enum fields have allowed values")


def check_service_type(data: Doc) -> Doc:
    from catalog.domain.model import SERVICE_FIELD_TYPES

    problems = Problems()
    check_fields(data["fields"], SERVICE_FIELD_TYPES, "fields.", problems)
    problems.raise_if_any("service type")
    return data


def check_custom_attribute(data: Doc) -> Doc:
    from catalog.domain.model import ATTRIBUTE_TYPES

    problems = Problems()
    check_fields([data], ATTRIBUTE_TYPES, "", problems)
    problems.raise_if_any("custom attribute")
    return data


def coerce_value(field_type: str, value: Any, allowed_values: list[str] | None = None) -> Any:
    """A value of a typed field in its wire form; ValueError says what is wrong."""
    if field_type == FieldType.STRING:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value
    if field_type == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if field_type == FieldType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("must be an integer")
        try:
            return int(value)
        except ValueError as exc:
            raise ValueError("must be an integer") from exc
    if field_type == FieldType.DECIMAL:
        if isinstance(value, float):
            raise ValueError("must be a decimal string, not a float")
        try:
            return money.to_wire(money.to_decimal(value))
        except money.MoneyError as exc:
            raise ValueError(str(exc)) from exc
    if field_type == FieldType.DATETIME:
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string")
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError("must be an ISO 8601 date-time") from exc
        if moment.tzinfo is None:
            raise ValueError("must carry a time zone (e.g. Z)")
        return moment.astimezone(UTC).isoformat()
    if field_type == FieldType.ENUM:
        if value not in (allowed_values or []):
            raise ValueError(f"must be one of {', '.join(allowed_values or [])}")
        return value
    raise ValueError(f"unknown field type {field_type}")


def normalize_attributes(definitions: Mapping[str, Doc], values: Mapping[str, Any],
                         prefix: str = "customAttributes") -> Doc:
    """Custom attribute values checked against their definitions; all are optional, so a null
    value is dropped. Unknown names and bad values are problems named `<prefix>.<name>`."""
    if not isinstance(values, Mapping):
        raise ValidationFailed(f"{prefix} must be an object", {prefix: "must be an object"})
    problems = Problems()
    normalized: Doc = {}
    for name, value in values.items():
        definition = definitions.get(name)
        if definition is None:
            problems.add(f"{prefix}.{name}", "unknown custom attribute")
            continue
        if value is None:
            continue
        try:
            normalized[name] = coerce_value(definition["type"], value, definition.get("allowed_values"))
        except ValueError as exc:
            problems.add(f"{prefix}.{name}", str(exc))
    problems.raise_if_any("custom attributes")
    return normalized


# -- rate tables and products ---------------------------------------------------------

def check_rate_table(table: Doc, service_type: Doc, problems: Problems, prefix: str = "rateTable") -> None:
    """Keys are rating-set fields; each row names every key exactly once with a valid value or `*`;
    no two rows overlap; every combination of enum values has a rate."""
    rating = {f["name"]: f for f in service_type["fields"] if f["role"] == FieldRole.RATING_SET}
    keys = table["keys"]
    for i, key in enumerate(keys):
        if key not in rating:
            problems.add(f"{prefix}.keys.{i}", f"{key!r} is not a rating-set field of service type "
                                               f"{service_type['code']} ({', '.join(sorted(rating)) or 'none'})")
    if len(set(keys)) != len(keys):
        problems.add(f"{prefix}.keys", "a key appears twice")
    if not table["rates"]:
        problems.add(f"{prefix}.rates", "a rate table needs at least one rate")
    if problems.fields:
        return
    for i, rate in enumerate(table["rates"]):
        where = f"{prefix}.rates.{i}.key"
        for name in keys:
            if name not in rate["key"]:
                problems.add(f"{where}.{name}", "missing key (use \"*\" to match any value)")
            else:
                _check_key_value(rating[name], rate["key"][name], f"{where}.{name}", problems)
        for name in rate["key"]:
            if name not in keys:
                problems.add(f"{where}.{name}", "not a key of this rate table")
        for j in range(i):
            if keys_overlap(rate["key"], table["rates"][j]["key"]):
                problems.add(where, f"overlaps rate {j} ({_show(table['rates'][j]['key'])})")
                break
    if problems.fields:
        return
    enums = [name for name in keys if rating[name]["type"] == FieldType.ENUM]
    missing = []
    for combo in itertools.product(*(rating[name]["allowed_values"] for name in enums)):
        wanted = dict(zip(enums, combo, strict=True))
        if not any(all(r["key"][n] in (v, WILDCARD) for n, v in wanted.items()) for r in table["rates"]):
            missing.append(_show(wanted))
    if missing:
        shown = "; ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        problems.add(f"{prefix}.rates", f"missing keys: no rate for {shown}")


def _check_key_value(field: Doc, value: str, where: str, problems: Problems) -> None:
    if value == WILDCARD or field["type"] == FieldType.STRING:
        return
    try:
        coerce_value(field["type"], value, field.get("allowed_values"))
    except ValueError as exc:
        problems.add(where, str(exc))


def _show(key: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(key.items())) or "(any)"


_TYPE_FIELDS = {
    ProductType.SERVICE: {"service_type", "resource", "price_resource", "rate_table", "free_units"},
    ProductType.RECURRING_FEE: {"amount", "resource", "interval", "proration"},
    ProductType.ONE_TIME_FEE: {"amount", "resource"},
    ProductType.DISCOUNT: {"discount", "resource"},
}
_WIRE = {"service_type": "serviceType", "price_resource": "priceResource", "rate_table": "rateTable",
         "free_units": "freeUnits"}
_REQUIRED = {
    ProductType.SERVICE: ["service_type", "resource", "price_resource", "rate_table"],
    ProductType.RECURRING_FEE: ["amount", "resource", "interval"],
    ProductType.ONE_TIME_FEE: ["amount", "resource"],
    ProductType.DISCOUNT: ["discount"],
}


def check_product(data: Doc, refs: References) -> Doc:
    problems = Problems()
    kind = ProductType(data["type"])
    for name in set().union(*_TYPE_FIELDS.values()) - _TYPE_FIELDS[kind]:
        if data.get(name) is not None:
            problems.add(_WIRE.get(name, name), f"not used by a {kind.value} product")
    for name in _REQUIRED[kind]:
        if data.get(name) is None:
            problems.add(_WIRE.get(name, name), f"required for a {kind.value} product")
    if data.get("tax") and refs.tax(data["tax"]) is None:
        problems.add("tax", f"unknown tax {data['tax']!r}")
    if problems.fields:
        problems.raise_if_any("product")
    if kind is ProductType.SERVICE:
        _check_resource_ref(refs, data["resource"], "unit", "resource", problems)
        _check_resource_ref(refs, data["price_resource"], "monetary", "priceResource", problems)
        service_type = refs.service_type(data["service_type"])
        if service_type is None:
            problems.add("serviceType", f"unknown service type {data['service_type']!r}")
        else:
            check_rate_table(data["rate_table"], service_type, problems)
    elif kind in (ProductType.RECURRING_FEE, ProductType.ONE_TIME_FEE):
        _check_resource_ref(refs, data["resource"], "monetary", "resource", problems)
        if kind is ProductType.RECURRING_FEE and data.get("proration") is None:
            data["proration"] = "daily"
    else:
        discount = data["discount"]
        if discount["kind"] == "percentage":
            if discount["value"] > 100:
                problems.add("discount.value", "a percentage is at most 100")
            if data.get("resource"):
                problems.add("resource", "a percentage discount has no resource")
        elif not data.get("resource"):
            problems.add("resource", "an amount discount needs its monetary resource")
        else:
            _check_resource_ref(refs, data["resource"], "monetary", "resource", problems)
        for i, code in enumerate((discount.get("applies_to") or {}).get("products") or []):
            if refs.offering("product", code, None) is None:
                problems.add(f"discount.appliesTo.products.{i}", f"unknown product {code!r}")
    problems.raise_if_any("product")
    return data


def _check_resource_ref(refs: References, code: str, kind: str, field: str, problems: Problems) -> None:
    resource = refs.resource(code)
    if resource is None:
        problems.add(field, f"unknown resource {code!r}")
    elif resource["kind"] != kind:
        problems.add(field, f"resource {code!r} is {resource['kind']}, a {kind} resource is needed")


def default_value(product: Mapping[str, Any]) -> Decimal | None:
    """The value shown (and editable) at purchase: the fee, the free units or the discount."""
    if product.get("amount") is not None:
        return product["amount"]
    if product.get("discount"):
        return product["discount"]["value"]
    return product.get("free_units")


# -- references between versioned offerings -------------------------------------------------

def pin_references(refs_in: list[Doc], kind: str, refs: References, field: str, problems: Problems,
                   *, single: bool = False) -> list[Doc]:
    """`{code, version?}` → `{code, version}` of an existing, not retired version; without a
    version the active one (else the newest draft)."""
    pinned: list[Doc] = []
    seen: set[str] = set()
    for i, ref in enumerate(refs_in):
        where = field if single else f"{field}.{i}"
        if ref["code"] in seen:
            problems.add(f"{where}.code", f"{kind} {ref['code']!r} is listed twice")
            continue
        seen.add(ref["code"])
        target = refs.offering(kind, ref["code"], ref.get("version"))
        if target is None:
            version = f" version {ref['version']}" if ref.get("version") else ""
            problems.add(f"{where}.code", f"unknown {kind} {ref['code']!r}{version}")
            continue
        if target["status"] == Status.RETIRED:
            problems.add(f"{where}.version", f"{kind} {ref['code']} version {target['version']} is retired")
            continue
        pinned.append({"code": target["code"], "version": target["version"], "_target": target})
    return pinned


def pin_reference(ref: Doc, kind: str, refs: References, field: str, problems: Problems) -> Doc | None:
    """One reference pinned as `pin_references` pins it; None when it cannot be (the problem is added)."""
    pinned = pin_references([ref], kind, refs, field, problems, single=True)
    return pinned[0] if pinned else None


def check_bundle(data: Doc, refs: References) -> Doc:
    problems = Problems()
    data["products"] = [_strip(r) for r in pin_references(data["products"], "product", refs, "products", problems)]
    problems.raise_if_any("bundle")
    return data


def check_plan(data: Doc, refs: References) -> Doc:
    problems = Problems()
    bundles = pin_references(data["bundles"], "bundle", refs, "bundles", problems)
    add_ons = pin_references(data.get("add_ons") or [], "bundle", refs, "addOns", problems)
    for field, pinned, wanted in (("bundles", bundles, False), ("addOns", add_ons, True)):
        for i, ref in enumerate(pinned):
            if bool(ref["_target"].get("add_on")) != wanted:
                problems.add(f"{field}.{i}.code", f"bundle {ref['code']} is {'not ' if wanted else ''}an add-on bundle")
    if len(set(data["payment_types"])) != len(data["payment_types"]):
        problems.add("paymentTypes", "a payment type appears twice")
    problems.raise_if_any("plan")
    data["bundles"] = [_strip(r) for r in bundles]
    data["add_ons"] = [_strip(r) for r in add_ons]
    return data


def _strip(ref: Doc) -> Doc:
    return {"code": ref["code"], "version": ref["version"]}


# -- versions ---------------------------------------------------------------------------------

def ensure_editable(kind: str, entry: Mapping[str, Any]) -> None:
    """Only a draft changes in place: an active or retired version may have been sold."""
    if entry["status"] != Status.DRAFT:
        raise Conflict(f"{kind} {entry['code']} version {entry['version']} is {entry['status']} and may have been "
                       f"sold; publish a new version instead")


def ensure_publishable(kind: str, entry: Mapping[str, Any], parts: Sequence[Mapping[str, Any]]) -> None:
    if entry["status"] != Status.DRAFT:
        raise Conflict(f"{kind} {entry['code']} version {entry['version']} is {entry['status']}; "
                       f"only a draft is published")
    inactive = [f"{p['kind']} {p['code']} version {p['version']} ({p['status']})" for p in parts
                if p["status"] != Status.ACTIVE]
    if inactive:
        raise Conflict(f"{kind} {entry['code']} refers to versions that are not active: {', '.join(inactive)}",
                       {"references": "; ".join(inactive)})


def ensure_retirable(kind: str, entry: Mapping[str, Any]) -> None:
    if entry["status"] != Status.ACTIVE:
        raise Conflict(f"{kind} {entry['code']} version {entry['version']} is {entry['status']}; only an active "
                       f"version is retired")


# -- credit profiles, sharing policies, promotions ---------------------------------------------

def check_credit_profile(data: Doc, refs: References) -> Doc:
    problems = Problems()
    seen: set[str] = set()
    for i, limit in enumerate(data["limits"]):
        where = f"limits.{i}"
        if limit["resource"] in seen:
            problems.add(f"{where}.resource", f"resource {limit['resource']} has two limits")
        seen.add(limit["resource"])
        if refs.resource(limit["resource"]) is None:
            problems.add(f"{where}.resource", f"unknown resource {limit['resource']!r}")
        for j, threshold in enumerate(limit.get("thresholds") or []):
            if threshold["kind"] == "percent" and threshold["value"] > 100:
                problems.add(f"{where}.thresholds.{j}.value", "a percentage is at most 100")
            if threshold["kind"] == "amount" and threshold["value"] > limit["credit_limit"]:
                problems.add(f"{where}.thresholds.{j}.value", "above the credit limit")
    problems.raise_if_any("credit profile")
    return data


def check_sharing_policy(data: Doc, refs: References) -> Doc:
    problems = Problems()
    seen: set[str] = set()
    for i, shared in enumerate(data["resources"]):
        if shared["resource"] in seen:
            problems.add(f"resources.{i}.resource", f"resource {shared['resource']} is listed twice")
        seen.add(shared["resource"])
        if refs.resource(shared["resource"]) is None:
            problems.add(f"resources.{i}.resource", f"unknown resource {shared['resource']!r}")
    problems.raise_if_any("sharing policy")
    return data


def check_validity_window(data: Doc, problems: Problems) -> None:
    if data.get("valid_to") is not None and data["valid_to"] <= data["valid_from"]:
        problems.add("validTo", "must be after validFrom")


def check_coupon(data: Doc, refs: References) -> Doc:
    problems = Problems()
    check_validity_window(data, problems)
    pinned = pin_reference(data["discount"], "product", refs, "discount", problems)
    if pinned is not None:
        if pinned["_target"]["type"] != ProductType.DISCOUNT:
            problems.add("discount.code", f"product {pinned['code']} is not a discount")
        data["discount"] = _strip(pinned)
    problems.raise_if_any("coupon")
    return data


def check_voucher_batch(data: Doc, refs: References) -> Doc:
    problems = Problems()
    check_validity_window(data, problems)
    pinned = pin_reference(data["bundle"], "bundle", refs, "bundle", problems)
    if pinned is not None:
        data["bundle"] = _strip(pinned)
    problems.raise_if_any("voucher batch")
    return data


def promotion_window_problem(valid_from: datetime, valid_to: datetime | None, now: datetime) -> str | None:
    if now < valid_from:
        return f"not valid before {valid_from.isoformat()}"
    if valid_to is not None and now >= valid_to:
        return f"expired at {valid_to.isoformat()}"
    return None

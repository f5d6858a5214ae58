"""HTML forms <-> API bodies (no I/O).

Every input is named with the dotted path of its field in the API body
(`account.firstName`, `subscription.plan.products.0.quantity`), so one function turns a
submitted form into the request body, and the API's field errors (`invalid_params`, named
the same way) land next to the input that caused them. Empty inputs are left out: the API
then applies its own defaults and its own "required" rule.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

INTEGER_FIELDS = re.compile(r"(^|\.)(billingDay|version|count)$")
BOOLEAN_FIELDS = re.compile(r"(^|\.)(purchase|enabled)$")
LIST_FIELDS = re.compile(r"(^|\.)promoCodes$")
# Inputs that steer the form itself and are never sent (and any named `_...`, e.g. a search box).
CONTROL_FIELDS = {"csrf_token", "idempotency_key", "step"}


def _coerce(name: str, value: str, types: dict[str, str]) -> Any:
    kind = types.get(name)
    if kind == "boolean" or BOOLEAN_FIELDS.search(name):
        return value.lower() in ("true", "on", "1", "yes")
    if kind == "integer" or INTEGER_FIELDS.search(name):
        return int(value) if re.fullmatch(r"-?\d+", value) else value  # let the API name a bad number
    if LIST_FIELDS.search(name):
        return [part for part in re.split(r"[\s,;]+", value) if part]
    return value


def unflatten(pairs: Iterable[tuple[str, Any]], types: dict[str, str] | None = None) -> dict[str, Any]:
    """[("a.b", "1"), ("a.c.0.d", "x")] -> {"a": {"b": "1", "c": [{"d": "x"}]}}; numeric parts make lists."""
    tree: dict[str, Any] = {}
    for name, raw in pairs:
        value = raw.strip() if isinstance(raw, str) else raw
        if name in CONTROL_FIELDS or name.startswith("_") or value in ("", None):
            continue
        parts = name.split(".")
        node: Any = tree
        for part, following in zip(parts, parts[1:], strict=False):
            node = node.setdefault(part, [] if following.isdigit() else {}) if isinstance(node, dict) \
                else _slot(node, int(part), following)
        leaf = _coerce(name, value, types or {})
        if isinstance(node, list):
            _grow(node, int(parts[-1]))
            node[int(parts[-1])] = leaf
        else:
            node[parts[-1]] = leaf
    return _compact(tree)


def _grow(items: list[Any], index: int) -> None:
    items.extend([None] * (index + 1 - len(items)))


def _slot(items: list[Any], index: int, following: str) -> Any:
    _grow(items, index)
    if items[index] is None:
        items[index] = [] if following.isdigit() else {}
    return items[index]


def _compact(value: Any) -> Any:
    """Lists lose the holes left by rows whose inputs were all empty."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value if v not in (None, {}, [])]
    return value


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """The inverse, to fill a form again from a body (booleans as "true")."""
    out: dict[str, str] = {}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
    if items is None:
        if value is not None:
            out[prefix] = "true" if value is True else "" if value is False else ", ".join(value) \
                if isinstance(value, tuple) else str(value)
        return out
    for key, child in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(child, list) and child and not isinstance(child[0], (dict, list)):
            out[name] = ", ".join(str(c) for c in child)
        else:
            out.update(flatten(child, name))
    return out


def onboarding_body(pairs: Iterable[tuple[str, Any]], attribute_types: dict[str, str]) -> dict[str, Any]:
    """The OnboardingRequest of the wizard's form. Only the chosen payment method's fields are
    sent; the billing address only when it differs; sharing/hierarchy only when a group is picked."""
    types = {f"account.customAttributes.{name}": kind for name, kind in attribute_types.items()}
    body = unflatten(pairs, types)
    payment = body.setdefault("paymentInfo", {})
    _keep_method_fields(payment)
    if not body.get("billingAddressDiffers"):
        payment.pop("billingAddress", None)
    body.pop("billingAddressDiffers", None)
    for group in ("sharing", "hierarchy"):
        if not (body.get(group) or {}).get("groupId"):
            body.pop(group, None)
        else:
            body[group] = {"groupId": body[group]["groupId"]}
    plan = body.get("subscription", {}).get("plan")
    if plan:
        plan["products"] = product_choices(plan.get("products", []))
    return body


def product_choices(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The product table's rows (plan or bundle) as OnboardingProductChoice items."""
    return [_product_choice(row) for row in rows if row.get("code")]


def codes(value: Any) -> list[str]:
    """A typed list of codes (commas, semicolons or spaces between them)."""
    return [part for part in re.split(r"[\s,;]+", str(value or "")) if part]


def _keep_method_fields(payment: dict[str, Any]) -> None:
    method = payment.get("method")
    for name in ("creditCard", "directDebit"):
        if name != method:
            payment.pop(name, None)


def _product_choice(row: dict[str, Any]) -> dict[str, Any]:
    choice = {k: v for k, v in row.items() if k not in ("optional", "validity")}
    if row.get("optional"):
        choice["purchase"] = bool(row.get("purchase"))
    else:
        choice.pop("purchase", None)
    validity = row.get("validity") or {}
    if validity.get("unit"):
        choice["validity"] = {"unit": validity["unit"],
                              **({"count": validity["count"]} if validity.get("count") and
                                 validity["unit"] != "unlimited" else {})}
    return choice


def payment_info_body(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The PaymentInfoInput of the payment information form (same rules as in the wizard)."""
    body = onboarding_body(pairs, {})
    return body.get("paymentInfo", {})

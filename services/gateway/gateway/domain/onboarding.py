"""Onboarding rules, free of I/O: validating a request against its plan, building the product snapshot,
service identifiers, request fingerprints and the steps of the saga."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from decimal import Decimal
from typing import Any

from chassis.errors import PlatformError, ValidationFailed
from chassis.money import MoneyError, to_decimal, to_wire

# The saga's steps in execution order; compensation runs them backwards.
CUSTOMER, BILLING_PROFILE, BALANCE_GROUP, PROMOTIONS, SUBSCRIPTION, SHARING, HIERARCHY = (
    "customer", "billingProfile", "balanceGroup", "promotions", "subscription", "sharing", "hierarchy")
STEPS = (CUSTOMER, BILLING_PROFILE, BALANCE_GROUP, PROMOTIONS, SUBSCRIPTION, SHARING, HIERARCHY)
# Where a service's field errors point in the onboarding request.
FIELD_PREFIX = {CUSTOMER: "account.", BILLING_PROFILE: "subscription.", BALANCE_GROUP: "subscription.",
                PROMOTIONS: "subscription.promoCodes.", SUBSCRIPTION: "subscription.", SHARING: "sharing.",
                HIERARCHY: "hierarchy."}


def request_fingerprint(body: dict[str, Any]) -> str:
    """Same JSON content, same fingerprint (key order and whitespace do not matter)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class EpochIdentifiers:
    """The seed's rule for a missing service identifier: the current epoch timestamp. In milliseconds and
    strictly increasing within the process, so two onboardings in the same second do not collide."""

    def __init__(self, clock: Any = time.time):
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last = max(int(self._clock() * 1000), self._last + 1)
            return str(self._last)


def check_request(body: dict[str, Any]) -> None:
    """What the OpenAPI schema cannot say."""
    if body["account"].get("paymentInfo") is not None:
        raise ValidationFailed("payment info belongs in its own section",
                               {"account.paymentInfo": "give it as the top-level paymentInfo section"})


def check_plan_choice(plan: dict[str, Any], subscription: dict[str, Any], resource: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if subscription["paymentType"] not in plan.get("paymentTypes", []):
        errors["subscription.paymentType"] = f"plan {plan['code']} is sold as {', '.join(plan['paymentTypes'])}"
    if resource.get("kind") != "monetary":
        errors["subscription.resource"] = "must be a monetary resource (a currency)"
    if errors:
        raise ValidationFailed("the subscription does not fit the plan", errors)


def _decimal(value: Any, field: str, errors: dict[str, str], positive: bool = False) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = to_decimal(value)
    except MoneyError as exc:
        errors[field] = str(exc)
        return None
    if positive and amount <= 0:
        errors[field] = "must be greater than 0"
    return amount


def snapshot_products(plan: dict[str, Any], chosen: list[dict[str, Any]], global_identifier: str | None,
                      new_identifier: Any, products_path: str = "subscription.plan.products",
                      identifier_path: str = "subscription.serviceIdentifier",
                      known: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The plan's (or an add-on bundle's) products as bought: the operator's quantity, value, validity,
    purchase flag and service identifier over the catalog defaults. A service product without its own
    identifier takes the global one, else the one its service type already has on the subscription (`known`),
    else one epoch-timestamp identifier (decision 0403). Returns the products (rating's wire format) and, per
    product, the request field its service identifier came from."""
    known = known or {}
    errors: dict[str, str] = {}
    catalog = [(bundle, product) for bundle in plan["bundles"] for product in bundle["products"]]
    overrides: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for i, choice in enumerate(chosen):
        path = f"{products_path}.{i}"
        matches = [(b, p) for b, p in catalog if p["code"] == choice["code"]
                   and choice.get("bundle") in (None, b["code"])]
        if not matches:
            errors[f"{path}.code"] = f"plan {plan['code']} has no product {choice['code']}" + (
                f" in bundle {choice['bundle']}" if choice.get("bundle") else "")
            continue
        if len(matches) > 1:
            errors[f"{path}.bundle"] = f"product {choice['code']} is in several bundles: name the bundle"
            continue
        key = (matches[0][0]["code"], choice["code"])
        if key in overrides:
            errors[f"{path}.code"] = f"product {choice['code']} is listed twice"
            continue
        overrides[key] = (i, choice)
    generated: list[str] = []  # at most one generated identifier per onboarding, for every service type
    products, origins = [], []
    for bundle, product in catalog:
        chosen_at, choice = overrides.get((bundle["code"], product["code"]), (None, {}))
        path = f"{products_path}.{chosen_at}"
        purchased = choice.get("purchase", not product.get("optional", False))
        if not purchased and not product.get("optional", False):
            errors[f"{path}.purchase"] = f"product {product['code']} is not optional"
        quantity = _decimal(choice.get("quantity", product.get("defaultQuantity") or "1"), f"{path}.quantity",
                            errors, positive=True)
        value = _decimal(choice.get("value", product.get("defaultValue")), f"{path}.value", errors)
        identifier, origin = None, None
        if purchased and product["type"] == "service":
            if choice.get("serviceIdentifier"):
                identifier, origin = choice["serviceIdentifier"], f"{path}.serviceIdentifier"
            elif global_identifier:
                identifier, origin = global_identifier, identifier_path
            elif product.get("serviceType") in known:
                identifier, origin = known[product["serviceType"]], identifier_path
            else:
                generated = generated or [new_identifier()]
                identifier, origin = generated[0], identifier_path
        products.append(_product(product, bundle, quantity, value, choice.get("validity", product.get(
            "defaultValidity")), purchased, identifier))
        origins.append(origin or products_path)
    if errors:
        raise ValidationFailed("the plan's products are not valid as chosen", errors)
    return products, origins


def _product(product: dict[str, Any], bundle: dict[str, Any] | None, quantity: Decimal | None,
             value: Decimal | None, validity: Any, purchased: bool, identifier: str | None,
             promo_code: str | None = None) -> dict[str, Any]:
    return {"bundleCode": bundle["code"] if bundle else None, "bundleVersion": bundle["version"] if bundle else None,
            "promoCode": promo_code, "code": product["code"], "version": product["version"], "name": product["name"],
            "type": product["type"], "serviceType": product.get("serviceType"),
            "quantity": to_wire(quantity or Decimal(1)), "value": None if value is None else to_wire(value),
            "validity": validity, "purchased": purchased, "resource": product.get("resource"),
            "freeUnits": product.get("freeUnits"), "serviceIdentifier": identifier,
            # What billing needs for the fees (decision 0010), and the Purchase rule rating checks again.
            "optional": bool(product.get("optional", False)), "currency": _currency(product),
            "interval": product.get("interval"), "proration": product.get("proration"), "tax": product.get("tax"),
            "glCode": product.get("glCode"), "discount": product.get("discount")}


def _currency(product: dict[str, Any]) -> str | None:
    """The monetary resource a product's amounts are in: a service's price resource, a fee's resource, an
    amount discount's resource; a percentage discount has none."""
    if product["type"] == "service":
        return product.get("priceResource")
    if product["type"] == "discount" and (product.get("discount") or {}).get("kind") != "amount":
        return None
    return product.get("resource")


def promotion_products(promotion: dict[str, Any], bundle: dict[str, Any] | None,
                       identifiers: dict[str, str], new_identifier: Any) -> list[dict[str, Any]]:
    """Products a promotion adds: a coupon's discount, or every product of a voucher's bundle. A service
    product uses the identifier the plan already gave its service type (or any of the onboarding's)."""
    if promotion["kind"] == "coupon":
        return [_product(promotion["discount"], None, None, None, None, True, None, promotion["code"])]
    added = []
    for product in (bundle or {}).get("products", []):
        identifier = None
        if product["type"] == "service":
            known = identifiers.get(product["serviceType"]) or next(iter(identifiers.values()), None)
            identifier = identifiers.setdefault(product["serviceType"], known or new_identifier())
        added.append(_product(product, bundle, _decimal(product.get("defaultQuantity") or "1", "", {}),
                              _decimal(product.get("defaultValue"), "", {}), product.get("defaultValidity"), True,
                              identifier, promotion["code"]))
    return added


def service_identifiers(products: list[dict[str, Any]]) -> dict[str, str]:
    """Service type -> identifier of the purchased service products."""
    return {p["serviceType"]: p["serviceIdentifier"] for p in products
            if p["purchased"] and p["type"] == "service" and p["serviceIdentifier"]}


def request_fields(fields: dict[str, Any], origins: list[str], prefix: str = "") -> dict[str, Any]:
    """Rating's field names for a purchase as paths of the operator's request: a service identifier error
    points where that identifier came from (`origins`, per product), anything else gets `prefix`."""
    named: dict[str, Any] = {}
    for name, reason in fields.items():
        parts = name.split(".")
        if parts[0] == "products" and len(parts) > 2 and parts[1].isdigit() \
                and parts[2] == "serviceIdentifier" and int(parts[1]) < len(origins):
            named[origins[int(parts[1])]] = reason
        else:
            named[prefix + name] = reason
    return named


def step_fields(step: str, error: PlatformError, origins: list[str]) -> dict[str, Any]:
    """A service's field names as paths of the onboarding request."""
    if step == SUBSCRIPTION:
        return request_fields(error.fields, origins, FIELD_PREFIX[step])
    if step == CUSTOMER:
        return {name if name.split(".")[0] == "paymentInfo" else FIELD_PREFIX[step] + name: reason
                for name, reason in error.fields.items()}
    return {FIELD_PREFIX[step] + name: reason for name, reason in error.fields.items()}


class OnboardingFailed(PlatformError):
    """One clear error for the operator: which step failed, why, and whether everything was undone."""

    def __init__(self, detail: str = "", fields: dict[str, Any] | None = None, status: int = 500,
                 code: str = "internal", title: str = "Internal error", onboarding_id: str = "",
                 failed_step: str = "", compensated: bool = True):
        super().__init__(detail, fields)
        self.args = (detail, fields or {}, status, code, title, onboarding_id, failed_step, compensated)
        self.status, self.code, self.title = status, code, title
        self.onboarding_id, self.failed_step, self.compensated = onboarding_id, failed_step, compensated

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        problem = super().to_problem(instance)
        problem.update({"onboardingId": self.onboarding_id, "failedStep": self.failed_step,
                        "compensated": self.compensated})
        return problem

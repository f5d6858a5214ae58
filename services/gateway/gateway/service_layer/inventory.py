"""Product inventory orchestration (TMF637): purchases on an existing customer. The gateway reads the catalog
(plans and bundles at their versions), builds the product snapshot with the operator's choices, redeems
vouchers in catalog and hands the purchase to rating; when rating refuses, the vouchers are released (and
the subscription discarded, in case the refused call still lands), so a failed purchase leaves nothing."""
from __future__ import annotations

import uuid
from typing import Any, Protocol

from chassis.errors import Conflict, NotFound, PlatformError, ValidationFailed
from gateway.domain import onboarding as rules
from gateway.service_layer import promotions
from gateway.service_layer.onboarding import _identifiers

REASON = "purchase failed"


class Rpc(Protocol):
    def call(self, service: str, method: str, *args: Any) -> Any: ...


def read(rpc: Rpc, field: str, service: str, method: str, *args: Any) -> Any:
    """A read of something the request names: when it does not exist, the request is wrong (400 naming it)."""
    try:
        return rpc.call(service, method, *args)
    except (NotFound, Conflict) as exc:
        raise ValidationFailed(exc.detail, {field: exc.detail}) from exc


def customer(rpc: Rpc, customer_id: int) -> dict[str, Any]:
    """The customer the path names (404 when it does not exist)."""
    return rpc.call("customer", "get_customer", customer_id)


def _plan_ref(plan: dict[str, Any]) -> dict[str, Any]:
    return {"code": plan["code"], "version": plan["version"], "name": plan["name"]}


def _known_identifiers(subscription: dict[str, Any]) -> dict[str, str]:
    """Service type -> identifier of the subscription's services in use (an add-on's data product is rated on
    the plan's data service)."""
    return {s["serviceType"]: s["identifier"] for s in subscription["services"] if s["status"] != "terminated"}


def _code_error(error: PlatformError, prefix: str) -> PlatformError:
    """A promotion code that does not exist is a bad request naming it; one already used stays a conflict."""
    fields = {f"{prefix}{name}": reason for name, reason in error.fields.items()}
    return (ValidationFailed if isinstance(error, NotFound) else type(error))(error.detail, fields)


def _with_vouchers(rpc: Rpc, codes: list[str], customer_id: int, subscription_id: str,
                   identifiers: dict[str, str], purchase: Any, origins: list[str], vouchers_only: bool = False,
                   discard_on_failure: bool = False) -> tuple[list[dict[str, Any]], Any]:
    """Redeem the codes, then `purchase(added_products)`; on any failure release what was redeemed."""
    redeemed: list[str] = []
    codes_field = "codes" if vouchers_only else "promoCodes"
    try:
        try:
            summary, added = promotions.redeem(rpc, codes, customer_id, subscription_id, identifiers,
                                               _identifiers.next, vouchers_only, redeemed)
        except PlatformError as exc:
            raise _code_error(exc, codes_field + ".") from exc
        try:
            return summary, purchase(added)
        except PlatformError as exc:
            raise type(exc)(exc.detail, rules.request_fields(exc.fields, origins + [codes_field] * len(added))) \
                from exc
    except PlatformError:
        if discard_on_failure:
            # The refused (or timed-out) create may still land: discarding its id refuses it for good.
            rpc.call("rating", "discard_subscription", subscription_id, REASON)
        promotions.release(rpc, redeemed, subscription_id)
        raise


def add_subscription(rpc: Rpc, customer_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Seed "Adding subscriptions": a balance group and a plan, optional promotion codes."""
    customer(rpc, customer_id)
    group = read(rpc, "balanceGroupId", "rating", "get_balance_group", body["balanceGroupId"], customer_id)
    chosen = body["plan"]
    plan = read(rpc, "plan.code", "catalog", "get_plan", chosen["code"], chosen.get("version"))
    products, origins = rules.snapshot_products(plan, chosen.get("products", []), body.get("serviceIdentifier"),
                                                _identifiers.next, "plan.products", "serviceIdentifier")
    subscription_id = str(uuid.uuid4())
    codes = body.get("promoCodes", [])
    # Rating charges by the profile's payment type from the first event, before billing's cycle announcement
    # reaches it (a prepaid line must not be charged as postpaid meanwhile).
    profile = read(rpc, "balanceGroupId", "billing", "get_billing_profile", group["billingProfileId"])

    def purchase(added: list[dict[str, Any]]) -> Any:
        return rpc.call("rating", "create_subscription", {
            "id": subscription_id, "customerId": customer_id, "balanceGroupId": group["id"],
            "billingProfileId": group["billingProfileId"], "plan": _plan_ref(plan), "products": products + added,
            "promoCodes": codes, "validFrom": body.get("validFrom"), "paymentType": profile["paymentType"]})

    summary, subscription = _with_vouchers(rpc, codes, customer_id, subscription_id,
                                           rules.service_identifiers(products), purchase, origins,
                                           discard_on_failure=True)
    return {**subscription, "promotions": summary}


def _subscription(rpc: Rpc, customer_id: int, subscription_id: str) -> dict[str, Any]:
    subscription = rpc.call("rating", "get_subscription", subscription_id, customer_id)
    if subscription["status"] != "active":
        raise Conflict(f"subscription {subscription_id} is {subscription['status']}")
    return subscription


def add_bundle(rpc: Rpc, customer_id: int, subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Seed "Add-on bundle": one of the plan's add-on bundles, products editable, optional promotion codes."""
    subscription = _subscription(rpc, customer_id, subscription_id)
    chosen = body["bundle"]
    plan = rpc.call("catalog", "get_plan", subscription["planCode"], subscription["planVersion"])
    if chosen["code"] not in {a["code"] for a in plan.get("addOns", [])}:
        raise ValidationFailed(f"bundle {chosen['code']} is not an add-on of plan {plan['code']}",
                               {"bundle.code": f"is not an add-on of plan {plan['code']}"})
    bundle = read(rpc, "bundle.code", "catalog", "get_bundle", chosen["code"], chosen.get("version"))
    known = _known_identifiers(subscription)
    products, origins = rules.snapshot_products({"code": plan["code"], "bundles": [bundle]}, body.get("products", []),
                                          body.get("serviceIdentifier"), _identifiers.next, "products",
                                          "serviceIdentifier", known)
    codes = body.get("promoCodes", [])
    request_id = str(uuid.uuid4())

    def purchase(added: list[dict[str, Any]]) -> Any:
        return rpc.call("rating", "add_products", customer_id, subscription_id, {
            "requestId": request_id, "products": products + added, "promoCodes": codes, "change": "addon"})

    summary, result = _with_vouchers(rpc, codes, customer_id, subscription_id, known, purchase, origins)
    return {**result, "promotions": summary}


def use_vouchers(rpc: Rpc, customer_id: int, subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Seed "Use voucher": each code buys its bundle once; all or nothing."""
    subscription = _subscription(rpc, customer_id, subscription_id)
    codes = body["codes"]
    request_id = str(uuid.uuid4())

    def purchase(added: list[dict[str, Any]]) -> Any:
        return rpc.call("rating", "add_products", customer_id, subscription_id, {
            "requestId": request_id, "products": added, "promoCodes": codes, "change": "voucher"})

    summary, result = _with_vouchers(rpc, codes, customer_id, subscription_id, _known_identifiers(subscription),
                                     purchase, [], vouchers_only=True)
    return {**result, "promotions": summary}


def _transition_payload(rpc: Rpc, customer_id: int, subscription_id: str,
                        body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    subscription = _subscription(rpc, customer_id, subscription_id)
    chosen = body["plan"]
    plan = read(rpc, "plan.code", "catalog", "get_plan", chosen["code"], chosen.get("version"))
    if (plan["code"], plan["version"]) == (subscription["planCode"], subscription["planVersion"]):
        raise ValidationFailed("the subscription already has this plan", {"plan.code": "is the current plan"})
    products, origins = rules.snapshot_products(plan, chosen.get("products", []), body.get("serviceIdentifier"),
                                                _identifiers.next, "plan.products", "serviceIdentifier",
                                                _known_identifiers(subscription))
    return {"plan": _plan_ref(plan), "products": products, "validFrom": body.get("validFrom"),
            "validTo": body.get("validTo")}, origins


def _transition_call(rpc: Rpc, method: str, customer_id: int, subscription_id: str,
                     body: dict[str, Any]) -> dict[str, Any]:
    payload, origins = _transition_payload(rpc, customer_id, subscription_id, body)
    try:
        return rpc.call("rating", method, customer_id, subscription_id, payload)
    except PlatformError as exc:
        raise type(exc)(exc.detail, rules.request_fields(exc.fields, origins)) from exc


def preview_transition(rpc: Rpc, customer_id: int, subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return _transition_call(rpc, "preview_plan_transition", customer_id, subscription_id, body)


def transition(rpc: Rpc, customer_id: int, subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return _transition_call(rpc, "transition_plan", customer_id, subscription_id, body)


def _check_credit_profile(rpc: Rpc, body: dict[str, Any]) -> None:
    """A credit profile the request names must exist in catalog (400 naming `creditProfile` otherwise)."""
    if body.get("creditProfile") is not None:
        read(rpc, "creditProfile", "catalog", "get_entry", "credit_profile", body["creditProfile"])


def create_balance_group(rpc: Rpc, customer_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Seed "Add balance group": name, validity and one of the customer's billing profiles."""
    customer(rpc, customer_id)
    profile = read(rpc, "billingProfileId", "billing", "get_billing_profile", body["billingProfileId"])
    if profile["customerId"] != customer_id:
        raise ValidationFailed("the billing profile belongs to another customer",
                               {"billingProfileId": "is not a billing profile of this customer"})
    _check_credit_profile(rpc, body)
    return rpc.call("rating", "create_balance_group", {**body, "customerId": customer_id})


def edit_balance_group(rpc: Rpc, customer_id: int, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Rename a balance group or choose its credit profile (the thresholds rating watches)."""
    _check_credit_profile(rpc, body)
    return rpc.call("rating", "edit_balance_group", customer_id, group_id, body)


def create_sharing_group(rpc: Rpc, customer_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Seed "Owner of a sharing group": name, validity, the shared subscription, a catalog policy, status."""
    customer(rpc, customer_id)
    read(rpc, "policy", "catalog", "get_entry", "sharing_policy", body["policy"])
    return rpc.call("rating", "create_sharing_group", {**body, "ownerCustomerId": customer_id})


def find_sharing_groups(rpc: Rpc, owner_name: str, limit: int = 50) -> list[dict[str, Any]]:
    """Seed "Member of a sharing group": search the owner by full name, then pick the group."""
    owners = {c["id"]: c for c in rpc.call("customer", "search_customers", {"name": owner_name}, 0, limit)["items"]}
    if not owners:
        return []
    groups = rpc.call("rating", "list_sharing_groups", list(owners))
    return [{**g, "ownerName": owners[g["ownerCustomerId"]].get("name")} for g in groups]


def join_sharing_group(rpc: Rpc, customer_id: int, body: dict[str, Any]) -> dict[str, Any]:
    customer(rpc, customer_id)
    try:
        return rpc.call("rating", "join_sharing_group", {"groupId": body["groupId"], "customerId": customer_id})
    except NotFound as exc:
        raise ValidationFailed(exc.detail, {"groupId": exc.detail}) from exc

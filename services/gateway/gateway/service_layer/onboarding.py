"""The onboarding saga: customer -> billing profile -> balance group -> promotions -> subscription (+ services)
-> sharing / hierarchy membership. When a step fails, the steps done (and the one whose outcome is unknown)
are compensated in reverse order and the operator gets one problem naming the failed step.

Runs in the API process for the request; `recover_stale` runs in the gateway worker and compensates sagas
whose process died (their lease ran out).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

from chassis.errors import Conflict, NotFound, PlatformError, Unavailable, ValidationFailed
from gateway.adapters.sagas import (
    COMPENSATED,
    COMPENSATING,
    COMPENSATION_FAILED,
    COMPLETED,
    DONE,
    FAILED,
    STARTED,
    UNDO_FAILED,
    UNDONE,
    LostOwnership,
    SagaStore,
)
from gateway.domain import onboarding as rules
from gateway.domain.onboarding import (
    BALANCE_GROUP,
    BILLING_PROFILE,
    CUSTOMER,
    HIERARCHY,
    PROMOTIONS,
    SHARING,
    STEPS,
    SUBSCRIPTION,
    OnboardingFailed,
)
from gateway.service_layer import promotions

log = logging.getLogger(__name__)
REASON = "onboarding failed"
PROMOTIONS_ORIGIN = "subscription.promoCodes"
# Which service call does each step (named in the operator's error).
CALLS = {CUSTOMER: "customer.create_customer", BILLING_PROFILE: "billing.create_billing_profile",
         BALANCE_GROUP: "rating.create_balance_group", PROMOTIONS: "catalog.redeem_voucher",
         SUBSCRIPTION: "rating.create_subscription", SHARING: "rating.join_sharing_group",
         HIERARCHY: "billing.join_hierarchy_group"}


class Rpc(Protocol):
    def call(self, service: str, method: str, *args: Any) -> Any: ...


_identifiers = rules.EpochIdentifiers()


def onboard(rpc: Rpc, store: SagaStore, body: dict[str, Any], idempotency_key: str | None,
            owner: str) -> tuple[dict[str, Any], int, bool]:
    """Returns (summary, HTTP status, replayed)."""
    fingerprint = rules.request_fingerprint(body)
    if idempotency_key:
        previous = _previous(store, idempotency_key, fingerprint)
        if previous is not None:
            return previous, 201, True
    rules.check_request(body)
    sub = body["subscription"]
    plan = _read(rpc, "subscription.plan", "catalog", "get_plan", sub["plan"]["code"], sub["plan"].get("version"))
    resource = _read(rpc, "subscription.resource", "catalog", "get_resource", sub["resource"])
    rules.check_plan_choice(plan, sub, resource)
    products, origins = rules.snapshot_products(plan, sub["plan"].get("products", []), sub.get("serviceIdentifier"),
                                                _identifiers.next)
    saga = {"_id": str(uuid.uuid4()), "request_hash": fingerprint, "request": body, "owner": owner,
            "ids": {"billingProfile": str(uuid.uuid4()), "balanceGroup": str(uuid.uuid4()),
                    "subscription": str(uuid.uuid4()), "sharing": str(uuid.uuid4()),
                    "hierarchy": str(uuid.uuid4())}}
    if idempotency_key:
        saga["idempotency_key"] = idempotency_key
    try:
        store.create(saga)
    except DuplicateKeyError:
        # A concurrent request with the same key won the insert.
        previous = _previous(store, idempotency_key or "", fingerprint)
        if previous is not None:
            return previous, 201, True
        raise Conflict("an onboarding with this Idempotency-Key is in progress; retry later") from None
    saga.update(steps={})
    summary = _run(rpc, store, saga, plan, products, origins)
    return summary, 201, False


def _previous(store: SagaStore, key: str, fingerprint: str) -> dict[str, Any] | None:
    previous = store.by_key(key)
    if previous is None:
        return None
    if previous["request_hash"] != fingerprint:
        raise Conflict("this Idempotency-Key was used for a different onboarding request",
                       {"Idempotency-Key": "already used with another request body"})
    if previous["status"] == COMPLETED:
        return previous["response"]
    if previous["status"] == COMPENSATION_FAILED:
        raise Conflict(f"onboarding {previous['_id']} with this Idempotency-Key failed and its clean-up is pending")
    raise Conflict(f"onboarding {previous['_id']} with this Idempotency-Key is in progress; retry later")


def _read(rpc: Rpc, field: str, service: str, method: str, *args: Any) -> Any:
    """A read before any step: a missing entity is the operator's input error, named by its field."""
    try:
        return rpc.call(service, method, *args)
    except NotFound as exc:
        raise ValidationFailed(exc.detail, {field: exc.detail}) from exc
    except Conflict as exc:
        raise ValidationFailed(exc.detail, {field: exc.detail}) from exc


def _run(rpc: Rpc, store: SagaStore, saga: dict[str, Any], plan: dict[str, Any], products: list[dict[str, Any]],
         origins: list[str]) -> dict[str, Any]:
    body, ids = saga["request"], saga["ids"]
    sub = body["subscription"]
    summary: dict[str, Any] = {"id": saga["_id"], "status": COMPLETED}
    current = CUSTOMER

    def step(name: str, fn: Callable[[], Any]) -> Any:
        nonlocal current
        current = name
        store.step(saga, name, STARTED)
        result = fn()
        store.step(saga, name, DONE)
        return result

    try:
        account = {**body["account"], "paymentInfo": body["paymentInfo"]}
        # The saga id as request id: a retried or lost create is found (and undone) by it.
        customer = step(CUSTOMER, lambda: rpc.call("customer", "create_customer", account, saga["_id"]))
        store.update(saga, {"customer_id": customer["id"]})
        customer_id = customer["id"]
        summary["customer"] = customer
        summary["billingProfile"] = step(BILLING_PROFILE, lambda: rpc.call("billing", "create_billing_profile", {
            "id": ids["billingProfile"], "customerId": customer_id, "paymentType": sub["paymentType"],
            "resource": sub["resource"], "interval": sub["interval"], "billingDay": sub["billingDay"]}))
        summary["balanceGroup"] = step(BALANCE_GROUP, lambda: rpc.call("rating", "create_balance_group", {
            "id": ids["balanceGroup"], "customerId": customer_id, "billingProfileId": ids["billingProfile"]}))
        promotions, added = step(PROMOTIONS, lambda: _redeem(rpc, sub.get("promoCodes", []), customer_id,
                                                             ids["subscription"], products))
        summary["promotions"] = promotions
        origins.extend([PROMOTIONS_ORIGIN] * len(added))
        summary["subscription"] = step(SUBSCRIPTION, lambda: rpc.call("rating", "create_subscription", {
            "id": ids["subscription"], "customerId": customer_id, "balanceGroupId": ids["balanceGroup"],
            "billingProfileId": ids["billingProfile"],
            "plan": {"code": plan["code"], "version": plan["version"], "name": plan["name"]},
            "products": products + added, "promoCodes": sub.get("promoCodes", [])}))
        summary["sharing"] = None
        if body.get("sharing"):
            summary["sharing"] = step(SHARING, lambda: rpc.call("rating", "join_sharing_group", {
                "id": ids["sharing"], "groupId": body["sharing"]["groupId"], "customerId": customer_id}))
        summary["hierarchy"] = None
        if body.get("hierarchy"):
            summary["hierarchy"] = step(HIERARCHY, lambda: rpc.call("billing", "join_hierarchy_group", {
                "id": ids["hierarchy"], "groupId": body["hierarchy"]["groupId"], "customerId": customer_id}))
        store.update(saga, {"status": COMPLETED, "response": summary})
        return summary
    except LostOwnership:
        raise Unavailable(f"onboarding {saga['_id']} took too long and is being undone; check it and retry") \
            from None
    except PlatformError as exc:
        raise _fail(rpc, store, saga, current, exc, origins) from exc
    except Exception as exc:  # a bug or a broken reply: still undo what was done
        log.exception("onboarding step crashed", extra={"onboarding": saga["_id"], "step": current})
        raise _fail(rpc, store, saga, current, PlatformError(f"unexpected error: {type(exc).__name__}"),
                    origins) from exc


def _redeem(rpc: Rpc, codes: list[str], customer_id: int, subscription_id: str,
            products: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Resolve every code, redeem the vouchers (atomically, in catalog) and return what they add."""
    return promotions.redeem(rpc, codes, customer_id, subscription_id, rules.service_identifiers(products),
                             _identifiers.next)


def _fail(rpc: Rpc, store: SagaStore, saga: dict[str, Any], failed: str, error: PlatformError,
          origins: list[str]) -> OnboardingFailed:
    # A step that could not be reached may still happen (its request waits in a queue): undo it too;
    # the services refuse a discarded id, so a late request cannot bring it back.
    uncertain = isinstance(error, Unavailable) or type(error) is PlatformError
    try:
        store.step(saga, failed, STARTED if uncertain else FAILED, error=error.detail)
        store.update(saga, {"status": COMPENSATING, "failure": {"step": failed, "status": error.status,
                                                                 "detail": error.detail}})
        complete = compensate(rpc, store, saga)
    except LostOwnership:
        complete = False
    done = "Every completed step was undone." if complete else \
        "Some steps could not be undone yet; the gateway worker keeps retrying."
    return OnboardingFailed(
        f"Onboarding failed at step '{failed}' ({CALLS[failed]}): {error.detail}. {done}",
        rules.step_fields(failed, error, origins), status=error.status, code=error.code, title=error.title,
        onboarding_id=saga["_id"], failed_step=failed, compensated=complete)


def compensate(rpc: Rpc, store: SagaStore, saga: dict[str, Any]) -> bool:
    """Undo, in reverse order, every step that is done or whose outcome is unknown. Returns whether all were
    undone; the saga ends `compensated` (its Idempotency-Key released) or `compensation_failed` (retried)."""
    ids, steps = saga["ids"], saga.get("steps", {})
    complete = True
    for name in reversed(STEPS):
        status = steps.get(name, {}).get("status")
        if status not in (DONE, STARTED, UNDO_FAILED):
            continue
        try:
            _undo(rpc, name, saga, ids)
            store.step(saga, name, UNDONE)
        except PlatformError as exc:
            complete = False
            log.warning("compensation failed", extra={"onboarding": saga["_id"], "step": name, "error": exc.detail})
            store.step(saga, name, UNDO_FAILED, error=exc.detail)
    if complete:
        store.update(saga, {"status": COMPENSATED}, unset=["idempotency_key"])
    else:
        store.update(saga, {"status": COMPENSATION_FAILED})
    return complete


def _undo(rpc: Rpc, name: str, saga: dict[str, Any], ids: dict[str, str]) -> None:
    if name == HIERARCHY:
        rpc.call("billing", "leave_hierarchy_group", ids["hierarchy"])
    elif name == SHARING:
        rpc.call("rating", "leave_sharing_group", ids["sharing"])
    elif name == SUBSCRIPTION:
        rpc.call("rating", "discard_subscription", ids["subscription"], REASON)
    elif name == PROMOTIONS:
        codes = saga["request"]["subscription"].get("promoCodes", [])
        if not promotions.release(rpc, codes, ids["subscription"]):
            raise Unavailable("some vouchers could not be released yet")
    elif name == BALANCE_GROUP:
        rpc.call("rating", "delete_balance_group", ids["balanceGroup"])
    elif name == BILLING_PROFILE:
        rpc.call("billing", "delete_billing_profile", ids["billingProfile"])
    elif name == CUSTOMER:
        # By request id, so a customer whose create reply was lost is found and removed too.
        rpc.call("customer", "discard_customer_request", saga["_id"], REASON)


def recover_stale(rpc: Rpc, store: SagaStore, owner: str, limit: int = 20) -> int:
    """Compensate sagas whose process stopped renewing their lease. Returns how many were handled."""
    handled = 0
    while handled < limit:
        saga = store.claim_stale(owner)
        if saga is None:
            break
        handled += 1
        log.warning("compensating a stale onboarding", extra={"onboarding": saga["_id"]})
        try:
            compensate(rpc, store, saga)
        except LostOwnership:
            continue
    return handled


def get_onboarding(store: SagaStore, onboarding_id: str) -> dict[str, Any]:
    saga = store.get(onboarding_id)
    if saga is None:
        raise NotFound(f"onboarding {onboarding_id} does not exist")
    return {"id": saga["_id"], "status": saga["status"], "customerId": saga.get("customer_id"),
            "steps": [{"name": name, **saga["steps"][name]} for name in STEPS if name in saga.get("steps", {})],
            "failure": saga.get("failure") or None, "summary": saga.get("response") or None,
            "createdAt": saga["created_at"].isoformat(), "updatedAt": saga["updated_at"].isoformat()}

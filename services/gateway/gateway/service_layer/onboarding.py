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
from typing import Any

from pymongo.errors import DuplicateKeyError

from chassis.errors import Conflict, NotFound, PlatformError, Unavailable, ValidationFailed
from chassis.versions import ExpiringCache, VersionCache, catalog_loader
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
from gateway.domain.onboarding import CUSTOMER, STEPS, OnboardingFailed
from gateway.service_layer.onboarding_steps import BY_NAME, STEP_TABLE, Context, Rpc, Step

log = logging.getLogger(__name__)


_identifiers = rules.EpochIdentifiers()


def onboard(rpc: Rpc, store: SagaStore, body: dict[str, Any], idempotency_key: str | None,
            owner: str, plans: VersionCache | None = None,
            resources: ExpiringCache | None = None) -> tuple[dict[str, Any], int, bool]:
    """Returns (summary, HTTP status, replayed). `plans` keeps plan versions read before (they never change);
    `resources` keeps catalog resources for a while (only a resource's kind is read, and it never changes)."""
    fingerprint = rules.request_fingerprint(body)
    if idempotency_key:
        previous = _previous(store, idempotency_key, fingerprint)
        if previous is not None:
            return previous, 201, True
    rules.check_request(body)
    sub = body["subscription"]
    plan = _plan(rpc, plans or VersionCache(catalog_loader(rpc)), sub["plan"]["code"], sub["plan"].get("version"))
    resources = resources or ExpiringCache(ttl=0)  # none given: ask the catalog every time
    resource = resources.get(("resource", sub["resource"]), lambda: _read(
        "subscription.resource", lambda: rpc.call("catalog", "get_resource", sub["resource"])))
    rules.check_plan_choice(plan, sub, resource)
    products, origins = rules.snapshot_products(plan, sub["plan"].get("products", []), sub.get("serviceIdentifier"),
                                                _identifiers.next)
    saga = {"_id": str(uuid.uuid4()), "request_hash": fingerprint, "request": body, "owner": owner,
            "ids": {"billingProfile": str(uuid.uuid4()), "balanceGroup": str(uuid.uuid4()),
                    "subscription": str(uuid.uuid4()), "sharing": str(uuid.uuid4()),
                    "hierarchy": str(uuid.uuid4())}}
    if idempotency_key:
        saga["idempotency_key"] = idempotency_key
    # The first step is recorded started with the saga itself (its call follows at once): one write fewer.
    saga["steps"] = {CUSTOMER: {"status": STARTED}}
    try:
        store.create(saga)
    except DuplicateKeyError:
        # A concurrent request with the same key won the insert.
        previous = _previous(store, idempotency_key or "", fingerprint)
        if previous is not None:
            return previous, 201, True
        raise Conflict("an onboarding with this Idempotency-Key is in progress; retry later") from None
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


def _plan(rpc: Rpc, plans: VersionCache, code: str, version: int | None) -> Any:
    """The plan at its version: the version on sale unless one is asked for, read from the cache when known."""
    if version is None:
        version = _read("subscription.plan", lambda: rpc.call("catalog", "get_active_version", "plan", code))
    return _read("subscription.plan", lambda: plans.get("plan", code, version))


def _read(field: str, fetch: Callable[[], Any]) -> Any:
    """A read before any step: a missing entity is the operator's input error, named by its field."""
    try:
        return fetch()
    except NotFound as exc:
        raise ValidationFailed(exc.detail, {field: exc.detail}) from exc
    except Conflict as exc:
        raise ValidationFailed(exc.detail, {field: exc.detail}) from exc


def _run(rpc: Rpc, store: SagaStore, saga: dict[str, Any], plan: dict[str, Any], products: list[dict[str, Any]],
         origins: list[str]) -> dict[str, Any]:
    ctx = Context(rpc, saga, plan, products, origins, _identifiers.next)
    summary: dict[str, Any] = {"id": saga["_id"], "status": COMPLETED,
                               **{step.name: None for step in STEP_TABLE if not step.wanted(saga["request"])}}
    current = CUSTOMER
    # A step's DONE is written together with the next step's STARTED (one write instead of two): a crash
    # in between leaves the step STARTED, which compensation treats as "may have happened" and undoes.
    done: dict[str, Any] = {}
    try:
        for wave in [[step] for step in STEP_TABLE if step.wanted(saga["request"])]:
            current = wave[0].name
            starting = {f"steps.{step.name}": {"status": STARTED} for step in wave
                        if saga["steps"].get(step.name, {}).get("status") != STARTED}
            if done or starting:
                store.update(saga, {**done, **starting})
            done = {}
            failures = []
            for step, (ok, value) in zip(wave, _run_wave(ctx, wave), strict=True):
                if not ok:
                    failures.append((step, value))
                    continue
                summary[step.name] = value
                extra = {"customer_id": value["id"]} if step.name == CUSTOMER else {}
                done.update({f"steps.{step.name}": {"status": DONE}, **extra})
            if failures:
                if done:
                    store.update(saga, done)
                    done = {}
                # The first failure (in table order) is the one reported; the others are recorded too, so
                # compensation skips a step that was refused and undoes one whose outcome is unknown.
                for step, error in failures[1:]:
                    store.step(saga, step.name, STARTED if _uncertain(error) else FAILED, error=str(error))
                current = failures[0][0].name
                raise failures[0][1]
        store.update(saga, {**done, "status": COMPLETED, "response": summary})
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


def _run_wave(ctx: Context, wave: list[Step]) -> list[tuple[bool, Any]]:
    """Run the steps of one wave; every step's outcome (ok, result or error), in table order."""
    return [_outcome(step, ctx) for step in wave]


def _outcome(step: Step, ctx: Context) -> tuple[bool, Any]:
    try:
        return True, step.do(ctx)
    except Exception as exc:  # handed back to _run, which decides
        return False, exc


def _uncertain(error: BaseException) -> bool:
    """Whether the step may still have happened: its service was not reached or broke mid-way."""
    return isinstance(error, Unavailable) or not isinstance(error, PlatformError) or type(error) is PlatformError


def _fail(rpc: Rpc, store: SagaStore, saga: dict[str, Any], failed: str, error: PlatformError,
          origins: list[str]) -> OnboardingFailed:
    # A step that could not be reached may still happen (its request waits in a queue): undo it too;
    # the services refuse a discarded id, so a late request cannot bring it back.
    try:
        store.step(saga, failed, STARTED if _uncertain(error) else FAILED, error=error.detail)
        store.update(saga, {"status": COMPENSATING, "failure": {"step": failed, "status": error.status,
                                                                 "detail": error.detail}})
        complete = compensate(rpc, store, saga)
    except LostOwnership:
        complete = False
    done = "Every completed step was undone." if complete else \
        "Some steps could not be undone yet; the gateway worker keeps retrying."
    return OnboardingFailed(
        f"Onboarding failed at step '{failed}' ({BY_NAME[failed].call}): {error.detail}. {done}",
        rules.step_fields(failed, error, origins), status=error.status, code=error.code, title=error.title,
        onboarding_id=saga["_id"], failed_step=failed, compensated=complete)


def compensate(rpc: Rpc, store: SagaStore, saga: dict[str, Any]) -> bool:
    """Undo, in reverse order, every step that is done or whose outcome is unknown. Returns whether all were
    undone; the saga ends `compensated` (its Idempotency-Key released) or `compensation_failed` (retried)."""
    steps = saga.get("steps", {})
    complete = True
    for step in reversed(STEP_TABLE):
        status = steps.get(step.name, {}).get("status")
        if status not in (DONE, STARTED, UNDO_FAILED):
            continue
        try:
            step.undo(rpc, saga)
            store.step(saga, step.name, UNDONE)
        except PlatformError as exc:
            complete = False
            log.warning("compensation failed",
                        extra={"onboarding": saga["_id"], "step": step.name, "error": exc.detail})
            store.step(saga, step.name, UNDO_FAILED, error=exc.detail)
    if complete:
        store.update(saga, {"status": COMPENSATED}, unset=["idempotency_key"])
    else:
        store.update(saga, {"status": COMPENSATION_FAILED})
    return complete


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

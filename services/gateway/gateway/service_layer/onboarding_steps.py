"""The onboarding saga's steps as one table: what each does, how it is undone, where its field errors
point in the request, which service call it is, and which steps it needs done first.

The steps run in table order; compensation undoes them in reverse table order. `needs` records which
steps could run together (the ids are chosen before the saga starts, so the billing profile, balance group,
promotions, sharing and hierarchy steps need only the customer): `waves` groups them, but running a wave's
steps in parallel is not switched on yet (its integration tests were not green in time; issue 15 item 7).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chassis.errors import Unavailable
from gateway.domain import onboarding as rules
from gateway.domain.onboarding import (
    BALANCE_GROUP,
    BILLING_PROFILE,
    CUSTOMER,
    FIELD_PREFIX,
    HIERARCHY,
    PROMOTIONS,
    SHARING,
    STEPS,
    SUBSCRIPTION,
)
from gateway.service_layer import promotions

REASON = "onboarding failed"
PROMOTIONS_ORIGIN = "subscription.promoCodes"


class Rpc(Protocol):
    def call(self, service: str, method: str, *args: Any) -> Any: ...


@dataclass
class Context:
    """What the steps of one onboarding share."""

    rpc: Rpc
    saga: dict[str, Any]
    plan: dict[str, Any]
    products: list[dict[str, Any]]
    origins: list[str]  # where each product of the snapshot came from in the request (for field errors)
    identifiers: Callable[[], str]
    customer_id: int | None = None
    added: list[dict[str, Any]] = field(default_factory=list)  # products the vouchers add

    @property
    def body(self) -> dict[str, Any]:
        return self.saga["request"]

    @property
    def ids(self) -> dict[str, str]:
        return self.saga["ids"]

    @property
    def subscription(self) -> dict[str, Any]:
        return self.body["subscription"]


@dataclass(frozen=True)
class Step:
    name: str
    call: str  # the service call, named in the operator's error
    do: Callable[[Context], Any]  # returns the step's part of the summary
    undo: Callable[[Rpc, dict[str, Any]], None]  # (rpc, saga); idempotent
    needs: tuple[str, ...] = ()
    wanted: Callable[[dict[str, Any]], bool] = lambda body: True

    @property
    def field_prefix(self) -> str:
        return FIELD_PREFIX[self.name]


def _create_customer(ctx: Context) -> dict[str, Any]:
    account = {**ctx.body["account"], "paymentInfo": ctx.body["paymentInfo"]}
    # The saga id as request id: a retried or lost create is found (and undone) by it.
    customer = ctx.rpc.call("customer", "create_customer", account, ctx.saga["_id"])
    ctx.customer_id = customer["id"]
    return customer


def _redeem(ctx: Context) -> list[dict[str, Any]]:
    """Resolve every code, redeem the vouchers (atomically, in catalog) and keep what they add."""
    assert ctx.customer_id is not None, "the customer step runs first (needs=(CUSTOMER,)) and sets it"
    summary, ctx.added = promotions.redeem(ctx.rpc, ctx.subscription.get("promoCodes", []), ctx.customer_id,
                                           ctx.ids["subscription"], rules.service_identifiers(ctx.products),
                                           ctx.identifiers)
    return summary


def _create_subscription(ctx: Context) -> dict[str, Any]:
    ctx.origins.extend([PROMOTIONS_ORIGIN] * len(ctx.added))
    sub, ids, plan = ctx.subscription, ctx.ids, ctx.plan
    return ctx.rpc.call("rating", "create_subscription", {
        "id": ids["subscription"], "customerId": ctx.customer_id, "balanceGroupId": ids["balanceGroup"],
        "billingProfileId": ids["billingProfile"],
        "plan": {"code": plan["code"], "version": plan["version"], "name": plan["name"]},
        "products": ctx.products + ctx.added, "promoCodes": sub.get("promoCodes", []),
        # Rating charges by it from the first event, before billing's cycle announcement reaches it.
        "paymentType": sub["paymentType"]})


def _release_vouchers(rpc: Rpc, saga: dict[str, Any]) -> None:
    codes = saga["request"]["subscription"].get("promoCodes", [])
    if not promotions.release(rpc, codes, saga["ids"]["subscription"]):
        raise Unavailable("some vouchers could not be released yet")


STEP_TABLE: tuple[Step, ...] = (
    Step(CUSTOMER, "customer.create_customer", _create_customer,
         # By request id, so a customer whose create reply was lost is found and removed too.
         lambda rpc, saga: rpc.call("customer", "discard_customer_request", saga["_id"], REASON)),
    Step(BILLING_PROFILE, "billing.create_billing_profile",
         lambda ctx: ctx.rpc.call("billing", "create_billing_profile", {
             "id": ctx.ids["billingProfile"], "customerId": ctx.customer_id,
             "paymentType": ctx.subscription["paymentType"], "resource": ctx.subscription["resource"],
             "interval": ctx.subscription["interval"], "billingDay": ctx.subscription["billingDay"]}),
         lambda rpc, saga: rpc.call("billing", "delete_billing_profile", saga["ids"]["billingProfile"]),
         needs=(CUSTOMER,)),
    Step(BALANCE_GROUP, "rating.create_balance_group",
         lambda ctx: ctx.rpc.call("rating", "create_balance_group", {
             "id": ctx.ids["balanceGroup"], "customerId": ctx.customer_id,
             "billingProfileId": ctx.ids["billingProfile"]}),
         lambda rpc, saga: rpc.call("rating", "delete_balance_group", saga["ids"]["balanceGroup"]),
         needs=(CUSTOMER,)),
    Step(PROMOTIONS, "catalog.redeem_voucher", _redeem, _release_vouchers, needs=(CUSTOMER,)),
    Step(SUBSCRIPTION, "rating.create_subscription", _create_subscription,
         lambda rpc, saga: rpc.call("rating", "discard_subscription", saga["ids"]["subscription"], REASON),
         needs=(BILLING_PROFILE, BALANCE_GROUP, PROMOTIONS)),
    Step(SHARING, "rating.join_sharing_group",
         lambda ctx: ctx.rpc.call("rating", "join_sharing_group", {
             "id": ctx.ids["sharing"], "groupId": ctx.body["sharing"]["groupId"], "customerId": ctx.customer_id}),
         lambda rpc, saga: rpc.call("rating", "leave_sharing_group", saga["ids"]["sharing"]),
         needs=(CUSTOMER,), wanted=lambda body: bool(body.get("sharing"))),
    Step(HIERARCHY, "billing.join_hierarchy_group",
         lambda ctx: ctx.rpc.call("billing", "join_hierarchy_group", {
             "id": ctx.ids["hierarchy"], "groupId": ctx.body["hierarchy"]["groupId"],
             "customerId": ctx.customer_id}),
         lambda rpc, saga: rpc.call("billing", "leave_hierarchy_group", saga["ids"]["hierarchy"]),
         needs=(CUSTOMER,), wanted=lambda body: bool(body.get("hierarchy"))),
)
BY_NAME = {step.name: step for step in STEP_TABLE}
assert tuple(BY_NAME) == STEPS, "the table keeps the domain's step order"


def waves(body: dict[str, Any]) -> list[list[Step]]:
    """The wanted steps in groups that can run together, each group needing only earlier ones."""
    pending = [step for step in STEP_TABLE if step.wanted(body)]
    done: set[str] = {step.name for step in STEP_TABLE if not step.wanted(body)}
    groups: list[list[Step]] = []
    while pending:
        ready = [step for step in pending if set(step.needs) <= done]
        if not ready:
            raise RuntimeError(f"saga steps wait on each other: {[s.name for s in pending]}")
        groups.append(ready)
        done |= {step.name for step in ready}
        pending = [step for step in pending if step not in ready]
    return groups

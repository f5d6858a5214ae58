"""The onboarding saga on a fake RPC and an in-memory saga store: order, parallel waves, compensation of
exactly what was done, idempotency and recovery — no broker, no database."""
import time

import pytest

from chassis.errors import Conflict, Unavailable, ValidationFailed
from chassis.versions import ExpiringCache, VersionCache, catalog_loader
from gateway.adapters.sagas import COMPENSATED, COMPLETED, DONE, UNDONE
from gateway.domain.onboarding import OnboardingFailed
from gateway.service_layer import onboarding
from gateway.service_layer.onboarding_steps import BY_NAME, STEP_TABLE, waves

from .saga_fakes import FakeRpc, InMemorySagaStore

PLAN = {"code": "P", "version": 3, "name": "Plan", "status": "active", "paymentTypes": ["postpaid"], "bundles": [
    {"code": "B", "version": 1, "products": [
        {"code": "VOICE", "version": 1, "name": "Voice", "type": "service", "serviceType": "voice",
         "optional": False, "defaultQuantity": "1", "defaultValue": None, "resource": "MIN", "freeUnits": "100",
         "defaultValidity": None},
        {"code": "FEE", "version": 2, "name": "Fee", "type": "recurring_fee", "serviceType": None,
         "optional": False, "defaultQuantity": "1", "defaultValue": "19.99", "resource": "EUR"}]}]}
BODY = {"account": {"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com", "customerType": "regular"},
        "paymentInfo": {"method": "invoice"},
        "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1,
                         "promoCodes": ["WELCOME5"], "serviceIdentifier": "386401",
                         "plan": {"code": "P"}},
        "sharing": {"groupId": "g-1"}}
UNDO = {"customer": "customer.discard_customer_request", "billingProfile": "billing.delete_billing_profile",
        "balanceGroup": "rating.delete_balance_group", "promotions": "catalog.release_voucher",
        "subscription": "rating.discard_subscription", "sharing": "rating.leave_sharing_group"}


def services() -> FakeRpc:
    return FakeRpc({
        ("catalog", "get_active_version"): lambda kind, code: PLAN["version"],
        ("catalog", "get_plan"): lambda code, version: PLAN,
        ("catalog", "get_resource"): lambda code: {"code": code, "kind": "monetary"},
        ("catalog", "resolve_promotion"): lambda code: {"code": code, "kind": "coupon", "discount": {
            "code": "WELCOME-OFF", "version": 1, "name": "Welcome", "type": "discount", "resource": "EUR",
            "defaultValue": "5", "defaultQuantity": "1"}},
        ("catalog", "release_voucher"): lambda code, sub: {"code": code},
        ("customer", "create_customer"): lambda account, request_id: {"id": 42, "email": account["email"]},
        ("customer", "discard_customer_request"): lambda request_id, reason: {"id": 42, "purged": True},
        ("billing", "create_billing_profile"): lambda p: {"id": p["id"]},
        ("billing", "delete_billing_profile"): lambda i: True,
        ("rating", "create_balance_group"): lambda p: {"id": p["id"]},
        ("rating", "delete_balance_group"): lambda i: True,
        ("rating", "create_subscription"): lambda p: {"id": p["id"], "products": p["products"]},
        ("rating", "discard_subscription"): lambda i, reason: True,
        ("rating", "join_sharing_group"): lambda p: {"id": p["id"]},
        ("rating", "leave_sharing_group"): lambda i: True,
    })


def test_the_table_lists_every_step_once_with_its_call_undo_and_field_prefix():
    assert [step.name for step in STEP_TABLE] == ["customer", "billingProfile", "balanceGroup", "promotions",
                                                  "subscription", "sharing", "hierarchy"]
    assert BY_NAME["customer"].field_prefix == "account."
    assert BY_NAME["promotions"].field_prefix == "subscription.promoCodes."
    assert BY_NAME["hierarchy"].call == "billing.join_hierarchy_group"


def test_steps_that_need_only_the_customer_form_one_wave_and_the_subscription_waits_for_its_parts():
    assert [[s.name for s in wave] for wave in waves(BODY)] == [
        ["customer"], ["billingProfile", "balanceGroup", "promotions", "sharing"], ["subscription"]]
    without_groups = {k: v for k, v in BODY.items() if k != "sharing"}
    assert "sharing" not in [s.name for wave in waves(without_groups) for s in wave]


def test_an_onboarding_runs_every_step_and_records_each_as_done():
    rpc, store = services(), InMemorySagaStore()
    summary, status, replayed = onboarding.onboard(rpc, store, BODY, None, "api-1")
    assert (status, replayed, summary["status"], summary["customer"]["id"]) == (201, False, COMPLETED, 42)
    assert summary["hierarchy"] is None and summary["promotions"] == [{"code": "WELCOME5", "kind": "coupon"}]
    saga = store.get(summary["id"])
    assert saga["customer_id"] == 42
    assert {name: step["status"] for name, step in saga["steps"].items()} == {
        name: DONE for name in ("customer", "billingProfile", "balanceGroup", "promotions", "subscription",
                                "sharing")}
    methods = rpc.methods()
    assert methods.index("customer.create_customer") < methods.index("billing.create_billing_profile")
    assert methods.index("rating.create_balance_group") < methods.index("rating.create_subscription")
    subscription = next(args[0] for _, method, args in rpc.calls if method == "create_subscription")
    assert subscription["customerId"] == 42 and subscription["balanceGroupId"] == saga["ids"]["balanceGroup"]


def test_a_saga_is_written_once_per_step_the_first_started_with_its_insert_and_the_last_done_with_the_outcome():
    store = InMemorySagaStore()
    summary, _, _ = onboarding.onboard(services(), store, BODY, None, "api-1")
    # Six steps: the insert (customer started), five DONE-with-the-next-STARTED, the last DONE with COMPLETED.
    assert store.writes == 7 and store.get(summary["id"])["status"] == COMPLETED


def test_a_failing_step_undoes_exactly_the_steps_done_in_reverse_order_and_names_the_step():
    rpc, store = services(), InMemorySagaStore()
    rpc.fail("rating", "create_subscription", Conflict("identifier in use", {"products.0.serviceIdentifier": "taken"}))
    with pytest.raises(OnboardingFailed) as failed:
        onboarding.onboard(rpc, store, BODY, None, "api-1")
    error = failed.value
    assert (error.failed_step, error.compensated, error.status) == ("subscription", True, 409)
    assert "rating.create_subscription" in error.detail
    assert error.fields == {"subscription.serviceIdentifier": "taken"}, "the field points into the request"
    undone = [m for m in rpc.methods() if m in UNDO.values()]
    # The refused subscription made nothing; everything before it is undone, last first.
    assert undone == ["catalog.release_voucher",
                      "rating.delete_balance_group", "billing.delete_billing_profile",
                      "customer.discard_customer_request"]
    saga = store.get(error.onboarding_id)
    assert saga["status"] == COMPENSATED and saga["failure"]["step"] == "subscription"
    assert saga["steps"]["billingProfile"]["status"] == UNDONE


def test_a_failing_last_step_undoes_the_subscription_and_everything_before_it():
    rpc, store = services(), InMemorySagaStore()
    rpc.fail("rating", "join_sharing_group", ValidationFailed("no such group", {"groupId": "no such group"}))
    with pytest.raises(OnboardingFailed) as failed:
        onboarding.onboard(rpc, store, BODY, None, "api-1")
    assert failed.value.failed_step == "sharing"
    assert failed.value.fields == {"sharing.groupId": "no such group"}
    assert [m for m in rpc.methods() if m in UNDO.values()] == [
        "rating.discard_subscription", "catalog.release_voucher", "rating.delete_balance_group",
        "billing.delete_billing_profile", "customer.discard_customer_request"]


def test_an_unreachable_service_is_undone_too_because_its_request_may_still_arrive():
    rpc, store = services(), InMemorySagaStore()
    rpc.fail("billing", "create_billing_profile", Unavailable("billing is not running"))
    with pytest.raises(OnboardingFailed) as failed:
        onboarding.onboard(rpc, store, BODY, None, "api-1")
    assert failed.value.status == 503
    assert "billing.delete_billing_profile" in rpc.methods()


def test_a_failed_undo_leaves_the_saga_for_the_worker_which_finishes_the_compensation():
    rpc, store = services(), InMemorySagaStore(lease_seconds=0)
    rpc.fail("rating", "create_subscription", Conflict("no"))
    rpc.fail("billing", "delete_billing_profile", Unavailable("billing is not running"))
    with pytest.raises(OnboardingFailed) as failed:
        onboarding.onboard(rpc, store, BODY, None, "api-1")
    assert failed.value.compensated is False
    del rpc.failures[("billing", "delete_billing_profile")]
    time.sleep(0.01)  # the lease (0 s) has run out
    assert onboarding.recover_stale(rpc, store, "worker-1") == 1
    assert store.get(failed.value.onboarding_id)["status"] == COMPENSATED


def test_the_same_idempotency_key_replays_the_first_response_and_another_body_is_refused():
    rpc, store = services(), InMemorySagaStore()
    first, _, _ = onboarding.onboard(rpc, store, BODY, "key-1", "api-1")
    again, status, replayed = onboarding.onboard(rpc, store, BODY, "key-1", "api-1")
    assert (again, status, replayed) == (first, 201, True)
    assert rpc.methods().count("customer.create_customer") == 1
    with pytest.raises(Conflict):
        onboarding.onboard(rpc, store, {**BODY, "sharing": None}, "key-1", "api-1")


def test_a_plan_version_is_read_from_the_catalog_once_and_the_active_version_asked_each_time():
    rpc, store = services(), InMemorySagaStore()
    plans, resources = VersionCache(catalog_loader(rpc)), ExpiringCache(ttl=60)
    for n in range(3):
        body = {**BODY, "account": {**BODY["account"], "email": f"ann{n}@example.com"}}
        onboarding.onboard(rpc, store, body, None, "api-1", plans, resources)
    assert rpc.methods().count("catalog.get_plan") == 1
    assert rpc.methods().count("catalog.get_active_version") == 3
    assert rpc.methods().count("catalog.get_resource") == 1, "a resource's kind is kept for a minute"

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chassis.envelope import new_event
from chassis.errors import NotFound, ValidationFailed
from chassis.mongo import transaction
from rating.service_layer import balances, cycles
from rating.service_layer.balances import free_units_grant, grant_balance

RESOURCES = {"EUR": {"code": "EUR", "kind": "monetary", "currency": "EUR"}, "MB": {"code": "MB", "kind": "unit"}}


def resources(code):
    return RESOURCES.get(code)


def create(customer_id, group_id, **overrides):
    payload = {"customerId": customer_id, "balanceGroupId": group_id, "resource": "MB", "amount": "500",
               "direction": "credit", "validity": {"kind": "infinite"}, **overrides}
    return balances.create_balance(payload, resources)


def test_a_credit_balance_is_stored_negative_and_counts_in_the_groups_total(rating_db, balance_group):
    group = balance_group(7)
    created = create(7, group["id"])
    create(7, group["id"], resource="EUR", amount="12.50", direction="debit")
    assert created["amount"] == "-500" and created["validity"] == "infinite"
    listed = balances.list_balances(7)
    [entry] = listed["balanceGroups"]
    assert entry["totals"] == [{"resource": "EUR", "amount": "12.50"}, {"resource": "MB", "amount": "-500"}]
    assert [b["resource"] for b in entry["balances"]] == ["EUR", "MB"]


def test_a_current_cycle_balance_ends_with_the_cycle_billing_announced(rating_db, balance_group):
    group = balance_group(7)
    now = datetime.now(UTC)
    start, end = now - timedelta(days=3), now + timedelta(days=27)
    event = new_event("billing.cycle_started", "billing", {
        "billingProfileId": "bp-1", "customerId": 7, "billId": 110, "cycleStart": start.isoformat(),
        "cycleEnd": end.isoformat(), "paymentType": "postpaid", "currency": "EUR"})
    assert cycles.on_cycle_started("rating.on_cycle_started", event)
    created = create(7, group["id"], validity={"kind": "cycle"})
    assert datetime.fromisoformat(created["validTo"]) == end.replace(microsecond=end.microsecond // 1000 * 1000)
    assert not cycles.on_cycle_started("rating.on_cycle_started", event)  # a redelivery changes nothing


def test_without_a_known_cycle_a_current_cycle_balance_ends_with_the_calendar_month(rating_db, balance_group):
    group = balance_group(7)
    created = create(7, group["id"], validity={"kind": "cycle"})
    valid_to = datetime.fromisoformat(created["validTo"])
    assert valid_to.day == 1 and valid_to.hour == 0 and valid_to > datetime.now(UTC)


def test_an_expired_balance_is_listed_but_not_counted(rating_db, balance_group):
    group = balance_group(7)
    past = datetime.now(UTC) - timedelta(days=1)
    create(7, group["id"], validity={"kind": "until", "validTo": (past + timedelta(hours=25)).isoformat()})
    listed = balances.list_balances(7, as_of=past + timedelta(hours=26))
    [entry] = listed["balanceGroups"]
    assert entry["totals"] == [] and entry["balances"][0]["valid"] is False


def test_a_grant_joins_the_callers_transaction_and_is_idempotent_on_its_id(rating_db, balance_group):
    group = balance_group(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    grant = free_units_grant(group["id"], "MIN", Decimal("100"), start, "month", 1, "subscription:s1:VOICE",
                             grant_id="s1:VOICE")
    first = transaction(lambda uow: grant_balance(uow, grant), source="rating")
    again = transaction(lambda uow: grant_balance(uow, grant), source="rating")
    assert first == again and first["amount"] == "-100" and first["validTo"].startswith("2026-02-01")
    assert rating_db.balances.count_documents({}) == 1


def test_bad_input_names_the_field_and_stores_nothing(rating_db, balance_group):
    group = balance_group(7)
    other = balance_group(8)
    cases = [({"amount": 5.5}, "amount"), ({"amount": "-3"}, "amount"), ({"resource": "GOLD"}, "resource"),
             ({"direction": "sideways"}, "direction"), ({"validity": {"kind": "until"}}, "validity.validTo"),
             ({"balanceGroupId": other["id"]}, "balanceGroupId")]
    for overrides, field in cases:
        with pytest.raises(ValidationFailed) as error:
            create(7, group["id"], **overrides)
        assert any(name.startswith(field) for name in error.value.fields), (overrides, error.value.fields)
    assert rating_db.balances.count_documents({}) == 0


def test_an_adjustment_changes_the_balance_and_tells_billing_with_its_tax(rating_db, balance_group):
    group = balance_group(7)
    created = create(7, group["id"], resource="EUR", amount="20", direction="debit")
    adjusted = balances.adjust_balance({
        "customerId": 7, "balanceId": created["id"], "amount": "-5.25", "billItem": "goodwill",
        "tax": {"code": "VAT", "supplier": "Tax office", "glCode": "3806"}}, resources)
    assert adjusted["amount"] == "14.75"
    [record] = list(rating_db.outbox.find({"type": "balance.adjusted"}))
    data = record["envelope"]["data"]
    assert data["amount"] == "-5.25" and data["currency"] == "EUR" and data["tax"]["glCode"] == "3806"


def test_an_adjustment_of_another_customers_balance_is_refused_and_changes_nothing(rating_db, balance_group):
    group = balance_group(7)
    created = create(7, group["id"], resource="EUR", amount="20", direction="debit")
    with pytest.raises(NotFound):
        balances.adjust_balance({"customerId": 8, "balanceId": created["id"], "amount": "-5",
                                 "billItem": "x"}, resources)
    assert rating_db.balances.find_one({"_id": created["id"]})["amount"].to_decimal() == Decimal("20")
    assert rating_db.outbox.count_documents({"type": "balance.adjusted"}) == 0

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chassis.envelope import new_event
from chassis.errors import NotFound, ValidationFailed
from rating.service_layer import balance_groups, cycles, services, subscriptions
from rating.service_layer.rating_batch import rate_batch

NOW = datetime.now(UTC).replace(microsecond=0)
LATENESS = timedelta(hours=72)


def test_free_minutes_go_first_then_a_postpaid_customer_is_charged_once_per_batch(
        rating_db, voice_line, voice_catalog, grant, call, amount_of):
    group, _ = voice_line()
    free = grant(group["id"], "MIN", "-30")
    outcomes = rate_batch([call("1"), call("2")], voice_catalog, source="test", lateness=LATENESS)
    assert [o.status for o in outcomes] == ["rated", "rated"], [o.reason for o in outcomes]
    assert amount_of(free["id"]) == 0
    first, second = rating_db.usage.find_one({"_id": "1"}), rating_db.usage.find_one({"_id": "2"})
    assert first["free_used"].to_decimal() == 20 and first["amount"].to_decimal() == 0
    assert second["free_used"].to_decimal() == 10 and second["amount"].to_decimal() == Decimal("25.0")
    charge = rating_db.balances.find_one({"source": "usage"})
    assert charge["amount"].to_decimal() == Decimal("25.0") and charge["resource"] == "EUR"
    [charged] = [r["envelope"]["data"] for r in rating_db.outbox.find({"type": "usage.charged"})]
    assert charged["amount"] == "25.000000" and charged["units"] == "10" and charged["events"] == 1
    assert charged["serviceIdentifier"] == "08094349013" and charged["late"] is False


def test_a_redelivered_batch_changes_nothing(
        rating_db, voice_line, voice_catalog, grant, call, amount_of):
    group, _ = voice_line()
    free = grant(group["id"], "MIN", "-100")
    rate_batch([call("1"), call("2")], voice_catalog, source="test", lateness=LATENESS)
    again = rate_batch([call("1"), call("2"), call("2")], voice_catalog, source="test", lateness=LATENESS)
    assert [o.status for o in again] == ["duplicate", "duplicate", "duplicate"]
    assert amount_of(free["id"]) == Decimal("-60")
    assert rating_db.usage.count_documents({}) == 2


def test_a_fresh_batch_holding_an_id_rated_before_runs_again_carefully_and_rates_it_once(
        rating_db, voice_line, voice_catalog, grant, call, amount_of):
    group, _ = voice_line()
    free = grant(group["id"], "MIN", "-100")
    rate_batch([call("1")], voice_catalog, source="test", lateness=LATENESS, fresh=True)
    again = rate_batch([call("2"), call("1"), call("3"), call("3")], voice_catalog, source="test",
                       lateness=LATENESS, fresh=True)
    assert [o.status for o in again] == ["rated", "duplicate", "rated", "duplicate"]
    assert amount_of(free["id"]) == Decimal("-40")
    assert rating_db.usage.count_documents({}) == 3


def test_prepaid_usage_beyond_the_credit_is_stored_rejected_and_touches_nothing(
        rating_db, voice_line, voice_catalog, grant, call, amount_of):
    group, _ = voice_line()
    cycles.on_cycle_started("rating.on_cycle_started", new_event("billing.cycle_started", "billing", {
        "billingProfileId": "bp-1", "customerId": 7, "billId": 110,
        "cycleStart": (NOW - timedelta(days=2)).isoformat(), "cycleEnd": (NOW + timedelta(days=28)).isoformat(),
        "paymentType": "prepaid", "currency": "EUR"}))
    wallet = grant(group["id"], "EUR", "-30")
    outcomes = rate_batch([call("1", quantity="10"), call("2", quantity="10")], voice_catalog, source="test",
                          lateness=LATENESS)
    assert [o.status for o in outcomes] == ["rated", "rejected"]
    assert "prepaid credit does not cover 20 EUR" in outcomes[1].reason
    assert amount_of(wallet["id"]) == Decimal("-5")
    assert rating_db.usage.find_one({"_id": "2"})["status"] == "rejected"
    assert rating_db.outbox.count_documents({"type": "usage.charged"}) == 0


@pytest.mark.parametrize(("overrides", "field", "reason"), [
    ({"serviceIdentifier": "000"}, "serviceIdentifier", "no voice service"),
    ({"fields": {"endTime": NOW.isoformat(), "to": "1", "destination": "x"}}, "fields.from", "mandatory"),
    ({"fields": {"endTime": NOW.isoformat(), "from": 5, "to": "1"}}, "fields.from", "string"),
    ({"fields": {"endTime": NOW.isoformat(), "from": "1", "to": "1", "colour": "red"}}, "fields.colour",
     "not a field"),
    ({"quantity": "-1"}, "quantity", "negative"),
    ({"quantity": 1.5}, "quantity", "floats"),
    ({"serviceType": "fax"}, "serviceType", "unknown service type"),
    ({"start": NOW + timedelta(days=1)}, "startTime", "future"),
])
def test_bad_events_are_stored_as_rejected_with_the_reason_and_balances_stay(
        rating_db, voice_line, voice_catalog, grant, call, amount_of, overrides, field, reason):
    group, _ = voice_line()
    free = grant(group["id"], "MIN", "-100")
    [outcome] = rate_batch([call(**overrides)], voice_catalog, source="test", lateness=LATENESS)
    assert outcome.status == "rejected" and outcome.field == field and reason in outcome.reason
    stored = rating_db.usage.find_one({"_id": "1"})
    assert stored["status"] == "rejected" and stored["reason_field"] == field
    assert amount_of(free["id"]) == Decimal("-100")


def test_an_event_without_an_id_is_refused_and_nothing_is_stored(rating_db, voice_catalog):
    [outcome] = rate_batch([{"serviceType": "voice"}], voice_catalog, source="test", lateness=LATENESS)
    assert outcome.status == "invalid" and outcome.field == "id"
    assert rating_db.usage.count_documents({}) == 0


def test_a_cancelled_subscription_rates_nothing(
        rating_db, voice_line, voice_catalog, grant, call, amount_of):
    _, subscription = voice_line()
    subscriptions.cancel_subscription(subscription["id"], "moved away")
    [outcome] = rate_batch([call()], voice_catalog, source="test", lateness=LATENESS)
    assert outcome.status == "rejected" and "terminated" in outcome.reason


def test_late_usage_is_rated_into_the_current_cycle_within_the_window_and_rejected_beyond(
        rating_db, voice_line, voice_catalog, grant, call, amount_of):
    voice_line()
    cycles.on_cycle_started("rating.on_cycle_started", new_event("billing.cycle_started", "billing", {
        "billingProfileId": "bp-1", "customerId": 7, "billId": 111,
        "cycleStart": (NOW - timedelta(days=1)).isoformat(), "cycleEnd": (NOW + timedelta(days=29)).isoformat(),
        "paymentType": "postpaid", "currency": "EUR"}))
    late = call("late", start=NOW - timedelta(days=2))
    outcomes = rate_batch([late], voice_catalog, source="test", lateness=LATENESS)
    assert outcomes[0].status == "rated"
    record = rating_db.usage.find_one({"_id": "late"})
    assert record["late"] is True and record["bill_id"] == 111
    [charged] = [r["envelope"]["data"] for r in rating_db.outbox.find({"type": "usage.charged"})]
    assert charged["late"] is True and charged["billId"] == 111
    [too_late] = rate_batch([call("too-late", start=NOW - timedelta(days=2))], voice_catalog, source="test",
                            lateness=timedelta(hours=12))
    assert too_late.status == "rejected" and "lateness window" in too_late.reason


def test_a_suspended_service_rates_nothing_and_rates_again_once_active(
        rating_db, voice_line, voice_catalog, call):
    _, subscription = voice_line()
    service_id = subscription["services"][0]["id"]
    services.edit_service(7, service_id, {"status": "suspended"})
    [outcome] = rate_batch([call("1")], voice_catalog, source="test", lateness=LATENESS)
    assert outcome.status == "rejected" and "suspended" in outcome.reason
    services.edit_service(7, service_id, {"status": "active"})
    [outcome] = rate_batch([call("2")], voice_catalog, source="test", lateness=LATENESS)
    assert outcome.status == "rated"


def test_a_threshold_crossing_is_published_once_per_threshold_per_cycle(
        rating_db, voice_line, voice_catalog, call):
    group, _ = voice_line()
    with pytest.raises(NotFound):
        balance_groups.edit_balance_group(8, group["id"], {"creditProfile": "STANDARD"})  # another customer's
    with pytest.raises(ValidationFailed):
        balance_groups.edit_balance_group(7, group["id"], {})
    edited = balance_groups.edit_balance_group(7, group["id"], {"creditProfile": "STANDARD"})
    assert edited["creditProfile"] == "STANDARD"
    rate_batch([call("1", quantity="30")], voice_catalog, source="test", lateness=LATENESS)  # 75 EUR
    assert rating_db.outbox.count_documents({"type": "balance.threshold_crossed"}) == 0
    rate_batch([call("2", quantity="4"), call("3", quantity="1")], voice_catalog, source="test",
               lateness=LATENESS)  # 85, then 87.5 EUR: 80 % crossed once
    rate_batch([call("4", quantity="1")], voice_catalog, source="test", lateness=LATENESS)
    [crossed] = [r["envelope"]["data"] for r in rating_db.outbox.find({"type": "balance.threshold_crossed"})]
    assert crossed["threshold"] == {"kind": "percent", "value": "80"} and crossed["value"] == "80.000000"
    assert crossed["balance"] == "85.000000" and crossed["channels"] == ["email"] and crossed["resource"] == "EUR"
    rate_batch([call("5", quantity="10")], voice_catalog, source="test", lateness=LATENESS)  # 115 EUR
    crossings = rating_db.outbox.find({"type": "balance.threshold_crossed"})
    levels = sorted(r["envelope"]["data"]["value"] for r in crossings)
    assert levels == ["100.000000", "80.000000"]

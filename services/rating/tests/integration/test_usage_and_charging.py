import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chassis.errors import Conflict, NotFound, ValidationFailed
from rating.service_layer import charging, sharing, subscriptions, usage
from rating.service_layer.rating_batch import rate_batch

LATENESS = timedelta(hours=72)
SEED_START = datetime(2020, 9, 29, 11, 59, tzinfo=UTC)


def seed_call(call):
    event = call("1", start=SEED_START, quantity="20")
    event["fields"]["endTime"] = "2020-09-29T12:19:00+00:00"
    return event


def test_the_usage_list_has_the_service_types_fields_as_columns_and_the_seeds_row(
        rating_db, voice_line, voice_catalog, call):
    voice_line()
    rating_db.services.update_many({}, {"$set": {"valid_from": datetime(2020, 1, 1, tzinfo=UTC)}})
    rating_db.subscriptions.update_many({}, {"$set": {"valid_from": datetime(2020, 1, 1, tzinfo=UTC)}})
    [outcome] = rate_batch([seed_call(call)], voice_catalog, source="test", lateness=LATENESS)
    assert outcome.status == "rated", outcome.reason
    page = usage.list_usage(7, {}, voice_catalog)
    assert [c["title"] for c in page["columns"]] == [
        "Event ID", "Created at", "Start time", "End time", "From", "To", "Origin", "Destination", "Amount"]
    [item] = page["items"]
    assert item["eventId"] == "1" and item["amount"] == "50" and item["fields"]["destination"] == "Italy"
    assert item["fields"]["from"] == "08094349013" and item["fields"]["to"] == "08149110574"
    assert usage.list_usage(7, {"from": "2021-01-01T00:00:00Z"}, voice_catalog)["total"] == 0
    with pytest.raises(ValidationFailed) as error:
        usage.list_usage(7, {"limit": 0}, voice_catalog)
    assert "limit" in error.value.fields


def test_a_usage_adjustment_changes_only_the_amount_and_tells_billing(rating_db, voice_line, voice_catalog, call):
    voice_line()
    rate_batch([call("1")], voice_catalog, source="test", lateness=LATENESS)
    adjusted = usage.adjust_usage({"customerId": 7, "usageId": "1", "amount": "-10",
                                   "tax": {"code": "VAT", "supplier": "Tax office", "glCode": "3806"}})
    assert adjusted["amount"] == "40" and adjusted["adjustments"][0]["amount"] == "-10"
    [event] = [r["envelope"]["data"] for r in rating_db.outbox.find({"type": "usage.adjusted"})]
    assert event["usageId"] == "1" and event["amount"] == "-10" and event["tax"]["code"] == "VAT"
    with pytest.raises(NotFound):
        usage.adjust_usage({"customerId": 8, "usageId": "1", "amount": "-1"})
    with pytest.raises(ValidationFailed) as error:
        usage.adjust_usage({"customerId": 7, "usageId": "1", "amount": "-100"})
    assert "amount" in error.value.fields


def test_an_event_created_by_hand_is_rated_at_once_and_bad_input_names_the_field(
        rating_db, voice_line, voice_catalog):
    _, subscription = voice_line()
    service_id = subscription["services"][0]["id"]
    start = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    created = usage.create_usage_event({
        "customerId": 7, "serviceId": service_id, "startTime": start, "quantity": "2",
        "fields": {"endTime": start, "from": "1", "to": "2", "destination": "Italy"}}, voice_catalog, LATENESS)
    assert created["status"] == "rated" and created["amount"] == "5" and created["source"] == "manual"
    with pytest.raises(ValidationFailed) as error:
        usage.create_usage_event({"customerId": 7, "serviceId": service_id, "startTime": start, "quantity": "2",
                                  "fields": {"from": "1", "to": "2"}}, voice_catalog, LATENESS)
    assert "fields.endTime" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        usage.create_usage_event({"customerId": 8, "serviceId": service_id, "startTime": start, "quantity": "1"},
                                 voice_catalog, LATENESS)
    assert "serviceId" in error.value.fields
    assert rating_db.usage.count_documents({}) == 1


def test_an_api_batch_with_bad_input_is_refused_whole(rating_db, voice_line, voice_catalog, call):
    voice_line()
    with pytest.raises(ValidationFailed) as error:
        usage.rate_usage_batch([call("1"), call("2", quantity="-3")], voice_catalog, LATENESS)
    assert "events.1.quantity" in error.value.fields
    assert rating_db.usage.count_documents({}) == 0
    result = usage.rate_usage_batch([call("1"), call("1")], voice_catalog, LATENESS)
    assert result["summary"] == {"rated": 1, "duplicate": 1} and result["events"][0]["amount"] == "50"


def prepaid(rating_db):
    rating_db.billing_cycles.insert_one({
        "_id": "bp-1", "customer_id": 7, "bill_id": 1, "start": datetime.now(UTC) - timedelta(days=5),
        "end": datetime.now(UTC) + timedelta(days=25), "payment_type": "prepaid"})


def reserve(voice_catalog, quantity, identifier="08094349013", **extra):
    return charging.reserve({"serviceType": "voice", "serviceIdentifier": identifier, "quantity": quantity,
                             "fields": {"endTime": datetime.now(UTC).isoformat(), "from": "1", "to": "2",
                                        "destination": "Slovenia"}, **extra}, voice_catalog, LATENESS)


def test_reserve_commit_release_hold_credit_and_rate_only_what_was_used(
        rating_db, voice_line, voice_catalog, grant, amount_of):
    group, _ = voice_line()
    prepaid(rating_db)
    wallet = grant(group["id"], "EUR", "-1")  # 10 minutes at 0.10
    # A start to the microsecond, which MongoDB keeps to the millisecond.
    first = reserve(voice_catalog, "6", startTime=(datetime.now(UTC) - timedelta(seconds=5)).isoformat())
    assert first["granted"] == "6"
    second = reserve(voice_catalog, "6")
    assert second["granted"] == "4"  # only what the credit still covers
    with pytest.raises(Conflict, match="denied"):
        reserve(voice_catalog, "1")
    committed = charging.commit(first["id"], {"used": "3"}, voice_catalog, LATENESS)
    assert committed["status"] == "committed" and committed["usage"]["amount"] == "0.3"
    # Committing again (a redelivered request) answers exactly what the first commit did, from the stored record.
    assert charging.commit(first["id"], {"used": "3"}, voice_catalog, LATENESS) == committed
    assert amount_of(wallet["id"]) == Decimal("-0.7")
    charging.release(second["id"])
    assert rating_db.balances.find_one({"_id": wallet["id"]})["held"].to_decimal() == 0
    with pytest.raises(Conflict, match="released"):
        charging.commit(second["id"], {"used": "1"}, voice_catalog, LATENESS)
    third = reserve(voice_catalog, "7")
    assert third["granted"] == "7"
    with pytest.raises(ValidationFailed) as error:
        charging.commit(third["id"], {"used": "8"}, voice_catalog, LATENESS)
    assert "used" in error.value.fields
    assert charging.commit(third["id"], {"used": "7"}, voice_catalog, LATENESS)["usage"]["amount"] == "0.7"
    assert amount_of(wallet["id"]) == 0


def test_an_expired_reservation_gives_its_credit_back_and_cannot_be_committed(
        rating_db, voice_line, voice_catalog, grant):
    group, _ = voice_line()
    prepaid(rating_db)
    wallet = grant(group["id"], "EUR", "-1")
    held = reserve(voice_catalog, "10", ttlSeconds=1)
    assert charging.expire_reservations(datetime.now(UTC) + timedelta(seconds=2)) == 1
    assert rating_db.balances.find_one({"_id": wallet["id"]})["held"].to_decimal() == 0
    with pytest.raises(Conflict):
        charging.commit(held["id"], {"used": "1"}, voice_catalog, LATENESS)


def test_concurrent_reservations_never_overspend(rating_db, voice_line, voice_catalog, grant):
    group, _ = voice_line()
    prepaid(rating_db)
    wallet = grant(group["id"], "EUR", "-2")  # 20 minutes
    granted, errors = [], []

    def one():
        try:
            granted.append(Decimal(reserve(voice_catalog, "3")["granted"]))
        except Conflict:
            pass
        except Exception as exc:  # anything else is a failure of the test
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert sum(granted) == 20
    assert rating_db.balances.find_one({"_id": wallet["id"]})["held"].to_decimal() == Decimal("2")


def test_the_seeds_sharing_example_three_members_consume_the_owners_pool_and_it_never_goes_below_zero(
        rating_db, voice_line, voice_catalog, grant, amount_of):
    owner_group, owner_subscription = voice_line(1, "owner-line")
    pool = grant(owner_group["id"], "MIN", "-1000")
    group = sharing.create_sharing_group({"name": "Family", "ownerCustomerId": 1,
                                          "subscriptionId": owner_subscription["id"], "policy": "STRICT"})
    members = []
    for customer_id in (2, 3, 4):
        voice_line(customer_id, f"member-{customer_id}")
        sharing.join_sharing_group({"groupId": group["id"], "customerId": customer_id})
        members.append(customer_id)
    outcomes, errors = [], []

    def consume(customer_id):
        for n in range(10):
            event = {"id": f"{customer_id}-{n}", "serviceType": "voice", "serviceIdentifier": f"member-{customer_id}",
                     "startTime": datetime.now(UTC).isoformat(), "quantity": "50",
                     "fields": {"endTime": datetime.now(UTC).isoformat(), "from": "1", "to": "2",
                                "destination": "Slovenia"}}
            try:
                outcomes.extend(rate_batch([event], voice_catalog, source="test", lateness=LATENESS))
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=consume, args=(c,)) for c in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors
    assert amount_of(pool["id"]) == 0  # 1000 minutes, 20 events of 50: all used, never below zero
    rated = [o for o in outcomes if o.status == "rated"]
    denied = [o for o in outcomes if o.status == "rejected"]
    assert len(rated) == 20 and len(denied) == 10
    assert all("policy denies" in o.reason for o in denied)


def test_a_purged_customer_leaves_no_usage_balance_or_reservation_behind(
        rating_db, voice_line, voice_catalog, grant, call):
    from chassis.envelope import new_event
    from rating.service_layer import customers

    group, _ = voice_line()
    grant(group["id"], "EUR", "-100")
    rate_batch([call("1")], voice_catalog, source="test", lateness=LATENESS)
    reserve(voice_catalog, "2")
    customers.purge_customer("rating.on_customer_purged", new_event(
        "customer.purged", "customer", {"id": 7, "reason": "t", "purgedAt": datetime.now(UTC).isoformat()}))
    for collection in ("usage", "balances", "reservations", "subscriptions", "services", "balance_groups"):
        assert rating_db[collection].count_documents({"customer_id": 7}) == 0, collection


def test_a_stream_batch_rated_in_parallel_parts_never_overdraws_a_pool_two_parts_share(
        rating_db, voice_line, voice_catalog, grant, amount_of):
    from chassis.stream import StreamMessage
    from rating.entrypoints.stream import batch_handler, part_of

    owner_group, owner_subscription = voice_line(1, "pool-owner")
    pool = grant(owner_group["id"], "MIN", "-300")
    group = sharing.create_sharing_group({"name": "Family", "ownerCustomerId": 1,
                                          "subscriptionId": owner_subscription["id"], "policy": "STRICT"})
    # Two members whose events land in different parts: their transactions both draw the owner's pool.
    candidates = (f"part-member-{n}" for n in range(1000))
    first = next(candidates)
    second = next(i for i in candidates if part_of({"serviceIdentifier": i}, 2) != part_of(
        {"serviceIdentifier": first}, 2))
    for customer_id, identifier in ((2, first), (3, second)):
        voice_line(customer_id, identifier)
        sharing.join_sharing_group({"groupId": group["id"], "customerId": customer_id})
    now = datetime.now(UTC).isoformat()
    events = [{"id": f"parts-{identifier}-{n}", "serviceType": "voice", "serviceIdentifier": identifier,
               "startTime": now, "quantity": "50",
               "fields": {"endTime": now, "from": "1", "to": "2", "destination": "Slovenia"}}
              for n in range(4) for identifier in (first, second)]
    messages = [StreamMessage(json.dumps(e).encode(), e["id"], {}, None, False, i + 1) for i, e in enumerate(events)]
    assert batch_handler(voice_catalog, LATENESS, parallel=2)(messages) == {}
    stored = {r["_id"]: r for r in rating_db.usage.find({"_id": {"$in": [e["id"] for e in events]}})}
    assert sorted(r["status"] for r in stored.values()) == ["rated"] * 6 + ["rejected"] * 2
    assert amount_of(pool["id"]) == 0  # 300 minutes drawn by 6 calls of 50, never past zero
    assert sum(r["shared_used"].to_decimal() for r in stored.values() if r["status"] == "rated") == 300


def test_sharing_members_reserving_in_one_batch_never_hold_more_than_the_owners_pool(
        rating_db, voice_line, voice_catalog, grant):
    owner_group, owner_subscription = voice_line(1, "owner-line")
    pool = grant(owner_group["id"], "MIN", "-100")
    group = sharing.create_sharing_group({"name": "Family", "ownerCustomerId": 1,
                                          "subscriptionId": owner_subscription["id"], "policy": "STRICT"})
    for customer_id in (2, 3, 4):
        voice_line(customer_id, f"member-{customer_id}")
        sharing.join_sharing_group({"groupId": group["id"], "customerId": customer_id})
    fields = {"endTime": datetime.now(UTC).isoformat(), "from": "1", "to": "2", "destination": "Slovenia"}
    # Twelve reservations of 30 minutes, four per member, in one batch (one transaction, one book).
    payloads = [{"id": f"r-{c}-{n}", "serviceType": "voice", "serviceIdentifier": f"member-{c}", "quantity": "30",
                 "fields": fields} for n in range(4) for c in (2, 3, 4)]
    answers = charging.reserve_many(payloads, voice_catalog, LATENESS)
    granted = [a for a in answers if isinstance(a, dict)]
    assert all(a["granted"] == "30" for a in granted)
    held = rating_db.balances.find_one({"_id": pool["id"]})["held"].to_decimal()
    assert held == sum(Decimal(a["granted"]) for a in granted) and held <= 100
    assert len(granted) == 3  # 100 minutes hold three reservations of 30; the STRICT policy denies the rest
    assert all(isinstance(a, Conflict) for a in answers if not isinstance(a, dict))
    # The same batch again: every reservation answers as before, nothing more is held.
    again = charging.reserve_many(payloads, voice_catalog, LATENESS)
    assert [a for a in again if isinstance(a, dict)] == granted
    assert rating_db.balances.find_one({"_id": pool["id"]})["held"].to_decimal() == held


def test_a_commit_whose_usage_id_was_taken_by_other_usage_rates_nothing_twice(
        rating_db, voice_line, voice_catalog, call, grant, amount_of):
    group, _ = voice_line()
    minutes = grant(group["id"], "MIN", "-100")
    held = reserve(voice_catalog, "10", id="taken-1")
    # Usage rated elsewhere under the reservation's own id (ids are chosen by callers).
    usage.rate_usage_batch([call("taken-1", quantity="5")], voice_catalog, LATENESS)
    committed = charging.commit(held["id"], {"used": "3"}, voice_catalog, LATENESS)
    assert committed["status"] == "committed" and committed["usage"]["eventId"] == "taken-1"
    assert rating_db.usage.count_documents({"_id": "taken-1"}) == 1
    assert amount_of(minutes["id"]) == -95  # the earlier event's 5 minutes only; the hold is given back
    assert rating_db.balances.find_one({"_id": minutes["id"]})["held"].to_decimal() == 0


def prepaid_line(balance_group, subscription_payload, payment_type="prepaid", identifier="08094349013"):
    """A voice line whose subscription was bought `payment_type`, before billing announced any cycle."""
    group = balance_group(7)
    payload = subscription_payload(7, group["id"], identifier=identifier, paymentType=payment_type,
                                   validFrom=(datetime.now(UTC) - timedelta(days=1)).isoformat())
    payload["products"][0]["freeUnits"] = None
    subscriptions.create_subscription(payload)
    return group


def test_a_prepaid_line_is_charged_as_prepaid_before_billing_announces_its_cycle(
        rating_db, balance_group, subscription_payload, voice_catalog, grant, call):
    # Billing's cycle_started reaches rating after the onboarding returns: until it does, the subscription's
    # payment type decides, so a new prepaid line cannot use credit it does not have.
    group = prepaid_line(balance_group, subscription_payload)
    assert rating_db.billing_cycles.count_documents({}) == 0
    grant(group["id"], "EUR", "-1")  # 10 minutes at 0.10
    assert reserve(voice_catalog, "10")["granted"] == "10"
    with pytest.raises(Conflict, match="denied"):
        reserve(voice_catalog, "1")
    rated = usage.rate_usage_batch([call("late-1", quantity="1")], voice_catalog, LATENESS)
    assert rated["events"][0]["status"] == "rejected"


def test_billings_announced_cycle_decides_the_payment_type_over_the_subscriptions(
        rating_db, balance_group, subscription_payload, voice_catalog, grant):
    group = prepaid_line(balance_group, subscription_payload)
    grant(group["id"], "EUR", "-1")
    rating_db.billing_cycles.insert_one({  # the profile was switched to postpaid since the purchase
        "_id": "bp-1", "customer_id": 7, "bill_id": 1, "start": datetime.now(UTC) - timedelta(days=5),
        "end": datetime.now(UTC) + timedelta(days=25), "payment_type": "postpaid"})
    assert reserve(voice_catalog, "30")["granted"] == "30"  # postpaid: charged beyond the credit

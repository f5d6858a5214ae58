"""Real-time charging's postpaid charges reach billing summed by the worker's flush (decision 0415)."""
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chassis.mongo import transaction
from rating.service_layer import charging
from rating.service_layer.pending_charges import flush_pending_charges

LATENESS = timedelta(hours=72)


def reserve(voice_catalog, quantity, identifier="08094349013"):
    return charging.reserve({"serviceType": "voice", "serviceIdentifier": identifier, "quantity": quantity,
                             "fields": {"endTime": datetime.now(UTC).isoformat(), "from": "1", "to": "2",
                                        "destination": "Slovenia"}}, voice_catalog, LATENESS)


def commit(voice_catalog, used, identifier="08094349013"):
    held = reserve(voice_catalog, used, identifier)
    return charging.commit(held["id"], {"used": used}, voice_catalog, LATENESS)


def charged_events(rating_db):
    return [r["envelope"] for r in rating_db.outbox.find({"type": "usage.charged"}).sort("created_at", 1)]


def test_postpaid_commits_wait_marked_and_one_flush_sends_billing_one_usage_charged_per_service_and_cycle(
        rating_db, voice_line, voice_catalog):
    voice_line()
    commits = [commit(voice_catalog, used) for used in ("3", "4", "5")]  # 0.10 EUR a minute
    assert charged_events(rating_db) == []  # nothing per commit
    assert rating_db.usage.count_documents({"pending_charge": {"$exists": True}}) == 3

    assert flush_pending_charges() == 3
    [event] = charged_events(rating_db)
    data = event["data"]
    assert (Decimal(data["amount"]), data["units"], data["events"], data["late"]) == (Decimal("1.2"), "12", 3, False)
    assert data["serviceIdentifier"] == "08094349013" and data["billingProfileId"] == "bp-1"
    records = list(rating_db.usage.find({"_id": {"$in": [c["usage"]["eventId"] for c in commits]}}))
    assert all("pending_charge" not in r and r["charged_in"] == event["id"] for r in records)
    # The cycle's charge balance grew at each commit, as before.
    assert rating_db.balances.find_one({"source": "usage"})["amount"].to_decimal() == Decimal("1.2")

    assert flush_pending_charges() == 0  # sent once
    assert len(charged_events(rating_db)) == 1


def test_charges_wait_until_the_oldest_has_waited_the_window_then_one_flush_sums_them_all(
        rating_db, voice_line, voice_catalog):
    voice_line()
    commit(voice_catalog, "3")
    first = rating_db.usage.find_one({"pending_charge": {"$exists": True}})["created_at"]
    commit(voice_catalog, "4")
    window = timedelta(seconds=60)
    assert flush_pending_charges(window, now=first + timedelta(seconds=59)) == 0
    assert charged_events(rating_db) == []
    assert flush_pending_charges(window, now=first + timedelta(seconds=60)) == 2
    [event] = charged_events(rating_db)
    assert event["data"]["events"] == 2 and Decimal(event["data"]["amount"]) == Decimal("0.7")


def test_a_prepaid_commit_charges_nothing_to_billing(rating_db, voice_line, voice_catalog, grant):
    group, _ = voice_line()
    rating_db.billing_cycles.insert_one({
        "_id": "bp-1", "customer_id": 7, "bill_id": 1, "start": datetime.now(UTC) - timedelta(days=5),
        "end": datetime.now(UTC) + timedelta(days=25), "payment_type": "prepaid"})
    grant(group["id"], "EUR", "-1")
    assert commit(voice_catalog, "3")["usage"]["amount"] == "0.3"
    assert rating_db.usage.count_documents({"pending_charge": {"$exists": True}}) == 0
    assert flush_pending_charges() == 0 and charged_events(rating_db) == []


def test_a_backlog_is_flushed_a_limited_number_of_records_per_transaction_each_service_summed_whole(
        rating_db, voice_line, voice_catalog):
    voice_line()
    voice_line(customer_id=8, identifier="08094349014")
    for used in ("1", "2", "3"):  # two lines committing in turn
        commit(voice_catalog, used)
        commit(voice_catalog, "10", identifier="08094349014")
    assert flush_pending_charges(limit=3) == 6
    events = [e["data"] for e in charged_events(rating_db)]
    # Two transactions of three records; a service's records are taken together, so one message per line.
    assert sorted((d["serviceIdentifier"], Decimal(d["amount"]), d["events"]) for d in events) == [
        ("08094349013", Decimal("0.6"), 3), ("08094349014", Decimal("3.0"), 3)]


def test_flushes_running_at_once_send_every_charge_exactly_once(rating_db, voice_line, voice_catalog):
    voice_line()
    for _ in range(30):
        commit(voice_catalog, "1")
    errors = []

    def flush():
        try:
            flush_pending_charges(limit=5)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=flush) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = charged_events(rating_db)
    assert sum(e["data"]["events"] for e in events) == 30
    assert sum(Decimal(e["data"]["amount"]) for e in events) == Decimal("3.0")
    carried = [r["charged_in"] for r in rating_db.usage.find({}, {"charged_in": 1})]
    assert len(carried) == 30 and set(carried) <= {e["id"] for e in events}


def test_a_flush_that_fails_before_its_commit_sends_nothing_and_the_next_sends_it_all(
        rating_db, voice_line, voice_catalog):
    voice_line()
    commit(voice_catalog, "2")

    def interrupted(uow):
        from rating.service_layer.pending_charges import _flush
        _flush(uow, 10)
        raise RuntimeError("the worker died")

    try:
        transaction(interrupted, source="rating")
    except RuntimeError:
        pass
    assert charged_events(rating_db) == []
    assert rating_db.usage.count_documents({"pending_charge": {"$exists": True}}) == 1
    assert flush_pending_charges() == 1 and len(charged_events(rating_db)) == 1

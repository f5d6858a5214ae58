"""The charging process's caches (decision 0410): how many MongoDB round trips a warm batch costs (counted with a
pymongo command listener), and the guards that make what it takes from the reservation cache safe."""
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import mongoengine
import pytest
from pymongo import monitoring

from chassis.errors import Conflict
from chassis.mongo import database
from rating.adapters.inventory_cache import InventoryCache
from rating.adapters.reservation_cache import ReservationCache
from rating.service_layer import charging, services

LATENESS = timedelta(hours=72)


class _Commands(monitoring.CommandListener):
    def __init__(self):
        self.names: list[str] = []

    def started(self, event):
        self.names.append(f"{event.command_name} {event.command.get(event.command_name)}")

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def commands(rating_db):
    """The default connection again, with a listener counting its commands."""
    listener = _Commands()
    name, client = rating_db.name, rating_db.client
    host = client.address
    mongoengine.disconnect()
    mongoengine.connect(db=name, host=f"mongodb://{host[0]}:{host[1]}/?directConnection=true", tz_aware=True,
                        uuidRepresentation="standard", event_listeners=[listener])
    yield listener
    mongoengine.disconnect()


def _payload(identifier="08094349013", quantity="2", **extra):
    now = datetime.now(UTC).isoformat()
    return {"serviceType": "voice", "serviceIdentifier": identifier, "quantity": quantity,
            "fields": {"endTime": now, "from": "1", "to": "2", "destination": "Slovenia"}, **extra}


def _prepaid_line(voice_line, grant, wallet="-100"):
    """A prepaid voice line's EUR wallet (its balance)."""
    group, subscription = voice_line()
    database().billing_cycles.insert_one({
        "_id": "bp-1", "customer_id": 7, "bill_id": 1, "start": datetime.now(UTC) - timedelta(days=5),
        "end": datetime.now(UTC) + timedelta(days=25), "payment_type": "prepaid"})
    return grant(group["id"], "EUR", wallet), subscription["services"][0]["id"]


@pytest.fixture
def process(voice_catalog):
    """The charging process's caches (its inventory listener taken as connected) and its batches."""
    inventory, kept = InventoryCache(), ReservationCache()
    inventory.start()

    def batch(reserves, settles, cache=kept):
        return charging.charge_many(reserves, settles, voice_catalog, LATENESS, inventory, cache)

    return kept, batch


def test_a_warm_charging_batch_costs_four_round_trips_to_reserve_and_five_to_commit(
        rating_db, voice_line, grant, commands, process):
    _prepaid_line(voice_line, grant)
    _, batch = process

    def counted(reserves, settles):
        commands.names.clear()
        answers = batch(reserves, settles)
        return answers, list(commands.names)

    (first, _), _ = batch([_payload(), _payload(), _payload()], []), None
    batch([], [(charging.COMMIT, first[0]["id"], {"used": "1"})])  # the caches are warm
    (second, _), reserving = counted([_payload()], [])
    (_, [committed]), committing = counted([], [(charging.COMMIT, first[1]["id"], {"used": "1"})])
    (third, [mixed]), mixing = counted([_payload()], [(charging.COMMIT, first[2]["id"], {"used": "1"})])
    assert second[0]["granted"] == "2" and committed["status"] == "committed" and mixed["status"] == "committed"
    assert reserving == ["find balances", "update balances", "update reservations", "commitTransaction 1"]
    assert committing == mixing == ["find balances", "insert usage", "update balances", "update reservations",
                                    "commitTransaction 1"]


def test_a_reservation_the_worker_expired_while_kept_active_cannot_be_committed(
        rating_db, voice_line, grant, process):
    wallet, _ = _prepaid_line(voice_line, grant, "-1")
    kept, batch = process
    [held], _ = batch([_payload(quantity="10")], [])
    assert held["id"] in kept and held["granted"] == "10"
    # The worker's timer, in another process, with a clock past the expiry this process has not reached yet.
    assert charging.expire_reservations(datetime.now(UTC) + timedelta(minutes=5)) == 1
    _, [refused] = batch([], [(charging.COMMIT, held["id"], {"used": "4"})])
    assert isinstance(refused, Conflict) and "expired" in str(refused)
    balance = rating_db.balances.find_one({"_id": wallet["id"]})
    assert balance["held"].to_decimal() == 0 and balance["amount"].to_decimal() == -1  # given back once
    assert rating_db.usage.count_documents({}) == 0 and held["id"] not in kept


def test_a_reservation_committed_by_another_replica_answers_that_commit(rating_db, voice_line, grant, process):
    wallet, _ = _prepaid_line(voice_line, grant, "-1")
    kept, batch = process
    [held], _ = batch([_payload(quantity="10")], [])
    _, [first] = batch([], [(charging.COMMIT, held["id"], {"used": "4"})], cache=None)  # another replica
    assert held["id"] in kept
    _, [again] = batch([], [(charging.COMMIT, held["id"], {"used": "4"})])
    assert again == first and rating_db.usage.count_documents({}) == 1
    balance = rating_db.balances.find_one({"_id": wallet["id"]})
    assert balance["held"].to_decimal() == 0 and balance["amount"].to_decimal() == Decimal("-0.6")


def test_a_reservation_id_another_replica_just_used_answers_the_stored_reservation(
        rating_db, voice_line, grant, process):
    wallet, _ = _prepaid_line(voice_line, grant, "-1")
    _, batch = process
    [stored], _ = batch([_payload(quantity="3", id="chosen-1")], [], cache=None)  # another replica
    [again, other], _ = batch([_payload(quantity="5", id="chosen-1"), _payload(quantity="2")], [])
    assert again == stored and other["granted"] == "2"
    held = rating_db.balances.find_one({"_id": wallet["id"]})["held"].to_decimal()
    assert held == Decimal("0.5") and rating_db.reservations.count_documents({}) == 2


def test_a_kept_reservation_is_committed_once_when_four_batches_commit_it_at_once(
        rating_db, voice_line, grant, process):
    wallet, _ = _prepaid_line(voice_line, grant, "-1")
    _, batch = process
    [held], _ = batch([_payload(quantity="10")], [])
    with ThreadPoolExecutor(4) as pool:  # an error in any of them fails the test
        answers = list(pool.map(lambda _: batch([], [(charging.COMMIT, held["id"], {"used": "3"})])[1][0], range(4)))
    assert answers[0]["status"] == "committed" and all(a == answers[0] for a in answers)
    balance = rating_db.balances.find_one({"_id": wallet["id"]})
    assert balance["held"].to_decimal() == 0 and balance["amount"].to_decimal() == Decimal("-0.7")


def test_a_reservation_committed_elsewhere_answers_that_commit_even_once_its_service_is_suspended(
        rating_db, voice_line, voice_catalog, grant, process):
    _, service_id = _prepaid_line(voice_line, grant, "-1")
    kept, batch = process
    [held], _ = batch([_payload(quantity="10")], [])
    _, [first] = batch([], [(charging.COMMIT, held["id"], {"used": "4"})], cache=None)  # another replica
    services.edit_service(7, service_id, {"status": "suspended"})
    # Without the inventory cache, the suspension is seen at once: the commit would be refused, were the
    # reservation still active as this process keeps it.
    _, [again] = charging.charge_many([], [(charging.COMMIT, held["id"], {"used": "4"})], voice_catalog, LATENESS,
                                      None, kept)
    assert again == first and held["id"] not in kept

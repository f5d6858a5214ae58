"""How many MongoDB round trips a charging batch costs (decision 0410): counted with a pymongo command listener on
a warm process (inventory cache live and filled, reservations kept by the process that made them)."""
from datetime import UTC, datetime, timedelta

import mongoengine
import pytest
from pymongo import monitoring

from chassis.mongo import database
from rating.adapters.inventory_cache import InventoryCache
from rating.adapters.reservation_cache import ReservationCache
from rating.service_layer import charging

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


def _payload(identifier="08094349013", quantity="2"):
    now = datetime.now(UTC).isoformat()
    return {"serviceType": "voice", "serviceIdentifier": identifier, "quantity": quantity,
            "fields": {"endTime": now, "from": "1", "to": "2", "destination": "Slovenia"}}


def test_a_warm_charging_batch_costs_a_few_round_trips(rating_db, voice_line, voice_catalog, grant, commands):
    group, _ = voice_line()
    database().billing_cycles.insert_one({
        "_id": "bp-1", "customer_id": 7, "bill_id": 1, "start": datetime.now(UTC) - timedelta(days=5),
        "end": datetime.now(UTC) + timedelta(days=25), "payment_type": "prepaid"})
    grant(group["id"], "EUR", "-100")
    inventory = InventoryCache()
    inventory.start()  # as if its listener were connected
    kept = ReservationCache()

    def batch(reserves, settles):
        commands.names.clear()
        answers = charging.charge_many(reserves, settles, voice_catalog, LATENESS, inventory, kept)
        counted = list(commands.names)
        return answers, counted

    (first, _), _ = batch([_payload(), _payload()], [])  # warms the inventory cache
    (second, _), reserving = batch([_payload()], [])
    (_, [committed]), committing = batch([], [(charging.COMMIT, first[0]["id"], {"used": "1"})])
    (third, [mixed]), mixing = batch([_payload()], [(charging.COMMIT, first[1]["id"], {"used": "1"})])
    print("\nreserve only", len(reserving), reserving, "\ncommit only", len(committing), committing,
          "\nmixed", len(mixing), mixing)
    assert isinstance(second[0], dict) and committed["status"] == "committed" and mixed["status"] == "committed"

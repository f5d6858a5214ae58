"""The inventory cache of the stream and of the charging process on real MongoDB and RabbitMQ (decisions 0408,
0409): kept current by rating's own events, as the outbox relay publishes them on `rating.events`."""
from datetime import UTC, datetime, timedelta

import pika
import pytest
from bson.decimal128 import Decimal128

from chassis.envelope import encode, exchange_for, new_event
from chassis.errors import ValidationFailed
from chassis.outbox import OutboxRelay
from chassis.testing import wait_for
from rating.adapters.inventory_cache import InventoryCache, InventoryListener
from rating.service_layer import balance_groups, charging, customers, services, sharing, subscriptions
from rating.service_layer.rating_batch import rate_batch

LATENESS = timedelta(hours=72)
NOW = datetime.now(UTC)


@pytest.fixture
def listening(rating_db, amqp_uri):
    cache = InventoryCache()
    listener = InventoryListener(amqp_uri, cache)
    listener.start()
    assert listener.ready.wait(30), "the listener did not connect"
    relay = OutboxRelay(rating_db, amqp_uri, poll_seconds=0.05)

    def relay_events():
        """Publish what rating committed, as its worker's relay does, and wait until the cache has seen it."""
        seen = cache.generation()
        assert relay.publish_pending() > 0
        assert wait_for(lambda: cache.generation() != seen, timeout=10), "no event reached the cache"

    yield cache, listener, relay_events
    listener.stop()


def test_a_suspended_service_stops_rating_as_soon_as_its_event_is_seen_and_rates_again_once_active(
        rating_db, voice_line, voice_catalog, call, listening):
    cache, _, relay_events = listening
    _, subscription = voice_line()
    relay_events()  # subscription.created
    service_id = subscription["services"][0]["id"]

    def rate(event_id):
        [outcome] = rate_batch([call(event_id)], voice_catalog, source="test", lateness=LATENESS, inventory=cache)
        return outcome

    assert rate("1").status == "rated"
    misses = cache.misses
    assert rate("2").status == "rated" and cache.misses == misses  # the service and subscription were kept

    services.edit_service(7, service_id, {"status": "suspended"})
    relay_events()  # service.changed
    suspended = rate("3")
    assert suspended.status == "rejected" and "suspended" in suspended.reason

    services.edit_service(7, service_id, {"status": "active"})
    relay_events()
    assert rate("4").status == "rated"

    subscriptions.cancel_subscription(subscription["id"], "moved away")
    relay_events()  # subscription.cancelled, service.deleted
    cancelled = rate("5")
    assert cancelled.status == "rejected", cancelled.reason


def test_a_new_identifier_is_rated_to_its_service_once_its_event_is_seen(
        rating_db, voice_line, voice_catalog, call, listening):
    cache, _, relay_events = listening
    _, subscription = voice_line()
    relay_events()
    service_id = subscription["services"][0]["id"]
    [rated] = rate_batch([call("1")], voice_catalog, source="test", lateness=LATENESS, inventory=cache)
    assert rated.status == "rated"

    services.edit_service(7, service_id, {"identifier": "38640999888"})
    relay_events()
    old, new = rate_batch([call("2"), call("3", identifier="38640999888")], voice_catalog, source="test",
                          lateness=LATENESS, inventory=cache)
    assert old.status == "rejected" and old.field == "serviceIdentifier"
    assert new.status == "rated"


def test_without_its_events_the_cache_is_not_used(rating_db, voice_line, voice_catalog, call, listening):
    cache, listener, _ = listening
    _, subscription = voice_line()
    listener.stop()  # the events stop: a change could go unseen
    assert cache.generation() is None
    services.edit_service(7, subscription["services"][0]["id"], {"status": "suspended"})
    [outcome] = rate_batch([call("1")], voice_catalog, source="test", lateness=LATENESS, inventory=cache)
    assert outcome.status == "rejected" and "suspended" in outcome.reason


def test_a_purged_customers_identifier_is_unknown_once_the_purge_is_seen(
        rating_db, voice_line, voice_catalog, call, listening, amqp_uri):
    cache, _, relay_events = listening
    voice_line()
    relay_events()
    [rated] = rate_batch([call("1")], voice_catalog, source="test", lateness=LATENESS, inventory=cache)
    assert rated.status == "rated"

    # Customer publishes the purge; rating's worker deletes the documents (no rating events of its own).
    purged = new_event("customer.purged", "customer", {"id": 7}, subject="7")
    seen = cache.generation()
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        connection.channel().basic_publish(exchange_for("customer.purged"), "customer.purged",
                                           encode(purged.to_dict()))
    finally:
        connection.close()
    assert wait_for(lambda: cache.generation() != seen, timeout=10)
    customers.purge_customer("rating.purge_customer", purged)
    [unknown] = rate_batch([call("2")], voice_catalog, source="test", lateness=LATENESS, inventory=cache)
    assert unknown.status == "rejected" and unknown.field == "serviceIdentifier"
    assert rating_db.usage.find_one({"_id": "2"}).get("customer_id") is None


def reserve_ten_minutes(reservation_id, identifier, catalog, cache):
    """A charging batch of one reservation of 10 minutes of a voice call on `identifier`: its answer."""
    fields = {"endTime": NOW.isoformat(), "from": "1", "to": "2", "destination": "Slovenia"}
    [answer] = charging.reserve_many([{"id": reservation_id, "serviceType": "voice", "serviceIdentifier": identifier,
                                       "quantity": "10", "fields": fields}], catalog, LATENESS, cache)
    return answer

def test_a_suspended_services_reservation_is_refused_once_its_event_reaches_the_charging_cache(
        rating_db, voice_line, voice_catalog, grant, listening):
    cache, _, relay_events = listening
    group, subscription = voice_line()
    grant(group["id"], "MIN", "-100")
    relay_events()  # subscription.created
    service_id = subscription["services"][0]["id"]

    def reserve(reservation_id):
        return reserve_ten_minutes(reservation_id, "08094349013", voice_catalog, cache)

    granted = reserve("r-1")
    assert granted["granted"] == "10"
    misses = cache.misses
    assert reserve("r-2")["granted"] == "10" and cache.misses == misses  # answered from the cache

    services.edit_service(7, service_id, {"status": "suspended"})
    relay_events()  # service.changed
    refused = reserve("r-3")
    assert isinstance(refused, ValidationFailed) and "suspended" in refused.fields["serviceIdentifier"]
    # Nor is a reservation made before the suspension committed once the event is seen; it can be released.
    [commit, release] = charging.settle_many([(charging.COMMIT, "r-1", {"used": "4"}),
                                              (charging.RELEASE, "r-2", None)], voice_catalog, LATENESS, cache)
    assert isinstance(commit, ValidationFailed) and release["status"] == "released"
    assert rating_db.usage.count_documents({}) == 0
    held = rating_db.balances.find_one({"balance_group_id": group["id"], "resource": "MIN"})["held"].to_decimal()
    assert held == 10  # r-1 still holds its credit until released or expired


def test_a_members_usage_draws_on_the_owners_pool_once_the_join_is_seen_and_not_after_the_removal_is_seen(
        rating_db, voice_line, voice_catalog, grant, listening):
    cache, _, relay_events = listening
    owner_group, owner_subscription = voice_line(1, "owner-line")
    pool = grant(owner_group["id"], "MIN", "-100")
    voice_line(2, "member-line")
    group = sharing.create_sharing_group({"name": "Family", "ownerCustomerId": 1,
                                          "subscriptionId": owner_subscription["id"], "policy": "STRICT"})
    relay_events()

    def reserve(reservation_id):
        return reserve_ten_minutes(reservation_id, "member-line", voice_catalog, cache)

    def pool_held():
        return rating_db.balances.find_one({"_id": pool["id"]}).get("held", Decimal128("0")).to_decimal()

    reserve("r-1")  # not a member yet (its answer is kept: the customer has no membership)
    assert pool_held() == 0
    member = sharing.join_sharing_group({"groupId": group["id"], "customerId": 2})
    relay_events()  # sharing_member.joined
    assert reserve("r-2")["granted"] == "10" and pool_held() == 10
    sharing.remove_membership(2, member["id"])
    relay_events()  # sharing_member.removed
    reserve("r-3")
    assert pool_held() == 10


def test_an_edited_credit_profile_judges_the_next_batch_once_its_event_is_seen(
        rating_db, voice_line, voice_catalog, call, listening):
    cache, _, relay_events = listening
    group, _ = voice_line()
    relay_events()  # subscription.created

    def rate(event_id, minutes):
        [outcome] = rate_batch([call(event_id, quantity=minutes)], voice_catalog, source="test", lateness=LATENESS,
                               inventory=cache)
        assert outcome.status == "rated"

    def crossings():
        return [r["envelope"]["data"] for r in rating_db.outbox.find({"type": "balance.threshold_crossed"})]

    rate("1", "30")  # 75 EUR; the group, with no credit profile, is kept
    assert cache.balance_groups([group["id"]])[0] == {group["id"]: {"_id": group["id"], "customer_id": 7,
                                                                    "billing_profile_id": "bp-1"}}
    balance_groups.edit_balance_group(7, group["id"], {"creditProfile": "STANDARD"})
    relay_events()  # balance_group.changed
    rate("2", "4")  # 85 EUR: 80 % of the new profile's limit crossed
    [crossed] = crossings()
    assert crossed["creditProfile"] == "STANDARD" and crossed["threshold"] == {"kind": "percent", "value": "80"}

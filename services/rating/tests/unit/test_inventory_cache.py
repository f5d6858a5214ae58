"""The stream's services and subscriptions cache, in memory (decision 0408)."""
from rating.adapters.inventory_cache import InventoryCache

KEY = ("voice", "38640111222")
SERVICE = {"_id": "svc-1", "service_type": "voice", "identifier": "38640111222", "status": "active",
           "subscription_id": "sub-1"}
SUBSCRIPTION = {"_id": "sub-1", "status": "active"}


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def live(**kw):
    cache = InventoryCache(**kw)
    cache.start()
    return cache


def kept(cache):
    cache.keep(cache.generation(), {KEY: [SERVICE]}, {"sub-1": SUBSCRIPTION})
    return cache


def test_what_a_batch_read_is_answered_from_memory_next_time():
    cache = kept(live())
    assert cache.services([KEY, ("voice", "other")]) == ({KEY: [SERVICE]}, [("voice", "other")])
    assert cache.subscriptions(["sub-1"]) == ({"sub-1": SUBSCRIPTION}, [])


def test_a_read_that_raced_an_event_is_not_kept():
    cache = live()
    generation = cache.generation()
    cache.forget("service.changed", {"id": "svc-9", "serviceType": "sms", "identifier": "1"})
    cache.keep(generation, {KEY: [SERVICE]}, {"sub-1": SUBSCRIPTION})
    assert cache.services([KEY]) == ({}, [KEY])


def test_a_service_event_drops_the_service_under_its_old_and_its_new_identifier_and_its_subscription():
    cache = kept(live())
    cache.keep(cache.generation(), {("voice", "386"): [{**SERVICE, "_id": "svc-2", "identifier": "386"}]}, {})
    cache.forget("service.changed", {"id": "svc-1", "serviceType": "voice", "identifier": "386",
                                     "subscriptionId": "sub-1"})
    assert cache.services([KEY, ("voice", "386")]) == ({}, [KEY, ("voice", "386")])
    assert cache.subscriptions(["sub-1"]) == ({}, ["sub-1"])


def test_a_subscription_event_drops_the_subscription_and_the_services_it_lists():
    cache = kept(live())
    cache.forget("subscription.created", {"id": "sub-2", "services": [
        {"id": "svc-7", "serviceType": "voice", "identifier": "38640111222"}]})
    assert cache.services([KEY]) == ({}, [KEY])
    cache = kept(live())
    cache.forget("subscription.cancelled", {"id": "sub-1"})
    assert cache.subscriptions(["sub-1"]) == ({}, ["sub-1"])


def test_a_deleted_service_drops_its_identifier_of_every_type():
    cache = kept(live())
    cache.forget("service.deleted", {"id": "svc-x", "identifier": "38640111222", "subscriptionId": "sub-9"})
    assert cache.services([KEY]) == ({}, [KEY])


def test_nothing_is_answered_while_the_events_are_not_flowing():
    cache = kept(live())
    cache.stop()
    assert cache.generation() is None
    assert cache.services([KEY]) == ({}, [KEY])
    cache.keep(None, {KEY: [SERVICE]}, {})
    cache.start()  # reconnected: events may have been missed meanwhile, so nothing from before is kept
    assert cache.services([KEY]) == ({}, [KEY])


def test_entries_expire_after_their_age_and_the_least_recently_used_go_first():
    clock = Clock()
    cache = kept(live(max_entries=2, max_age=60, clock=clock))
    clock.now = 61
    assert cache.services([KEY]) == ({}, [KEY])
    for n in range(3):
        cache.keep(cache.generation(), {("voice", str(n)): [{**SERVICE, "_id": f"s{n}"}]}, {})
    assert cache.services([("voice", "0")])[1] == [("voice", "0")]
    assert list(cache.services([("voice", "1"), ("voice", "2")])[0]) == [("voice", "1"), ("voice", "2")]


def test_an_unknown_identifier_is_not_kept():
    cache = live()
    cache.keep(cache.generation(), {KEY: []}, {})
    assert cache.services([KEY]) == ({}, [KEY])


def test_a_purged_customers_services_and_subscriptions_are_dropped_and_not_kept_again_for_a_while():
    clock = Clock()
    customer = {**SERVICE, "customer_id": 7}
    cache = live(max_age=60, clock=clock)
    cache.keep(cache.generation(), {KEY: [customer]}, {"sub-1": {**SUBSCRIPTION, "customer_id": 7}})
    cache.forget("customer.purged", {"id": 7})
    assert cache.services([KEY]) == ({}, [KEY]) and cache.subscriptions(["sub-1"]) == ({}, ["sub-1"])
    # Read again before rating's worker deleted them: not kept.
    cache.keep(cache.generation(), {KEY: [customer]}, {"sub-1": {**SUBSCRIPTION, "customer_id": 7}})
    assert cache.services([KEY]) == ({}, [KEY]) and cache.subscriptions(["sub-1"]) == ({}, ["sub-1"])
    clock.now = 61
    cache.keep(cache.generation(), {KEY: [customer]}, {})
    assert cache.services([KEY])[0] == {KEY: [customer]}

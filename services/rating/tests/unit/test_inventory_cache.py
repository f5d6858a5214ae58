"""The inventory cache (services, subscriptions, sharing memberships, cycles, balance groups), in memory (decisions
0408, 0409, 0410)."""
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


MEMBER = {"_id": "m-1", "customer_id": 7, "group_id": "sg-1", "status": "active"}
CYCLE = {"_id": "bp-1", "customer_id": 7, "start": "2026-11-01", "end": "2026-12-01"}


def test_a_customers_memberships_none_included_are_kept_until_a_membership_event_names_the_customer():
    cache = live()
    cache.keep(cache.generation(), {}, {}, {7: [MEMBER], 8: []})
    assert cache.memberships([7, 8, 9]) == ({7: [MEMBER], 8: []}, [9])
    cache.forget("sharing_member.joined", {"id": "m-2", "customerId": 8, "groupId": "sg-1"})
    assert cache.memberships([7, 8]) == ({7: [MEMBER]}, [8])
    cache.forget("sharing_member.removed", {"id": "m-1", "customerId": 7, "groupId": "sg-1"})
    assert cache.memberships([7]) == ({}, [7])


def test_a_profiles_cycle_is_read_afresh_for_a_while_after_billing_announced_its_next_one():
    clock = Clock()
    cache = live(max_age=60, clock=clock)
    cache.keep(cache.generation(), {}, {}, cycles={"bp-1": CYCLE, "bp-2": {}})
    assert cache.cycles(["bp-1", "bp-2"]) == ({"bp-1": CYCLE, "bp-2": {}}, [])
    cache.forget("billing.cycle_started", {"billingProfileId": "bp-1"})
    assert cache.cycles(["bp-1"]) == ({}, ["bp-1"])
    # Rating's worker records the new cycle after this process saw the announcement: what a batch reads
    # meanwhile may be the old one, so it is not kept until the age limit has passed.
    cache.keep(cache.generation(), {}, {}, cycles={"bp-1": CYCLE})
    assert cache.cycles(["bp-1"]) == ({}, ["bp-1"])
    clock.now = 61
    cache.keep(cache.generation(), {}, {}, cycles={"bp-1": {**CYCLE, "start": "2026-12-01"}})
    assert cache.cycles(["bp-1"])[0] == {"bp-1": {**CYCLE, "start": "2026-12-01"}}


def test_a_purge_drops_the_customers_memberships_and_cycles():
    cache = live()
    cache.keep(cache.generation(), {}, {}, {7: [MEMBER]}, {"bp-1": CYCLE})
    cache.forget("customer.purged", {"id": 7})
    assert cache.memberships([7]) == ({}, [7]) and cache.cycles(["bp-1"]) == ({}, ["bp-1"])


GROUP = {"_id": "bg-1", "customer_id": 7, "billing_profile_id": "bp-1", "credit_profile": None}


def test_a_balance_groups_credit_profile_is_kept_until_its_change_or_the_customers_purge_is_seen():
    cache = live()
    cache.keep(cache.generation(), {}, {}, balance_groups={"bg-1": GROUP, "bg-2": {**GROUP, "_id": "bg-2"}})
    assert cache.balance_groups(["bg-1", "bg-3"]) == ({"bg-1": GROUP}, ["bg-3"])
    cache.forget("balance_group.changed", {"id": "bg-1", "customerId": 7, "creditProfile": "STANDARD"})
    assert cache.balance_groups(["bg-1", "bg-2"]) == ({"bg-2": {**GROUP, "_id": "bg-2"}}, ["bg-1"])
    cache.forget("customer.purged", {"id": 7})
    assert cache.balance_groups(["bg-2"]) == ({}, ["bg-2"])

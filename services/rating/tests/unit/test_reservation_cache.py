"""The charging process's cache of active reservations, in memory (decision 0410)."""
from rating.adapters.reservation_cache import ReservationCache


def reservation(reservation_id, status="active"):
    return {"_id": reservation_id, "status": status}


def test_only_active_reservations_are_kept_and_a_settled_one_is_dropped():
    cache = ReservationCache()
    cache.update([reservation("r-1"), reservation("r-2"), reservation("r-3", "committed")])
    assert cache.active(["r-1", "r-2", "r-3"]) == {"r-1": reservation("r-1"), "r-2": reservation("r-2")}
    cache.update([reservation("r-1", "released"), reservation("r-2", "expired")])
    assert cache.active(["r-1", "r-2"]) == {} and "r-1" not in cache


def test_the_least_recently_kept_go_first():
    cache = ReservationCache(max_entries=2)
    cache.update([reservation("r-1"), reservation("r-2")])
    cache.update([reservation("r-1"), reservation("r-3")])
    assert set(cache.active(["r-1", "r-2", "r-3"])) == {"r-1", "r-3"}

"""Date-time inputs typed in the operator's time zone become the API's instants, and back (no I/O)."""
from datetime import UTC, datetime

from gateway.console import local_time

TZ = "Europe/Ljubljana"


def test_a_time_typed_in_the_operators_zone_is_sent_as_an_instant_of_that_zone():
    assert local_time.to_instant("2026-12-01T00:00", "Europe/Ljubljana") == "2026-12-01T00:00:00+01:00"
    assert local_time.to_instant("2026-07-01T00:00", "Europe/Ljubljana") == "2026-07-01T00:00:00+02:00"


def test_an_empty_input_is_no_instant_and_a_bad_one_is_left_for_the_api_to_name():
    assert local_time.to_instant("", "UTC") is None
    assert local_time.to_instant("tomorrow", "UTC") == "tomorrow"


def test_an_unknown_zone_falls_back_to_utc():
    assert local_time.to_instant("2026-12-01T10:30", "Mars/Olympus") == "2026-12-01T10:30:00+00:00"


def test_an_instant_from_the_api_fills_an_input_in_the_operators_zone():
    assert local_time.to_input("2030-12-31T22:30:00+00:00", "Europe/Ljubljana") == "2030-12-31T23:30"
    assert local_time.to_input(None, "Europe/Ljubljana") == ""


def test_only_the_named_date_time_fields_are_converted_and_empty_ones_dropped():
    body = {"name": "Family", "validFrom": "2026-12-01T00:00", "validTo": None}
    assert local_time.instants(body, "UTC", "validFrom", "validTo") == {
        "name": "Family", "validFrom": "2026-12-01T00:00:00+00:00"}


def test_inputs_with_seconds_show_and_take_them_in_the_operators_zone():
    # A usage event's start: a minute rounded down could lie before a service that began seconds ago.
    assert local_time.to_instant("2026-07-01T10:30:05", TZ) == "2026-07-01T10:30:05+02:00"
    assert local_time.to_input("2026-07-01T08:30:05+00:00", TZ, seconds=True) == "2026-07-01T10:30:05"
    assert local_time.now_input(TZ, datetime(2026, 1, 5, 8, 0, 7, tzinfo=UTC), seconds=True) == "2026-01-05T09:00:07"

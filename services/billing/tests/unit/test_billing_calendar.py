"""The billing calendar: cycles per interval, billing days 1-31 with month-end fallback, tiling."""
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.cycles import Calendar
from billing.domain.profiles import Interval


def at(*parts):
    return datetime(*parts, tzinfo=UTC)


def test_a_monthly_cycle_on_day_31_ends_on_the_last_day_of_february():
    calendar = Calendar(Interval.MONTHLY, 31)
    cycle = calendar.cycle_containing(at(2025, 2, 10, 12))
    assert (cycle.start, cycle.end) == (at(2025, 1, 31), at(2025, 2, 28))
    assert calendar.next_cycle(cycle).end == at(2025, 3, 31)


def test_a_billing_day_of_30_in_a_leap_february_falls_back_to_the_29th():
    cycle = Calendar(Interval.MONTHLY, 30).cycle_containing(at(2024, 2, 15))
    assert (cycle.start, cycle.end) == (at(2024, 1, 30), at(2024, 2, 29))


def test_a_cycle_starts_exactly_at_midnight_of_the_billing_day():
    cycle = Calendar(Interval.MONTHLY, 1).cycle_containing(at(2026, 3, 1))
    assert (cycle.start, cycle.end) == (at(2026, 3, 1), at(2026, 4, 1))


def test_weekly_cycles_turn_on_the_iso_weekday_given_as_billing_day():
    cycle = Calendar(Interval.WEEKLY, 3).cycle_containing(at(2024, 6, 3, 9))  # a Monday
    assert (cycle.start, cycle.end) == (at(2024, 5, 29), at(2024, 6, 5))


def test_quarterly_cycles_turn_every_three_months_from_the_anchor_month():
    cycle = Calendar(Interval.QUARTERLY, 15, anchor_month=2).cycle_containing(at(2026, 7, 1))
    assert (cycle.start, cycle.end) == (at(2026, 5, 15), at(2026, 8, 15))


def test_yearly_cycles_turn_on_the_anniversary_billing_day():
    cycle = Calendar(Interval.YEARLY, 29, anchor_month=2).cycle_containing(at(2025, 6, 1))
    assert (cycle.start, cycle.end) == (at(2025, 2, 28), at(2026, 2, 28))
    assert Calendar(Interval.YEARLY, 29, anchor_month=2).cycle_containing(at(2028, 3, 1)).start == at(2028, 2, 29)


def test_daily_cycles_are_calendar_days():
    cycle = Calendar(Interval.DAILY, 1).cycle_containing(at(2026, 1, 5, 23, 59))
    assert (cycle.start, cycle.end) == (at(2026, 1, 5), at(2026, 1, 6))


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError):
        Calendar(Interval.MONTHLY, 1).cycle_containing(datetime(2026, 1, 1))


calendars = st.one_of(
    st.builds(Calendar, st.sampled_from([Interval.MONTHLY, Interval.QUARTERLY, Interval.YEARLY]),
              st.integers(1, 31), st.integers(1, 12)),
    st.builds(Calendar, st.just(Interval.WEEKLY), st.integers(1, 7)),
    st.builds(Calendar, st.just(Interval.DAILY), st.just(1)),
)
instants = st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2101, 1, 1), timezones=st.just(UTC))


@settings(max_examples=400, deadline=None)
@given(calendars, instants)
def test_consecutive_cycles_tile_time_with_no_gap_and_no_overlap(calendar, instant):
    cycle = calendar.cycle_containing(instant)
    assert cycle.start <= instant < cycle.end
    following = calendar.next_cycle(cycle)
    assert following.start == cycle.end and following.end > following.start
    assert calendar.cycle_containing(cycle.end - timedelta(microseconds=1)) == cycle
    assert calendar.cycle_containing(cycle.start) == cycle


@settings(max_examples=200, deadline=None)
@given(st.builds(Calendar, st.sampled_from([Interval.MONTHLY, Interval.QUARTERLY, Interval.YEARLY]),
                 st.integers(1, 31), st.integers(1, 12)), instants)
def test_month_based_cycles_turn_on_the_billing_day_or_the_last_day_of_a_shorter_month(calendar, instant):
    start = calendar.cycle_containing(instant).start
    if start.day != calendar.billing_day:
        assert calendar.billing_day > start.day and (start + timedelta(days=1)).day == 1

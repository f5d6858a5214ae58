from datetime import date

import pytest

from billing.domain.profiles import Interval, billing_date, check_billing_day, next_billing_date
from chassis.errors import ValidationFailed


def test_a_billing_day_past_the_month_end_falls_back_to_the_last_day():
    assert billing_date(2024, 2, 31) == date(2024, 2, 29)
    assert billing_date(2023, 2, 30) == date(2023, 2, 28)
    assert billing_date(2024, 4, 31) == date(2024, 4, 30)
    assert billing_date(2024, 1, 31) == date(2024, 1, 31)


def test_the_next_monthly_billing_date_is_strictly_after_the_given_day():
    assert next_billing_date(date(2024, 1, 31), Interval.MONTHLY, 31) == date(2024, 2, 29)
    assert next_billing_date(date(2024, 2, 29), Interval.MONTHLY, 31) == date(2024, 3, 31)
    assert next_billing_date(date(2024, 12, 15), Interval.MONTHLY, 1) == date(2025, 1, 1)
    assert next_billing_date(date(2024, 3, 1), Interval.MONTHLY, 15) == date(2024, 3, 15)


def test_weekly_profiles_bill_on_the_weekday_given_as_billing_day():
    monday = date(2024, 6, 3)
    assert next_billing_date(monday, Interval.WEEKLY, 3) == date(2024, 6, 5)
    assert next_billing_date(monday, Interval.WEEKLY, 1) == date(2024, 6, 10)


def test_daily_and_yearly_profiles_advance_by_their_interval():
    assert next_billing_date(date(2024, 6, 3), Interval.DAILY, 1) == date(2024, 6, 4)
    assert next_billing_date(date(2024, 6, 20), Interval.YEARLY, 15) == date(2025, 6, 15)
    assert next_billing_date(date(2024, 6, 10), Interval.YEARLY, 15) == date(2024, 6, 15)


@pytest.mark.parametrize("interval,day", [(Interval.WEEKLY, 8), (Interval.MONTHLY, 0), (Interval.MONTHLY, 32)])
def test_a_billing_day_outside_its_interval_is_refused_naming_the_field(interval, day):
    with pytest.raises(ValidationFailed) as error:
        check_billing_day(interval, day)
    assert "billingDay" in error.value.fields


def test_a_billing_day_of_31_is_valid_for_monthly_profiles():
    check_billing_day(Interval.MONTHLY, 31)
    check_billing_day(Interval.WEEKLY, 7)

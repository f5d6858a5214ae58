from datetime import date

import pytest

from billing.domain.profiles import Interval, billing_date, check_billing_day
from chassis.errors import ValidationFailed


def test_a_billing_day_past_the_month_end_falls_back_to_the_last_day():
    assert billing_date(2024, 2, 31) == date(2024, 2, 29)
    assert billing_date(2023, 2, 30) == date(2023, 2, 28)
    assert billing_date(2024, 4, 31) == date(2024, 4, 30)
    assert billing_date(2024, 1, 31) == date(2024, 1, 31)


@pytest.mark.parametrize("interval,day", [(Interval.WEEKLY, 8), (Interval.MONTHLY, 0), (Interval.MONTHLY, 32)])
def test_a_billing_day_outside_its_interval_is_refused_naming_the_field(interval, day):
    with pytest.raises(ValidationFailed) as error:
        check_billing_day(interval, day)
    assert "billingDay" in error.value.fields


def test_a_billing_day_of_31_is_valid_for_monthly_profiles():
    check_billing_day(Interval.MONTHLY, 31)
    check_billing_day(Interval.WEEKLY, 7)

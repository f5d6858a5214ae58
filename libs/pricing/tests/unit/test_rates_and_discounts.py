from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pricing import billable_units, discount_amount, discount_applies, find_rate, keys_overlap, prorate, usage_charge

D = Decimal
RATES = [{"key": {"destination": "national", "timeBand": "*"}, "price": "0.09"},
         {"key": {"destination": "international", "timeBand": "peak"}, "price": "0.99"},
         {"key": {"destination": "international", "timeBand": "offpeak"}, "price": "0.59"}]


def test_a_rate_is_found_by_its_rating_set_values_and_a_wildcard_matches_anything():
    assert find_rate(RATES, {"destination": "national", "timeBand": "offpeak"})["price"] == "0.09"
    assert find_rate(RATES, {"destination": "international", "timeBand": "offpeak", "to": "+1"})["price"] == "0.59"
    assert find_rate(RATES, {"destination": "eu", "timeBand": "peak"}) is None
    assert find_rate(RATES, {"destination": "international"}) is None


def test_field_values_compare_as_text_so_numbers_match_their_keys():
    assert find_rate([{"key": {"zone": "5"}}], {"zone": 5}) is not None
    assert find_rate([{"key": {"roaming": "true"}}], {"roaming": True}) is not None


def test_rows_overlap_when_some_values_would_match_both():
    assert keys_overlap({"a": "x", "b": "*"}, {"a": "*", "b": "y"})
    assert keys_overlap({"a": "x"}, {"a": "x"})
    assert not keys_overlap({"a": "x", "b": "*"}, {"a": "y", "b": "*"})


@pytest.mark.parametrize("quantity, size, rounding, units", [
    ("61", "60", "up", "2"), ("60", "60", "up", "1"), ("0", "60", "up", "0"), ("61", "60", "down", "1"),
    ("90", "60", "half_up", "2"), ("89", "60", "half_up", "1"), ("2.5", "1", "up", "3")])
def test_usage_is_counted_in_whole_units_rounded_as_the_rate_says(quantity, size, rounding, units):
    assert billable_units(D(quantity), D(size), rounding) == D(units)


def test_a_usage_charge_is_units_times_price_at_rating_precision():
    assert usage_charge(D("125"), D("0.0333333333"), D("60"), "up") == (D(3), D("0.100000"))
    with pytest.raises(ValueError):
        billable_units(D("-1"), D("1"), "up")


def test_a_recurring_fee_is_prorated_by_the_days_the_product_was_active():
    start, end = datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)
    from_15th = datetime(2025, 4, 16, 9, tzinfo=UTC)
    assert prorate(D("30"), start, end, from_15th, end, "daily") == D("15.000000")
    assert prorate(D("30"), start, end, start, end, "daily") == D("30.000000")
    assert prorate(D("30"), start, end, from_15th, end, "none") == D("30")
    assert prorate(D("30"), start, end, end, datetime(2025, 6, 1, tzinfo=UTC), "daily") == D(0)
    assert prorate(D("19.99"), start, end, datetime(2025, 4, 30, 23, tzinfo=UTC), end, "daily") == D("0.666333")


def test_a_discount_takes_a_percentage_or_an_amount_but_never_more_than_the_price():
    assert discount_amount(D("19.99"), "percentage", D("10")) == D("1.999000")
    assert discount_amount(D("19.99"), "amount", D("5")) == D("5")
    assert discount_amount(D("3"), "amount", D("5")) == D("3")
    assert discount_amount(D("0"), "percentage", D("10")) == D("0")


def test_a_discount_applies_to_its_products_else_its_product_types_and_never_to_discounts():
    fee = {"code": "FEE", "type": "recurring_fee"}
    assert discount_applies({"products": ["FEE"]}, fee)
    assert not discount_applies({"products": ["OTHER"], "productTypes": ["recurring_fee"]}, fee)
    assert discount_applies({"productTypes": ["recurring_fee"]}, fee)
    assert discount_applies(None, fee)
    assert not discount_applies({}, {"code": "D", "type": "discount"})


def test_an_unknown_discount_kind_is_refused():
    with pytest.raises(ValueError):
        discount_amount(D("1"), "free", D("1"))

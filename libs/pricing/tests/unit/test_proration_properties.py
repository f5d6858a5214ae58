"""Properties of proration: the parts of a period add up to the whole fee."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing import prorate, round_rating

START = datetime(2025, 1, 1, tzinfo=UTC)
fees = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
period_days = st.integers(min_value=1, max_value=366)


@given(fee=fees, days=period_days, data=st.data())
def test_parts_of_a_period_split_at_day_boundaries_add_up_to_the_whole_fee(fee, days, data):
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=days - 1), max_size=8))) if days > 1 else []
    bounds = [START] + [START + timedelta(days=d) for d in cuts] + [START + timedelta(days=days)]
    end = bounds[-1]
    parts = [prorate(fee, START, end, a, b, "daily") for a, b in zip(bounds, bounds[1:], strict=False)]
    assert sum(parts) == round_rating(fee)
    assert all(part >= 0 for part in parts)


@given(fee=fees, days=period_days, offsets=st.lists(st.integers(min_value=1, max_value=366 * 86400 - 1),
                                                    max_size=5, unique=True))
def test_splits_within_a_day_charge_that_day_to_both_sides_and_never_less_than_the_fee(fee, days, offsets):
    end = START + timedelta(days=days)
    cuts = sorted({START + timedelta(seconds=s) for s in offsets if s < days * 86400})
    bounds = [START, *cuts, end]
    total = sum(prorate(fee, START, end, a, b, "daily") for a, b in zip(bounds, bounds[1:], strict=False))
    one_day = fee / days
    assert round_rating(fee) <= total <= round_rating(fee) + len(cuts) * (one_day + Decimal("0.000002"))


@given(fee=fees, days=period_days, a=st.integers(min_value=-400, max_value=400),
       length=st.integers(min_value=1, max_value=800))
def test_a_share_is_never_negative_nor_more_than_the_fee(fee, days, a, length):
    end = START + timedelta(days=days)
    active_from = START + timedelta(hours=a * 12)
    share = prorate(fee, START, end, active_from, active_from + timedelta(hours=length * 12), "daily")
    assert Decimal(0) <= share <= fee


def test_proration_refuses_naive_instants_empty_periods_and_unknown_policies():
    naive = datetime(2025, 1, 1)
    with pytest.raises(ValueError):
        prorate(Decimal(1), naive, naive + timedelta(days=1), naive, naive, "daily")
    with pytest.raises(ValueError):
        prorate(Decimal(1), START, START, START, START, "daily")
    with pytest.raises(ValueError):
        prorate(Decimal(1), START, START + timedelta(days=1), START, START, "weekly")

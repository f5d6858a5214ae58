from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chassis.errors import ValidationFailed
from rating.domain.balances import (
    Balance,
    Direction,
    add_months,
    calendar_month,
    draw,
    in_consumption_order,
    signed,
    totals,
    validity_end,
)

T0 = datetime(2026, 1, 10, tzinfo=UTC)


def balance(id: str, amount: str, *, valid_to: datetime | None = None, created: int = 0, priority: int = 0,
            resource: str = "MB", valid_from: datetime = T0 - timedelta(days=30)) -> Balance:
    return Balance(id=id, balance_group_id="g", resource=resource, amount=Decimal(amount), valid_from=valid_from,
                   valid_to=valid_to, created_at=T0 - timedelta(days=30 - created), priority=priority)


def test_credit_is_stored_negative_and_debit_positive():
    assert signed(Decimal("10"), Direction.CREDIT) == Decimal("-10")
    assert signed(Decimal("10"), Direction.DEBIT) == Decimal("10")


def test_a_created_balance_needs_a_positive_amount_naming_the_field():
    with pytest.raises(ValidationFailed) as error:
        signed(Decimal("0"), Direction.CREDIT)
    assert "amount" in error.value.fields


def test_earliest_expiry_is_drawn_first_and_infinite_validity_last():
    never = balance("never", "-100")
    soon = balance("soon", "-100", valid_to=T0 + timedelta(days=1))
    later = balance("later", "-100", valid_to=T0 + timedelta(days=9))
    assert [b.id for b in in_consumption_order([never, later, soon], ["earliestExpiry"])] == ["soon", "later", "never"]


def test_latest_expiry_puts_infinite_validity_first():
    never = balance("never", "-100")
    soon = balance("soon", "-100", valid_to=T0 + timedelta(days=1))
    assert [b.id for b in in_consumption_order([soon, never], ["latestExpiry"])] == ["never", "soon"]


def test_priority_then_newest_break_ties_in_the_configured_order():
    a = balance("a", "-1", priority=2, created=1)
    b = balance("b", "-1", priority=1, created=1)
    c = balance("c", "-1", priority=1, created=5)
    assert [x.id for x in in_consumption_order([a, b, c], ["priority", "newest"])] == ["c", "b", "a"]
    assert [x.id for x in in_consumption_order([a, b, c], ["oldest"])] == ["a", "b", "c"]


def test_drawing_spills_over_to_the_next_balance_and_never_goes_past_zero():
    first = balance("first", "-30", valid_to=T0 + timedelta(days=1))
    second = balance("second", "-50", valid_to=T0 + timedelta(days=2))
    result = draw([second, first], Decimal("60"), ["earliestExpiry"], T0)
    assert result.taken == [("first", Decimal("30")), ("second", Decimal("30"))]
    assert result.uncovered == 0


def test_what_no_balance_covers_is_reported_as_uncovered():
    result = draw([balance("only", "-10")], Decimal("25"), [], T0)
    assert result.taken == [("only", Decimal("10"))]
    assert result.uncovered == Decimal("15")


def test_expired_not_yet_valid_and_charged_balances_are_not_drawn():
    expired = balance("expired", "-10", valid_to=T0)
    future = balance("future", "-10", valid_from=T0 + timedelta(seconds=1))
    charged = balance("charged", "5")
    result = draw([expired, future, charged], Decimal("1"), [], T0)
    assert result.taken == [] and result.uncovered == Decimal("1")


def test_credit_held_by_reservations_is_not_available():
    result = draw([balance("b", "-10")], Decimal("8"), [], T0, held={"b": Decimal("5")})
    assert result.taken == [("b", Decimal("5"))] and result.uncovered == Decimal("3")


def test_totals_sum_only_valid_balances_per_resource():
    items = [balance("a", "-100"), balance("b", "-20", valid_to=T0 - timedelta(days=1)),
             balance("c", "12.5", resource="EUR"), balance("d", "-2.5", resource="EUR")]
    assert totals(items, T0) == {"EUR": Decimal("10.0"), "MB": Decimal("-100")}


def test_month_validity_clamps_to_the_last_day_of_a_shorter_month():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert validity_end(T0, "month", 1) == datetime(2026, 2, 10, tzinfo=UTC)
    assert validity_end(T0, "unlimited", None) is None
    assert validity_end(T0, "day", 30) == T0 + timedelta(days=30)


def test_until_billing_announces_a_cycle_the_calendar_month_is_assumed():
    cycle = calendar_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert cycle.start == datetime(2026, 12, 1, tzinfo=UTC) and cycle.end == datetime(2027, 1, 1, tzinfo=UTC)


def test_the_assumed_calendar_month_is_the_same_for_every_instant_of_it_and_only_of_it():
    for instant in (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
                    datetime(2026, 2, 14, 12, tzinfo=UTC), datetime(2026, 2, 14, 12, tzinfo=UTC)):
        cycle = calendar_month(instant)
        assert (cycle.start, cycle.end) == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert calendar_month(datetime(2027, 2, 3, tzinfo=UTC)).start == datetime(2027, 2, 1, tzinfo=UTC)
    assert calendar_month(datetime(2026, 3, 1, tzinfo=UTC)).end == datetime(2026, 4, 1, tzinfo=UTC)

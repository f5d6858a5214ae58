from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128

from chassis import money


def test_floats_are_refused_because_they_cannot_hold_cents_exactly():
    with pytest.raises(money.MoneyError, match="not floats"):
        money.to_decimal(0.1)


@pytest.mark.parametrize("raw", ["abc", "", "NaN", "Infinity", None])
def test_garbage_and_non_finite_amounts_are_refused(raw):
    with pytest.raises(money.MoneyError):
        money.to_decimal(raw)


def test_strings_integers_and_decimal128_become_decimals():
    assert money.to_decimal("10.05") == Decimal("10.05")
    assert money.to_decimal(3) == Decimal(3)
    assert money.to_decimal(Decimal128("1.10")) == Decimal("1.10")


def test_wire_and_storage_forms_keep_every_digit():
    amount = Decimal("1234567890.123456")
    assert money.to_wire(amount) == "1234567890.123456"
    assert money.to_storage(amount).to_decimal() == amount
    assert money.to_wire(Decimal("1E+2")) == "100"

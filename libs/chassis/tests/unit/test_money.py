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


STORED_SAMPLES = ["0", "-0", "1", "1.0", "1.23", "-5120", "0.000001", "-7.500000", "100E-2", "0E-7", "-0.00",
                  "1E+10", "1E-100", "9" * 34, "1234567890123456789012345678901234E-40", "1E6111", "1E-6176",
                  # beyond the direct form: bson's own conversion (rounding, clamping) decides
                  "12345678901234567890123456789012345", "1E6112", "NaN", "Infinity", "-Infinity"]


@pytest.mark.parametrize("text", STORED_SAMPLES)
def test_storage_conversions_match_bsons_bit_for_bit_and_keep_trailing_zeros(text):
    amount = Decimal(text)
    try:
        expected = Decimal128(amount)
    except Exception as refused:  # bson refuses what Decimal128 cannot hold exactly; so do we
        with pytest.raises(type(refused)):
            money.to_storage(amount)
        return
    assert money.to_storage(amount).bid == expected.bid
    assert money.to_storage(amount).bid == expected.bid  # a second time, from the cache of stored amounts
    assert str(money.from_storage(expected)) == str(expected.to_decimal())


def test_equal_amounts_written_differently_are_stored_as_written():
    assert money.from_storage(money.to_storage(Decimal("1"))) == 1
    assert str(money.from_storage(money.to_storage(Decimal("1.00")))) == "1.00"
    assert str(money.from_storage(money.to_storage(Decimal("1")))) == "1"

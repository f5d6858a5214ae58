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


def test_currency_rounding_is_half_up_to_the_minor_unit():
    assert money.round_currency(Decimal("2.345"), "EUR") == Decimal("2.35")
    assert money.round_currency(Decimal("2.344"), "EUR") == Decimal("2.34")
    assert money.round_currency(Decimal("-2.345"), "EUR") == Decimal("-2.35")
    assert money.round_currency(Decimal("100.5"), "JPY") == Decimal("101")
    assert money.round_currency(Decimal("1.2345"), "BHD") == Decimal("1.235")


def test_rating_keeps_six_decimal_places():
    assert money.round_rating(Decimal("0.12345649")) == Decimal("0.123456")
    assert money.round_rating(Decimal("0.1234565")) == Decimal("0.123457")


def test_unknown_currencies_have_no_minor_units():
    assert not money.is_currency("XXX1")
    with pytest.raises(money.MoneyError):
        money.minor_units("ABC")


def test_wire_and_storage_forms_keep_every_digit():
    amount = Decimal("1234567890.123456")
    assert money.to_wire(amount) == "1234567890.123456"
    assert money.to_storage(amount).to_decimal() == amount
    assert money.to_wire(Decimal("1E+2")) == "100"

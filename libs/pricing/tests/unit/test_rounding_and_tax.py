from decimal import Decimal

import pytest

from pricing import UnknownCurrency, is_currency, line_tax, minor_units, round_currency, round_rating, totals

D = Decimal


def test_currency_rounding_is_half_up_to_the_minor_unit():
    assert round_currency(D("2.345"), "EUR") == D("2.35")
    assert round_currency(D("2.344"), "EUR") == D("2.34")
    assert round_currency(D("-2.345"), "EUR") == D("-2.35")
    assert round_currency(D("100.5"), "JPY") == D("101")
    assert round_currency(D("1.2345"), "BHD") == D("1.235")


def test_rating_precision_is_six_places_half_up():
    assert round_rating(D("0.12345649")) == D("0.123456")
    assert round_rating(D("0.1234565")) == D("0.123457")


def test_unknown_currencies_are_refused():
    assert not is_currency("XXX1")
    assert is_currency("eur")
    with pytest.raises(UnknownCurrency):
        minor_units("ABC")


def test_each_line_is_taxed_on_its_own_rounded_amount():
    assert line_tax(D("10.00"), D("19"), "EUR") == D("1.90")
    assert line_tax(D("0.03"), D("19"), "EUR") == D("0.01")
    with pytest.raises(ValueError):
        line_tax(D("1"), D("-1"), "EUR")


def test_totals_are_sums_of_rounded_lines_not_rounded_sums():
    # Three lines of 0.004 each round to 0.00; a rounded sum would have said 0.01.
    result = totals([(D("0.004"), D("19"))] * 3 + [(D("19.99"), D("19")), (D("5.005"), None)], "EUR")
    assert [line.net for line in result.lines] == [D("0.00")] * 3 + [D("19.99"), D("5.01")]
    assert [line.tax for line in result.lines] == [D("0.00")] * 3 + [D("3.80"), D("0.00")]
    assert (result.net, result.tax, result.gross) == (D("25.00"), D("3.80"), D("28.80"))
    assert result.gross == sum(line.gross for line in result.lines)


def test_an_empty_bill_totals_zero_in_the_currency():
    result = totals([], "JPY")
    assert (result.net, result.tax, result.gross) == (D("0"), D("0"), D("0"))

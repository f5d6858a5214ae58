from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from chassis.fields import DecimalString


class Price(Schema):
    amount = DecimalString(required=True, minimum=0)
    size = DecimalString(minimum=0, exclusive_minimum=True, maximum=100)


def test_decimal_strings_and_integers_load_as_decimals_and_dump_as_strings():
    assert Price().load({"amount": "12.50", "size": 3}) == {"amount": Decimal("12.50"), "size": Decimal(3)}
    assert Price().dump({"amount": Decimal("0.10")}) == {"amount": "0.10"}


@pytest.mark.parametrize("raw", [0.1, True, "abc", "NaN", None, [1]])
def test_floats_booleans_and_garbage_are_refused(raw):
    with pytest.raises(ValidationError) as refused:
        Price().load({"amount": raw})
    assert "amount" in refused.value.messages


@pytest.mark.parametrize("body, field", [({"amount": "-1"}, "amount"), ({"amount": "1", "size": "0"}, "size"),
                                         ({"amount": "1", "size": "101"}, "size")])
def test_bounds_are_enforced(body, field):
    with pytest.raises(ValidationError) as refused:
        Price().load(body)
    assert set(refused.value.messages) == {field}

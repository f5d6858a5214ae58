from decimal import Decimal

import pytest

from chassis.errors import ValidationFailed
from rating.domain.model import ProductType, check_products, free_unit_grants


def product(**overrides):
    return {"type": ProductType.SERVICE, "purchased": True, "service_identifier": "38640111222",
            "service_type": "voice", "resource": None, "free_units": None, "quantity": Decimal(1), **overrides}


def test_a_purchased_service_product_without_identifier_is_refused_naming_the_product():
    with pytest.raises(ValidationFailed) as error:
        check_products([product(type=ProductType.RECURRING_FEE), product(service_identifier=None)])
    assert list(error.value.fields) == ["products.1.serviceIdentifier"]


def test_an_optional_service_product_that_is_not_purchased_needs_no_identifier():
    check_products([product(), product(purchased=False, service_identifier=None)])


def test_a_subscription_that_buys_nothing_is_refused():
    with pytest.raises(ValidationFailed) as error:
        check_products([product(purchased=False)])
    assert "products" in error.value.fields


def test_free_units_are_granted_per_purchased_quantity_only():
    grants = free_unit_grants([
        product(resource="MB", free_units=Decimal("1000"), quantity=Decimal(2)),
        product(resource="MIN", free_units=Decimal("60"), purchased=False),
        product(resource=None, free_units=None),
    ])
    assert grants == [("MB", Decimal("2000"))]

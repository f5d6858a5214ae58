from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from chassis.errors import ValidationFailed
from rating.domain.model import (
    ProductType,
    ServiceStatus,
    advance,
    check_identifier,
    check_products,
    check_service_status,
    current_period,
    free_units_of,
    validity_end,
)


def product(**overrides):
    return {"code": "VOICE", "type": ProductType.SERVICE, "purchased": True, "optional": False,
            "service_identifier": "38640111222", "service_type": "voice", "resource": None, "free_units": None,
            "quantity": Decimal(1), **overrides}


def at(*args):
    return datetime(*args, tzinfo=UTC)


def test_a_purchased_service_product_without_identifier_is_refused_naming_the_product():
    with pytest.raises(ValidationFailed) as error:
        check_products([product(type=ProductType.RECURRING_FEE), product(service_identifier=None)])
    assert list(error.value.fields) == ["products.1.serviceIdentifier"]


def test_an_optional_product_that_is_not_purchased_needs_no_identifier():
    check_products([product(), product(purchased=False, optional=True, service_identifier=None)])


def test_a_product_that_is_not_optional_cannot_be_left_out():
    with pytest.raises(ValidationFailed) as error:
        check_products([product(), product(code="FEE", type=ProductType.RECURRING_FEE, purchased=False)])
    assert error.value.fields == {"products.1.purchased": "product FEE is not optional: it is always bought"}


def test_a_purchase_that_buys_nothing_is_refused():
    with pytest.raises(ValidationFailed) as error:
        check_products([product(purchased=False, optional=True)])
    assert "products" in error.value.fields


def stored(**overrides):
    return SimpleNamespace(**{"purchased": True, "type": "service", "resource": "MB", "value": None,
                              "free_units": Decimal(1000), "quantity": Decimal(2), **overrides})


def test_free_units_are_the_value_times_the_quantity_of_a_purchased_service_product():
    assert free_units_of(stored()) == Decimal(2000)
    assert free_units_of(stored(value=Decimal(300))) == Decimal(600)  # the operator edited the value
    assert free_units_of(stored(purchased=False)) is None
    assert free_units_of(stored(type="recurring_fee", resource="EUR", value=Decimal("9.99"))) is None
    assert free_units_of(stored(resource=None)) is None


def test_a_month_from_the_31st_of_january_ends_on_the_last_day_of_february():
    assert advance(at(2025, 1, 31), "month") == at(2025, 2, 28)
    assert advance(at(2024, 1, 31), "month") == at(2024, 2, 29)
    assert advance(at(2024, 2, 29), "year") == at(2025, 2, 28)
    assert advance(at(2025, 3, 1), "week", 2) == at(2025, 3, 15)


def test_a_product_validity_ends_after_its_count_of_units_and_unlimited_never_ends():
    assert validity_end(at(2025, 3, 10), {"unit": "day", "count": 30}) == at(2025, 4, 9)
    assert validity_end(at(2025, 3, 10), {"unit": "month"}) == at(2025, 4, 10)
    assert validity_end(at(2025, 3, 10), {"unit": "unlimited"}) is None
    assert validity_end(at(2025, 3, 10), None) is None


def test_the_current_period_of_a_monthly_fee_is_found_from_its_start():
    assert current_period(at(2025, 1, 15), "month", 1, at(2025, 3, 20)) == (at(2025, 3, 15), at(2025, 4, 15))
    assert current_period(at(2025, 1, 15), "month", 1, at(2025, 1, 15)) == (at(2025, 1, 15), at(2025, 2, 15))


@pytest.mark.parametrize("identifier", ["", "a" * 65, "+386 40", "12-34", 38640111222, None])
def test_a_service_identifier_is_one_to_64_letters_or_digits(identifier):
    with pytest.raises(ValidationFailed) as error:
        check_identifier(identifier)
    assert "identifier" in error.value.fields


def test_epoch_timestamps_and_phone_numbers_are_valid_identifiers():
    assert check_identifier("1732873200123") == "1732873200123"
    assert check_identifier("38640111222") == "38640111222"


def test_a_terminated_service_is_final_and_a_suspended_one_can_be_resumed():
    check_service_status(ServiceStatus.SUSPENDED, ServiceStatus.ACTIVE)
    check_service_status(ServiceStatus.ACTIVE, ServiceStatus.SUSPENDED)
    with pytest.raises(ValidationFailed):
        check_service_status(ServiceStatus.TERMINATED, ServiceStatus.ACTIVE)

from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from customer.schemas import CustomerCreateSchema, PaymentInfoSchema, SearchFiltersSchema

ACCOUNT = {"firstName": "Ann", "lastName": "Smith", "email": "ann@example.com", "phone": "+49 30 1234567",
           "address": "Main St 1", "city": "Berlin", "state": "BE", "country": "de", "customerType": "regular"}


def errors_of(schema, payload):
    with pytest.raises(ValidationError) as caught:
        schema.load(payload)
    return caught.value.messages


def test_an_account_loads_with_the_country_upper_cased_and_a_primary_tag():
    data = CustomerCreateSchema().load(ACCOUNT)
    assert data["country"] == "DE"
    assert data["tag"] == "primary"
    assert data["organization"] is None and data["zip"] is None


def test_an_invalid_email_or_country_is_named():
    messages = errors_of(CustomerCreateSchema(), {**ACCOUNT, "email": "nope", "country": "XX"})
    assert set(messages) == {"email", "country"}


def test_a_direct_debit_needs_a_valid_iban_and_bic():
    messages = errors_of(PaymentInfoSchema(), {"method": "directDebit", "directDebit": {
        "mandateId": "M1", "signedOn": "2024-01-01", "bic": "NOTABIC", "iban": "DE00370400440532013000"}})
    assert set(messages["directDebit"]) == {"bic", "iban"}


def test_a_mandate_signed_in_the_future_is_refused():
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    messages = errors_of(PaymentInfoSchema(), {"method": "directDebit", "directDebit": {
        "mandateId": "M1", "signedOn": tomorrow, "bic": "COBADEFFXXX", "iban": "DE89370400440532013000"}})
    assert "signedOn" in messages["directDebit"]


def test_a_valid_direct_debit_is_normalised():
    data = PaymentInfoSchema().load({"method": "directDebit", "directDebit": {
        "mandateId": "M1", "signedOn": "2024-01-01", "bic": "COBADEFFXXX", "iban": "de89 3704 0044 0532 0130 00"}})
    assert data["direct_debit"]["iban"] == "DE89370400440532013000"


def test_the_details_must_match_the_payment_method():
    assert "creditCard" in errors_of(PaymentInfoSchema(), {"method": "creditCard"})
    messages = errors_of(PaymentInfoSchema(), {"method": "invoice", "creditCard": {"holderName": "A", "token": "t"}})
    assert "creditCard" in messages


def test_unknown_search_filters_and_bad_enums_are_refused():
    assert "status" in errors_of(SearchFiltersSchema(), {"status": "gone"})
    assert "colour" in errors_of(SearchFiltersSchema(), {"colour": "red"})

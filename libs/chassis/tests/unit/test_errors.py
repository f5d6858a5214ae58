import pytest
from marshmallow import Schema, ValidationError, fields
from nameko.exceptions import deserialize, serialize

import chassis.nameko_adapter  # noqa: F401  (registers the errors with nameko)
from chassis.errors import Conflict, NotFound, PlatformError, Unavailable, ValidationFailed, from_marshmallow


def test_a_validation_error_becomes_a_problem_listing_each_field():
    problem = ValidationFailed("bad input", {"email": "Not a valid email.", "country": ["Unknown"]}).to_problem("/x")
    assert problem["status"] == 400
    assert problem["instance"] == "/x"
    assert problem["invalid_params"] == [
        {"name": "country", "reason": "Unknown"},
        {"name": "email", "reason": "Not a valid email."},
    ]


@pytest.mark.parametrize("cls,status", [(NotFound, 404), (Conflict, 409), (Unavailable, 503), (PlatformError, 500)])
def test_each_error_type_has_its_http_status(cls, status):
    assert cls("x").to_problem()["status"] == status


@pytest.mark.parametrize("error", [ValidationFailed("bad", {"email": "x"}), NotFound("no customer 3"), Conflict("dup")])
def test_typed_errors_survive_nameko_serialisation(error):
    again = deserialize(serialize(error))
    assert type(again) is type(error)
    assert again.detail == error.detail
    assert again.fields == error.fields


def test_marshmallow_messages_are_flattened_to_dotted_field_names():
    class Address(Schema):
        city = fields.String(required=True)

    class Customer(Schema):
        email = fields.Email(required=True)
        address = fields.Nested(Address, required=True)

    with pytest.raises(ValidationError) as caught:
        Customer().load({"email": "nope", "address": {}})
    error = from_marshmallow(caught.value)
    assert set(error.fields) == {"email", "address.city"}
    assert "address.city" in error.detail

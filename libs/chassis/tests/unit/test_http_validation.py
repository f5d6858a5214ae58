import pytest

from chassis.errors import ValidationFailed
from chassis.http import ProblemJSONBodyValidator

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["firstName", "email", "address"],
    "properties": {
        "firstName": {"type": "string", "minLength": 1},
        "email": {"type": "string", "format": "email"},
        "address": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
    },
}


def validate(body):
    validator = ProblemJSONBodyValidator(schema=SCHEMA, nullable=False, encoding="utf-8", strict_validation=True)
    return validator._validate(body)


def test_each_bad_field_is_named_with_its_own_reason():
    with pytest.raises(ValidationFailed) as caught:
        validate({"firstName": "", "address": {}, "nickname": "x"})
    assert caught.value.fields == {
        "firstName": "'' should be non-empty",
        "email": "'email' is a required property",
        "address.city": "'city' is a required property",
        "nickname": "Additional properties are not allowed ('nickname' was unexpected)",
    }


def test_a_valid_body_passes_through_and_an_empty_one_is_refused():
    body = {"firstName": "Ada", "email": "ada@example.com", "address": {"city": "London"}}
    assert validate(body) == body
    with pytest.raises(ValidationFailed, match="must not be empty"):
        validate(None)

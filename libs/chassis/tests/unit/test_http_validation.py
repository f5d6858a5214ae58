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


def test_a_nullable_reference_accepts_null():
    validator = ProblemJSONBodyValidator(
        schema={"type": "object", "properties": {"billingAddress": {"allOf": [{"type": "object", "required": ["city"]}],
                                                                    "nullable": True}}},
        nullable=False, encoding="utf-8", strict_validation=True)
    assert validator._validate({"billingAddress": None}) == {"billingAddress": None}
    with pytest.raises(ValidationFailed):
        validator._validate({"billingAddress": {}})


def test_an_unexpected_error_is_logged_with_its_traceback_and_answered_with_the_trace_id(caplog):
    import json

    from connexion.lifecycle import ConnexionRequest

    from chassis import telemetry
    from chassis.http import _unexpected_error

    def fail():
        raise KeyError("secret detail")

    from opentelemetry.sdk.trace import TracerProvider

    request = ConnexionRequest({"type": "http", "method": "GET", "path": "/boom", "headers": [], "query_string": b""})
    with TracerProvider().get_tracer("test").start_as_current_span("request"):
        try:
            fail()
        except KeyError as exc:
            caught = exc
        trace_id = telemetry.current_trace_id()
        response = _unexpected_error(request, caught)
    record = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    assert "in fail" in telemetry.JsonFormatter("test").format(record)
    body = json.loads(response.body)
    assert response.status_code == 500 and body["traceId"] == trace_id and trace_id
    assert "secret detail" not in response.body

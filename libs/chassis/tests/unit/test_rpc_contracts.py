"""chassis.rpc_contracts: an RPC call is checked against its declaration before the method runs."""
import pytest

from chassis.contracts import ContractError
from chassis.errors import ValidationFailed
from chassis.rpc_contracts import Method, camel, resolve

GATEWAY = "http:gateway#/components/schemas/"


def add_contact(self, customer_id, contact, request_id=None):
    return contact


METHOD = Method("customer", "add_contact", {
    "customerId": {"type": "integer", "minimum": 1},
    "contact": {"$ref": GATEWAY + "Contact"},
    "requestId": {"type": "string", "nullable": True}}, {"$ref": GATEWAY + "Contact"})
CONTACT = {"tag": "primary", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
           "phone": "+44 20 7946 0000", "address": "1 St", "city": "London", "state": "LND", "country": "GB"}


def refused(args, kwargs=None):
    with pytest.raises(ValidationFailed) as caught:
        METHOD.check_arguments(add_contact, args, kwargs or {})
    return caught.value.fields


def test_parameters_are_named_in_the_contract_as_on_the_wire():
    assert camel("customer_id") == "customerId" and camel("code") == "code"


def test_a_call_as_declared_passes_defaults_included():
    METHOD.check_arguments(add_contact, (1, {"anything": "the service's loader checks the fields"}), {})
    METHOD.check_arguments(add_contact, (1, CONTACT), {"request_id": None})


@pytest.mark.parametrize(("args", "kwargs", "named"), [
    (("1", CONTACT), {}, {"customerId"}), ((0, CONTACT), {}, {"customerId"}), ((1, [CONTACT]), {}, {"contact"}),
    ((True, None), {}, {"customerId", "contact"}), ((1, CONTACT), {"request_id": 5}, {"requestId"})])
def test_a_bad_argument_is_refused_naming_the_parameter(args, kwargs, named):
    assert set(refused(args, kwargs)) == named


def test_a_missing_or_unknown_argument_is_refused():
    assert "_arguments" in refused((1,))
    assert "_arguments" in refused((1, CONTACT), {"colour": "red"})


def test_a_result_is_checked_in_full_against_the_shape_it_names():
    METHOD.check_result(CONTACT)
    with pytest.raises(ContractError, match="country"):
        METHOD.check_result({**CONTACT, "country": "Great Britain"})
    with pytest.raises(ContractError):
        METHOD.check_result({**CONTACT, "colour": "red"})  # Contact allows no other property


def test_openapi_words_become_json_schema_words():
    assert resolve({"type": "string", "nullable": True}) == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert resolve({"type": "string", "minimum": 0, "exclusiveMinimum": True}) == {
        "type": "string", "exclusiveMinimum": 0}


def test_a_reference_must_say_which_document_it_names():
    with pytest.raises(ContractError):
        resolve({"$ref": "#/components/schemas/Contact"})
    with pytest.raises(ContractError):
        resolve({"$ref": GATEWAY + "NoSuchShape"})

from datetime import UTC, datetime

import pytest

from chassis.contracts import ContractError, http_spec, validate_event_data

GOOD = {"id": 1, "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "status": "active",
        "createdAt": "2026-01-01T00:00:00+00:00"}


def test_a_payload_matching_its_schema_passes():
    validate_event_data("customer.created", GOOD)


@pytest.mark.parametrize("change", [{"id": "1"}, {"status": "gone"}, {"unexpected": True}, {"email": None}])
def test_a_payload_breaking_its_schema_is_refused(change):
    with pytest.raises(ContractError, match="customer.created"):
        validate_event_data("customer.created", {**GOOD, **change})


@pytest.mark.parametrize("change", [{"createdAt": "yesterday"}, {"createdAt": datetime(2026, 1, 1, tzinfo=UTC)},
                                    {"id": 0}, {"email": "not an address"}])
def test_the_fast_validator_and_the_reference_refuse_the_same_payloads_naming_the_field(change):
    (field,) = change
    with pytest.raises(ContractError, match=field):
        validate_event_data("customer.created", {**GOOD, **change})


def test_an_event_without_a_schema_cannot_be_published():
    with pytest.raises(ContractError, match="no schema"):
        validate_event_data("customer.teleported", {})


def test_the_gateway_spec_merges_its_area_fragments():
    spec = http_spec("gateway")
    assert "/health/ready" in spec["paths"]
    assert "/api/v1/customers" in spec["paths"]
    assert "Problem" in spec["components"]["schemas"]

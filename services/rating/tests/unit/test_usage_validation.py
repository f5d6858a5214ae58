from decimal import Decimal

import pytest

from rating.domain.usage import UsageRejected, check_fields, parse_envelope

VOICE_FIELDS = [
    {"name": "startTime", "type": "datetime", "role": "mandatory"},
    {"name": "endTime", "type": "datetime", "role": "mandatory"},
    {"name": "origin", "type": "string", "role": "optional"},
    {"name": "destination", "type": "enum", "role": "ratingSet", "allowedValues": ["national", "eu"]},
    {"name": "seconds", "type": "integer", "role": "optional"},
]


def event(**overrides):
    raw = {"id": "e-1", "serviceType": "voice", "serviceIdentifier": "386401", "startTime": "2026-01-01T10:00:00Z",
           "quantity": "3", "fields": {"endTime": "2026-01-01T10:03:00Z", "destination": "eu"}}
    raw.update(overrides)
    return raw


def rejected(raw, definitions=VOICE_FIELDS):
    with pytest.raises(UsageRejected) as error:
        check_fields(parse_envelope(raw), definitions)
    return error.value


def test_a_valid_event_gets_its_start_time_as_the_service_types_start_field():
    checked = check_fields(parse_envelope(event()), VOICE_FIELDS)
    assert checked["startTime"] == "2026-01-01T10:00:00+00:00" and checked["destination"] == "eu"
    assert parse_envelope(event()).quantity == Decimal("3")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"quantity": "-1"}, "quantity"),
    ({"quantity": 1.5}, "quantity"),
    ({"id": ""}, "id"),
    ({"serviceIdentifier": None}, "serviceIdentifier"),
    ({"startTime": "yesterday"}, "startTime"),
    ({"startTime": "2026-01-01T10:00:00"}, "startTime"),
    ({"colour": "red"}, "colour"),
    ({"fields": {"destination": "eu"}}, "fields.endTime"),
    ({"fields": {"endTime": "2026-01-01T10:03:00Z", "destination": "mars"}}, "fields.destination"),
    ({"fields": {"endTime": "2026-01-01T10:03:00Z", "seconds": "12"}}, "fields.seconds"),
    ({"fields": {"endTime": "2026-01-01T10:03:00Z", "planet": "earth"}}, "fields.planet"),
])
def test_bad_events_are_rejected_naming_the_field(overrides, field):
    assert rejected(event(**overrides)).field == field

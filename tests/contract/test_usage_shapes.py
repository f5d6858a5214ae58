"""The usage shapes and the parser that applies them. A usage event (contracts/events/usage.event.v1.json) and
the charging payloads (the gateway's ReservationCreate and ReservationCommit) are declared once, in the
contracts, and referenced by the RPC contracts (rating.rate_usage, rating_charging.reserve /
commit_reservation); rating loads them with its usage parser (rating.domain.usage, shared by the stream, the
API and charging) rather than with a generated marshmallow schema, which would put marshmallow on the hot path.

So that the parser cannot drift from the declaration, each shape is checked here against it: a valid payload
is taken, and every value the declaration refuses for a member (a wrong type, a bound, a pattern, a format, a
required member left out, an unknown member) is refused by the parser naming that member.
"""
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest
from bson.decimal128 import Decimal128

from chassis import rpc_contracts
from chassis.errors import PlatformError, ValidationFailed
from rating.adapters.catalog import CatalogCache
from rating.service_layer import charging
from rating.service_layer.rating_batch import check_event

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
VOICE = {"code": "voice", "fields": [{"name": "destination", "type": "string", "role": "optional"}]}
CATALOG = CatalogCache(lambda method, *args: VOICE)  # every service type is voice
EVENT = {"id": "e-1", "serviceType": "voice", "serviceIdentifier": "4912345", "startTime": "2026-03-01T10:00:00Z",
         "quantity": "60", "fields": {"destination": "DE"}}
RESERVATION = {"id": "r-1", "serviceType": "voice", "serviceIdentifier": "4912345", "quantity": "60",
               "startTime": "2026-03-01T10:00:00Z", "fields": {"destination": "DE"}, "ttlSeconds": 60}
COMMIT = {"used": "3", "usageId": "u-1"}
HELD = {"_id": "r-1", "status": "active", "expires_at": NOW + timedelta(minutes=1), "resource": "MIN",
        "requested": Decimal128("10"), "granted": Decimal128("10"), "event": {**EVENT, "id": "r-1"}}

# Values to try in every member; those the declaration refuses there must be refused by the parser.
CANDIDATES: list[Any] = [1.5, True, [], {"x": 1}, 0, -1, 3601, "", " ", "-1", "1,5", "abc", "yesterday",
                         "2026-03-01T10:00:00", "x" * 129, {"destination": 1.5}, {"destination": ["DE"]},
                         # forms Decimal() and datetime.fromisoformat() take but the declaration does not
                         "1e3", " 5", "+5", "2026-03-01T10:00Z", "20260301T100000Z", "2026-03-01 10:00:00Z",
                         "2026-03-01T10:00:00+0100"]


def _usage_event(payload: Any) -> str | None:
    """The member check_event (stream, rate_usage) refuses, or None."""
    problem = check_event(payload, CATALOG).problem
    return None if problem is None else problem.field or "(event)"


def _refused_member(call: Any) -> str | None:
    try:
        call()
    except ValidationFailed as error:
        return next(iter(error.fields))
    except PlatformError as error:
        return f"(not named: {error})"
    return None


SHAPES = {
    "events:usage.event.v1": (EVENT, _usage_event),
    "http:gateway#/components/schemas/ReservationCreate": (
        RESERVATION, lambda payload: _refused_member(lambda: charging._reservation_request(payload, CATALOG, NOW))),
    "http:gateway#/components/schemas/ReservationCommit": (
        COMMIT, lambda payload: _refused_member(lambda: charging._commit_request(HELD, "r-1", payload, CATALOG, NOW))),
}


def _cases(ref: str) -> list[tuple[str, dict[str, Any]]]:
    declared = rpc_contracts.resolve({"$ref": ref})
    valid, _ = SHAPES[ref]
    check = jsonschema_rs.validator_for(declared, validate_formats=True)
    cases = [(name, {key: value for key, value in valid.items() if key != name}) for name in declared["required"]]
    cases += [("colour", {**valid, "colour": "red"})] if declared.get("additionalProperties") is False else []
    for name in declared["properties"]:
        cases += [(name, {**valid, name: value}) for value in CANDIDATES if not check.is_valid({**valid, name: value})]
    return cases


@pytest.mark.parametrize("ref", sorted(SHAPES))
def test_the_parser_takes_a_payload_its_declaration_allows(ref):
    valid, parse = SHAPES[ref]
    assert jsonschema_rs.validator_for(rpc_contracts.resolve({"$ref": ref}), validate_formats=True).is_valid(valid)
    assert parse(valid) is None
    minimal = {key: valid[key] for key in rpc_contracts.resolve({"$ref": ref})["required"]}
    assert parse(minimal) is None


@pytest.mark.parametrize("ref", sorted(SHAPES))
def test_the_parser_refuses_what_the_declaration_refuses_naming_the_member(ref):
    _, parse = SHAPES[ref]
    wrong = {}
    for member, payload in _cases(ref):
        refused = parse(payload)
        if refused is None or refused.split(".")[0] != member:
            wrong[f"{member}={payload.get(member, '(absent)')!r}"] = refused
    assert wrong == {}, "(member = value the declaration refuses: what the parser named, None if it took it)"


def test_every_member_of_every_usage_shape_is_tried():
    for ref in SHAPES:
        tried = {member for member, _ in _cases(ref)}
        assert tried == set(rpc_contracts.resolve({"$ref": ref})["properties"]) | {"colour"}, ref


# -- usage.batch: many events in one stream message ---------------------------------------------------------

def _batch_validator():
    """usage.batch.v1 as any JSON Schema tool reads it: its items name usage.event.v1 by a relative `$ref`."""
    import jsonschema
    from referencing import Registry, Resource

    batch, event = rpc_contracts.event_schema("usage.batch.v1"), rpc_contracts.event_schema("usage.event.v1")
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in (batch, event))
    return jsonschema.Draft202012Validator(batch, registry=registry)


def _batch_refused(document: Any) -> str | None:
    """What the stream refuses of a batch message's own shape (its events are judged one by one), or None."""
    from rating.domain.usage import UsageRejected, message_events
    from rating.entrypoints.stream import MAX_EVENTS

    try:
        message_events(document, MAX_EVENTS)
    except UsageRejected as problem:
        return problem.field
    return None


def test_the_stream_takes_as_many_events_in_a_message_as_the_api_takes_in_a_request():
    from rating.entrypoints.stream import MAX_EVENTS
    from rating.service_layer.usage import MAX_BATCH

    assert MAX_EVENTS == MAX_BATCH == 1000


def test_the_batch_declaration_takes_usage_events_and_refuses_what_a_usage_event_refuses():
    check = _batch_validator()
    assert check.is_valid({"events": [EVENT, {**EVENT, "id": "e-2"}]})
    assert not check.is_valid({"events": [EVENT, {**EVENT, "quantity": 1.5}]})


def test_the_stream_refuses_the_batches_the_declaration_refuses_for_their_shape_naming_the_member():
    check = _batch_validator()
    limit = rpc_contracts.event_schema("usage.batch.v1")["properties"]["events"]["maxItems"]
    for value in ([], [EVENT] * (limit + 1), {"0": EVENT}, EVENT, "x", None):
        assert not check.is_valid({"events": value})
        assert _batch_refused({"events": value}) == "events", value
    assert not check.is_valid({"events": [EVENT], "colour": "red"})
    assert _batch_refused({"events": [EVENT], "colour": "red"}) == "colour"
    assert _batch_refused({"events": [EVENT] * limit}) is None
    assert _batch_refused(EVENT) is None  # one event: judged by check_event like any other

"""Event schemas are valid, described in asyncapi.yaml, and every published type has one."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from chassis.contracts import contracts_dir
from chassis.envelope import exchange_for

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = sorted((contracts_dir() / "events").glob("*.json"))
NAME = re.compile(r"^(?P<type>[a-z_]+\.[a-z_]+)\.v(?P<version>\d+)\.json$")


def asyncapi():
    return yaml.safe_load((contracts_dir() / "asyncapi.yaml").read_text())


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_each_schema_is_a_strict_json_schema_named_after_its_event(path):
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    match = NAME.match(path.name)
    assert match, "schemas are named <producer>.<event>.v<N>.json"
    assert schema["title"] == match["type"]
    assert schema["additionalProperties"] is False
    assert schema["type"] == "object"


def test_asyncapi_describes_every_event_and_only_existing_schemas():
    doc = asyncapi()
    payloads = {m["payload"]["$ref"] for m in doc["components"]["messages"].values()}
    assert payloads == {f"./events/{p.name}" for p in SCHEMAS}
    for name, channel in doc["channels"].items():
        amqp = channel["bindings"]["amqp"]
        binding = amqp["exchange"]
        assert binding["type"] == "topic" and binding["durable"] is True
        if amqp["is"] == "queue":
            # An inbound stream (the usage stream): its own exchange and durable queue, published to us.
            assert amqp["queue"]["name"] == name and amqp["queue"]["durable"] is True
            # A stream may take several shapes (the usage stream: one event or a batch of them).
            message = channel["publish"]["message"]
            refs = [option["$ref"] for option in message.get("oneOf", [message])]
            assert refs and all(ref.startswith("#/components/messages/") for ref in refs)
            continue
        assert binding["name"] == exchange_for(name)
        assert channel["subscribe"]["message"]["$ref"] == f"#/components/messages/{name}"


# `uow.publish("type", ...)`, a `("type", {...} or data, subject)` item of `uow.publish_many`, or a publishing
# helper called as `_publish_x(uow, "type", ...)`.
PUBLISHED = re.compile(r'\.publish\(\s*"([a-z_]+\.[a-z_]+)"|\(\s*"([a-z_]+\.[a-z_]+)",\s*(?:\{|data\b)'
                       r'|_publish\w*\(\s*uow,\s*"([a-z_]+\.[a-z_]+)"')


def test_every_event_type_the_code_publishes_has_a_schema():
    published = set()
    for source in (ROOT / "services").rglob("*.py"):
        if "tests" not in source.parts:
            published |= {next(filter(None, m.groups())) for m in PUBLISHED.finditer(source.read_text())}
    assert {"usage.charged", "balance.threshold_crossed", "sharing_group.cancelled",
            "sharing_member.removed"} <= published, "the scan misses a way events are published"
    known = {NAME.match(p.name)["type"] for p in SCHEMAS}
    assert published <= known, f"published without a schema: {published - known}"

import json

import pytest

from chassis.envelope import CONTENT_TYPE, CloudEvent, EnvelopeError, exchange_for, new_event


def test_a_new_event_carries_every_cloudevents_attribute():
    traceparent = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    event = new_event("customer.created", "customer", {"id": 1}, subject="1", traceparent=traceparent)
    raw = json.loads(event.to_json())
    assert raw["specversion"] == "1.0"
    assert raw["datacontenttype"] == "application/json"
    assert {"id", "source", "type", "time", "subject", "data", "traceparent"} <= raw.keys()
    assert raw["time"].endswith("+00:00")
    assert CONTENT_TYPE == "application/cloudevents+json"


def test_an_envelope_survives_a_round_trip():
    event = new_event("customer.created", "customer", {"id": 7})
    again = CloudEvent.from_json(event.to_json())
    assert again == event
    assert again.producer == "customer"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", json.dumps({"id": "1", "source": "s", "type": "t"}).encode(),
     json.dumps({"id": "1", "source": "s", "type": "t", "specversion": "0.3"}).encode(),
     json.dumps({"id": "1", "source": "s", "type": "t", "specversion": "1.0", "data": [1]}).encode()],
)
def test_malformed_envelopes_are_rejected(body):
    with pytest.raises(EnvelopeError):
        CloudEvent.from_json(body)


def test_each_producer_has_its_own_exchange():
    assert exchange_for("customer.created") == "customer.events"
    assert exchange_for("billing.invoice_issued") == "billing.events"


def test_rating_publishes_subscription_service_usage_and_balance_events_on_its_own_exchange():
    for event_type in ("subscription.created", "service.changed", "usage.charged", "balance.threshold_crossed"):
        assert exchange_for(event_type) == "rating.events"

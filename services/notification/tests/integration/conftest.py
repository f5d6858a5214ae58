"""Real local stand-ins for the notification tests: the SMTP sink and SMS gateway processes
(`python -m notification smtp-sink|sms-gateway`) and an in-process webhook receiver, on free ports."""
from __future__ import annotations

import json
import time
import types
import uuid

import pika
import pytest

from chassis.envelope import exchange_for, new_event
from chassis.testing import operator_client
from notification.standins.processes import SmsGatewayProcess, SmtpSinkProcess, worker_env
from notification.standins.webhook_receiver import WebhookReceiver

WEBHOOK_SECRET = "test-signing-secret-" + uuid.uuid4().hex


def wait_for(predicate, timeout=30.0, interval=0.1):
    """Poll until `predicate()` is truthy (the machine may be loaded: generous timeouts)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """The outside world the notification worker talks to."""
    folder = tmp_path_factory.mktemp("outside")
    mail, sms = SmtpSinkProcess(folder / "mail"), SmsGatewayProcess(folder)
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    yield types.SimpleNamespace(mail=mail, sms=sms, webhooks=receiver)
    receiver.close()
    sms.stop()
    mail.stop()


@pytest.fixture(scope="module")
def client(platform):
    """An operator's client on the gateway of the module's `platform`."""
    with operator_client(platform) as client:
        yield client


def notification_env(outside, **overrides):
    return worker_env(outside.mail, outside.sms, WEBHOOK_SECRET, **overrides)


class Publisher:
    """Publishes CloudEvents onto the producers' exchanges (decision 0010: balance.* on rating.events),
    as rating, billing and selfcare do."""

    def __init__(self, amqp_uri):
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()

    def publish(self, event_type, data, event=None):
        event = event or new_event(event_type, exchange_for(event_type).split(".")[0], data)
        self.channel.basic_publish(exchange_for(event_type), event_type, event.to_json(),
                                   pika.BasicProperties(content_type="application/cloudevents+json", delivery_mode=2))
        return event

    def close(self):
        self.connection.close()


@pytest.fixture(scope="module")
def publisher(amqp_uri):
    publisher = Publisher(amqp_uri)
    yield publisher
    publisher.close()


def threshold_event(customer_id, resource="MB", channels=("email", "sms", "webhook"), value="80", level="4000"):
    return {"customerId": customer_id, "balanceGroupId": f"bg-{customer_id}", "billingProfileId": f"bp-{customer_id}",
            "resource": resource, "creditProfile": "STANDARD", "threshold": {"kind": "percent", "value": value},
            "value": level, "balance": "-1000", "channels": list(channels), "cycleId": "2026-11",
            "crossedAt": "2026-11-29T08:00:00+00:00"}


def new_customer(client, **contact):
    body = {"firstName": "Ana", "lastName": "Novak", "email": f"{uuid.uuid4().hex[:10]}@example.com",
            "phone": f"+38640{uuid.uuid4().int % 10**6:06d}", "address": "Slovenska 1", "city": "Ljubljana",
            "state": "Osrednjeslovenska", "country": "SI", "customerType": "regular", **contact}
    created = client.post("/api/v1/customers", json=body)
    assert created.status_code == 201, created.text
    return {**created.json(), "phone": body["phone"]}


def listed(client, customer_id, **filters):
    response = client.get(f"/api/v1/customers/{customer_id}/notifications", params={"limit": 100, **filters})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="session")
def kit():
    return types.SimpleNamespace(wait_for=wait_for, notification_env=notification_env, threshold_event=threshold_event,
                                 new_customer=new_customer, listed=listed, secret=WEBHOOK_SECRET, json=json)

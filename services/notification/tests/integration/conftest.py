"""Real local stand-ins for the notification tests: the SMTP sink and SMS gateway processes
(`python -m notification smtp-sink|sms-gateway`) and an in-process webhook receiver, on free ports."""
from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

import httpx
import pika
import pytest

from chassis import localinfra
from chassis.envelope import new_event
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


class StandIn:
    def __init__(self, command, env, ready):
        self.process = subprocess.Popen([sys.executable, "-m", "notification", command], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if not wait_for(ready, timeout=30):
            self.stop()
            raise RuntimeError(f"{command} did not start: {self.process.stdout.read().decode()[-2000:]}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class MailSink:
    """`python -m notification smtp-sink` writing into a temporary folder."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, localinfra.free_port()
        env = {**os.environ, "NOTIFICATION_SMTP_SINK_PORT": str(self.port), "NOTIFICATION_SMTP_SINK_DIR": str(folder),
               "LOG_LEVEL": "WARNING"}
        self.stand_in = StandIn("smtp-sink", env, lambda: localinfra.port_open("127.0.0.1", self.port))

    def messages(self, to=None):
        found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                 for p in sorted(self.folder.glob("*.eml"))]
        return [m for m in found if to is None or m["To"] == to]


class SmsGatewayProcess:
    def __init__(self, folder: Path):
        self.port = localinfra.free_port()
        self.url = f"http://127.0.0.1:{self.port}/messages"
        env = {**os.environ, "NOTIFICATION_SMS_GATEWAY_PORT": str(self.port),
               "NOTIFICATION_SMS_GATEWAY_FILE": str(folder / "sms.jsonl"), "LOG_LEVEL": "WARNING"}
        self.stand_in = StandIn("sms-gateway", env, lambda: localinfra.port_open("127.0.0.1", self.port))

    def messages(self, to=None):
        found = httpx.get(self.url, timeout=10).json()
        return [m for m in found if to is None or m["to"] == to]


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """The outside world the notification worker talks to."""
    folder = tmp_path_factory.mktemp("outside")
    mail, sms = MailSink(folder / "mail"), SmsGatewayProcess(folder)
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    yield types.SimpleNamespace(mail=mail, sms=sms, webhooks=receiver)
    receiver.close()
    sms.stand_in.stop()
    mail.stand_in.stop()


def notification_env(outside, **overrides):
    return {"NOTIFICATION_SMTP_HOST": "127.0.0.1", "NOTIFICATION_SMTP_PORT": str(outside.mail.port),
            "NOTIFICATION_SMTP_STARTTLS": "false", "NOTIFICATION_SMS_URL": outside.sms.url,
            "NOTIFICATION_WEBHOOK_SECRET": WEBHOOK_SECRET, "NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS": "1",
            "NOTIFICATION_RETRY_BASE_SECONDS": "0.5", "NOTIFICATION_RETRY_MAX_ATTEMPTS": "3", **overrides}


class Publisher:
    """Publishes CloudEvents onto the producers' exchanges, as rating, billing and selfcare do."""

    def __init__(self, amqp_uri):
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()

    def publish(self, event_type, data, event=None):
        event = event or new_event(event_type, event_type.split(".")[0], data)
        self.channel.basic_publish(f"{event_type.split('.')[0]}.events", event_type, event.to_json(),
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

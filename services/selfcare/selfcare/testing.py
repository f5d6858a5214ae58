"""Helpers for tests that drive the portal with the rest of the platform (integration, end-to-end
and browser tests): a cookie-keeping portal client, the local payment provider process, voice
calls on the usage stream, and a real SMTP inbox. Nothing here is used by the services."""
from __future__ import annotations

import email
import email.policy
import http.cookies
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chassis import localinfra
from selfcare.demo import voice_calls


class PortalCookies:
    """Keeps the cookies the portal sets, Secure ones included, as a browser does for 127.0.0.1
    (httpx's own jar never sends a Secure cookie over plain HTTP)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def send(self, request: httpx.Request) -> None:
        if self.values:
            request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.values.items())

    def keep(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.values.pop(name, None)
                else:
                    self.values[name] = morsel.value


def portal_client(url: str) -> httpx.Client:
    """A browser-like client of the portal at `url`, from an address of its own (the API trusts
    X-Forwarded-For from 127.0.0.1, a local proxy), so per-address login limits do not spill over
    between tests. `client.portal_cookies.values` holds its cookies."""
    cookies = PortalCookies()
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=False, headers={"X-Forwarded-For": address},
                          event_hooks={"request": [cookies.send], "response": [cookies.keep]})
    client.portal_cookies = cookies  # type: ignore[attr-defined]
    return client


@contextmanager
def payment_provider(log_dir: Any) -> Iterator[str]:
    """`python -m billing payment-provider` on a free port; yields its URL (tok_visa is approved)."""
    port = localinfra.free_port()
    with open(log_dir / "payment-provider.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "billing", "payment-provider"], stdout=log,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, "BILLING_PAYMENT_PROVIDER_PORT": str(port)})
    try:
        localinfra.wait_http([f"http://127.0.0.1:{port}/health/live"], timeout=240, alive=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


def publish_calls(amqp_uri: str, identifier: str, minutes: list[int]) -> None:
    """Voice calls of `identifier` over the last hour on the usage stream (the `rating.usage`
    exchange), as a network element sends them."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    time.sleep(1.5)  # the calls start after the service's validity began (at the onboarding)
    for event in voice_calls(identifier, minutes, datetime.now(UTC) - timedelta(seconds=1)):
        channel.basic_publish("rating.usage", "voice", json.dumps(event).encode(),
                              pika.BasicProperties(delivery_mode=2, message_id=event["id"],
                                                   content_type="application/json"))
    connection.close()


def onboarding(email_address: str, identifier: str) -> dict[str, Any]:
    """An onboarding request for the demo catalog's plan MOBILE-S (postpaid, invoice)."""
    return {"account": {"firstName": "Eva", "lastName": "Zupan", "email": email_address, "phone": "+386 40 222 333",
                        "address": "Prešernova 5", "city": "Maribor", "state": "Podravska", "country": "SI",
                        "customerType": "regular"},
            "paymentInfo": {"method": "invoice"},
            "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1,
                             "serviceIdentifier": identifier,
                             # the SIM activation is a one-time fee, so "bill now" has something to bill
                             "plan": {"code": "MOBILE-S", "products": [{"code": "SIM-ACTIVATION", "purchase": True}]}}}


PASSWORD = "violet-harbour-93-kite"


def onboard_with_portal_user(operator: httpx.Client, email_address: str, identifier: str) -> int:
    """Onboard a customer through the operators' API and create its portal user (password PASSWORD);
    returns the customer id."""
    onboarded = operator.post("/api/v1/onboardings", json=onboarding(email_address, identifier))
    assert onboarded.status_code == 201, onboarded.text
    customer_id = int(onboarded.json()["customer"]["id"])
    created = operator.post(f"/api/v1/customers/{customer_id}/portalUser", json={
        "firstName": "Eva", "lastName": "Zupan", "email": email_address, "password": PASSWORD,
        "passwordConfirmation": PASSWORD})
    assert created.status_code == 201, created.text
    return customer_id


def new_identifier() -> str:
    return f"3864{uuid.uuid4().int % 10**7:07d}"


def wait_until(fetch: Any, predicate: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


class Inbox:
    """A real SMTP server on a free port (aiosmtpd) keeping what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        inbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                inbox.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.port = localinfra.free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait_for(self, to: str, timeout: float = 120) -> Any:
        found = wait_until(lambda: [m for m in self.messages if m["To"] and to in m["To"]], bool, timeout)
        assert found, f"no email to {to}"
        return found[-1]

    def stop(self) -> None:
        self.controller.stop()

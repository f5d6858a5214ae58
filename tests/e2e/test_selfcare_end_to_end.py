"""The self-care portal end to end, every part real: an operator onboards a customer and creates
its portal user; the verification email arrives on a local SMTP server (aiosmtpd); the customer
follows the link, logs in, sees the balances and usage that a rated usage stream produced,
downloads the invoice PDF, pays it through the local payment provider, and the invoice is closed."""
from __future__ import annotations

import email
import email.policy
import http.cookies
import json
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pika
import pytest

from chassis import localinfra
from chassis.testing import operator_client

PASSWORD = "violet-harbour-93-kite"


class Inbox:
    """A real SMTP server on a free port (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
                inbox.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.port = localinfra.free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait_for(self, to: str, timeout: float = 120) -> email.message.EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m["To"] and to in m["To"]]
            if found:
                return found[-1]
            time.sleep(0.2)
        raise AssertionError(f"no email to {to}")

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="module")
def inbox():
    started = Inbox()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    port = localinfra.free_port()
    log = open(tmp_path_factory.mktemp("provider") / "provider.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "billing", "payment-provider"], stdout=log,
                               stderr=subprocess.STDOUT, env={**__import__("os").environ,
                                                              "BILLING_PAYMENT_PROVIDER_PORT": str(port)})
    localinfra.wait_http([f"http://127.0.0.1:{port}/health/live"], timeout=240, alive=process)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(15)


@pytest.fixture(scope="module")
def platform(start_services, inbox, provider):
    env = {"NOTIFICATION_SMTP_HOST": "127.0.0.1", "NOTIFICATION_SMTP_PORT": str(inbox.port),
           "NOTIFICATION_SMTP_STARTTLS": "false", "BILLING_PAYMENT_PROVIDER_URL": provider}
    platform = start_services("catalog", "customer", "rating", "rating:stream", "billing", "notification",
                              "selfcare", "selfcare:api", "gateway:api", env=env)
    platform.run_job("catalog", "load-demo")
    return platform


def wait_until(fetch, predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def publish_calls(amqp_uri: str, identifier: str, minutes: list[int]) -> None:
    """Voice calls on the usage stream, as a network element sends them."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    start = datetime.now(UTC) - timedelta(hours=1)
    for n, quantity in enumerate(minutes):
        begin = start + timedelta(minutes=10 * n)
        event = {"id": f"call-{identifier}-{n}", "serviceType": "voice", "serviceIdentifier": identifier,
                 "startTime": begin.isoformat(), "quantity": str(quantity),
                 "fields": {"endTime": (begin + timedelta(minutes=quantity)).isoformat(), "from": identifier,
                            "to": "38641000111", "destination": "national", "timeBand": "peak"}}
        channel.basic_publish("rating.usage", "voice", json.dumps(event).encode(),
                              pika.BasicProperties(delivery_mode=2, message_id=event["id"],
                                                   content_type="application/json"))
    connection.close()


class Browser:
    """The customer's browser: keeps the portal's cookies (Secure included, as browsers do on 127.0.0.1)."""

    def __init__(self, url: str):
        self.cookies: dict[str, str] = {}
        self.client = httpx.Client(base_url=url, timeout=60, event_hooks={
            "request": [self._send], "response": [self._keep]})

    def _send(self, request):
        if self.cookies:
            request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _keep(self, response):
        for header in response.headers.get_list("set-cookie"):
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})

    def form(self, path: str, **fields) -> httpx.Response:
        """GET the page, then submit its form with its CSRF token."""
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
        return self.client.post(action.replace("&amp;", "&"), data={**hidden, "csrf_token": token, **fields})


def test_a_customer_goes_from_the_operators_invitation_to_a_paid_invoice(platform, inbox):
    identifier = f"3864{uuid.uuid4().int % 10**7:07d}"
    address = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    with operator_client(platform) as operator:
        onboarded = operator.post("/api/v1/onboardings", json={
            "account": {"firstName": "Eva", "lastName": "Zupan", "email": address, "phone": "+386 40 222 333",
                        "address": "Prešernova 5", "city": "Maribor", "state": "Podravska", "country": "SI",
                        "customerType": "regular"},
            "paymentInfo": {"method": "invoice"},
            "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1,
                             "serviceIdentifier": identifier, "plan": {"code": "MOBILE-S"}}})
        assert onboarded.status_code == 201, onboarded.text
        customer_id = onboarded.json()["customerId"]
        created = operator.post(f"/api/v1/customers/{customer_id}/portalUser", json={
            "firstName": "Eva", "lastName": "Zupan", "email": address, "password": PASSWORD,
            "passwordConfirmation": PASSWORD})
        assert created.status_code == 201, created.text
        assert operator.post(f"/api/v1/customers/{customer_id}/portalUser/verificationEmail").status_code == 202

        # The verification email, through notification and SMTP.
        message = inbox.wait_for(address)
        link = re.search(r"https?://\S+/verify-email\?token=[\w-]+", message.get_body(("plain", "html")).get_content())
        assert link, message.get_body(("plain", "html")).get_content()
        token = link.group(0).split("token=")[1]
        portal = Browser(platform["selfcare:api"].url)
        verified = portal.form(f"/verify-email?token={token}")
        assert verified.status_code == 200 and "verified" in verified.text

        # Usage on the stream, rated against the plan's free minutes.
        publish_calls(platform.env["AMQP_URI"], identifier, [3, 5])
        logged = portal.form("/login", email=address, password=PASSWORD)
        assert logged.status_code == 303 and logged.headers["location"] == "/balances"
        api = {"X-CSRF-Token": portal.client.get("/api/v1/session").json()["csrfToken"]}
        usage = wait_until(lambda: portal.client.get("/api/v1/usage").json(), lambda u: u.get("total") == 2)
        assert usage["total"] == 2 and {e["status"] for e in usage["items"]} == {"rated"}
        assert "From" in [c["title"] for c in usage["columns"]]
        assert "text/csv" in portal.client.get("/usage.csv").headers["content-type"]
        balances = portal.client.get("/api/v1/balances").json()
        minutes = [t for g in balances["balanceGroups"] for t in g["totals"] if t["resource"] == "MIN"]
        assert minutes and minutes[0]["amount"].startswith("92"), balances  # 100 free minutes less 8
        assert portal.client.get("/balances").status_code == 200

        # The operator bills the customer now; the invoice shows in the portal.
        profile_id = operator.get(f"/api/v1/customers/{customer_id}/billing-profiles").json()[0]["id"]
        billed = operator.post(f"/api/v1/billing-profiles/{profile_id}/bill-now")
        assert billed.status_code == 201, billed.text
        invoice_id = billed.json()["invoice"]["id"]

    invoices = portal.client.get("/api/v1/invoices").json()
    assert [i["id"] for i in invoices["items"]] == [invoice_id]
    assert invoices["items"][0]["status"] == "billing"
    pdf = portal.client.get(f"/api/v1/invoices/{invoice_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    paid = portal.client.post(f"/api/v1/invoices/{invoice_id}/payments", json={"paymentToken": "tok_visa"},
                              headers={**api, "Idempotency-Key": f"e2e-{uuid.uuid4().hex}"})
    assert paid.status_code == 200 and paid.json()["status"] == "approved", paid.text
    closed = wait_until(lambda: portal.client.get(f"/api/v1/invoices/{invoice_id}").json(),
                        lambda i: i["status"] == "closed")
    assert closed["status"] == "closed" and closed["dueAmount"] in ("0", "0.00")

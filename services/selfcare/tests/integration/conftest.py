"""The selfcare tests' platform: real customer, catalog, selfcare and gateway processes,
a portal client that keeps the portal's Secure cookies on plain-HTTP 127.0.0.1, and the
account emails read back from the broker (what notification would send)."""
from __future__ import annotations

import http.cookies
import json
import re
import time
import types
import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import pika
import pytest

from chassis.testing import operator_client

PASSWORD = "violet-harbour-93-kite"
ACCOUNT = {"firstName": "Ana", "lastName": "Novak", "email": "ana@example.com", "phone": "+386 40 111 222",
           "address": "Slovenska 1", "city": "Ljubljana", "state": "Osrednjeslovenska", "country": "SI",
           "customerType": "regular"}


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("catalog", "customer", "selfcare", "selfcare:api", "gateway:api")
    platform.run_job("catalog", "load-demo")
    return platform


@pytest.fixture(scope="module")
def operator(platform):
    with operator_client(platform) as client:
        yield client


class Mailbox:
    """`selfcare.email_requested` events, read from a queue bound to selfcare.events."""

    def __init__(self, amqp_uri: str):
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare("selfcare.events", exchange_type="topic", durable=True)
        self.queue = f"test-mail-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(self.queue, auto_delete=True)
        self.channel.queue_bind(self.queue, "selfcare.events", routing_key="selfcare.email_requested")
        self.seen: list[dict] = []

    def email(self, customer_id: int, kind: str, timeout: float = 30) -> dict:
        """The newest email of this kind for the customer (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, _, body = self.channel.basic_get(self.queue, auto_ack=True)
            if body is not None:
                self.seen.append(json.loads(body)["data"])
                continue
            found = [e for e in self.seen if e["customerId"] == customer_id and e["kind"] == kind]
            if found:
                self.seen = [e for e in self.seen if e not in found]
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no {kind} email for customer {customer_id}")

    def token(self, customer_id: int, kind: str) -> str:
        return parse_qs(urlparse(self.email(customer_id, kind)["link"]).query)["token"][0]

    def close(self) -> None:
        self.connection.close()


@pytest.fixture(scope="module")
def mailbox(platform):
    box = Mailbox(platform.env["AMQP_URI"])
    yield box
    box.close()


class BrowserCookies:
    """Keeps the cookies the portal sets, Secure ones included, as a browser does for 127.0.0.1
    (httpx's own jar never sends a Secure cookie over plain HTTP)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def send(self, request: httpx.Request) -> None:
        if self.values:
            request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.values.items())

    def keep(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.values.pop(name, None)
                else:
                    self.values[name] = morsel.value


def portal_client(platform) -> httpx.Client:
    """A browser-like client of the portal: keeps its cookies; `log_in` adds the CSRF header."""
    cookies = BrowserCookies()
    # Each client comes from its own address (the API trusts X-Forwarded-For from 127.0.0.1, a local
    # proxy), so the per-address login limit of one test does not spill into the next.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    client = httpx.Client(base_url=platform["selfcare:api"].url, timeout=30, follow_redirects=False,
                          headers={"X-Forwarded-For": address},
                          event_hooks={"request": [cookies.send], "response": [cookies.keep]})
    client.portal_cookies = cookies
    return client


def log_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    response = client.post("/api/v1/session", json={"email": email, "password": password})
    if response.status_code == 200:
        client.headers["X-CSRF-Token"] = response.json()["csrfToken"]
    return response


def new_customer(operator) -> int:
    response = operator.post("/api/v1/customers", json={**ACCOUNT, "email": f"{uuid.uuid4().hex[:10]}@example.com"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def new_user_body(**changes) -> dict:
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    return {"firstName": "Ana", "lastName": "Novak", "email": email, "password": PASSWORD,
            "passwordConfirmation": PASSWORD, **changes}


def create_user(operator, **changes) -> tuple[int, dict]:
    customer_id = new_customer(operator)
    response = operator.post(f"/api/v1/customers/{customer_id}/portalUser", json=new_user_body(**changes))
    assert response.status_code == 201, response.text
    return customer_id, response.json()


def problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def fields(response: httpx.Response) -> dict[str, str]:
    return {p["name"]: p["reason"] for p in response.json().get("invalid_params", [])}


def session_count(platform, customer_id: int) -> int:
    return platform.database("selfcare").portal_sessions.count_documents({"customer_id": customer_id})


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


@pytest.fixture(scope="session")
def kit():
    return types.SimpleNamespace(
        PASSWORD=PASSWORD, portal_client=portal_client, log_in=log_in, new_customer=new_customer,
        new_user_body=new_user_body, create_user=create_user, problem=problem, fields=fields,
        session_count=session_count, hidden=hidden)


@pytest.fixture
def verified(platform, operator, mailbox):
    """`verified()` -> (customer id, email) of a new portal user that verified its email and can log in."""

    def make(**changes) -> tuple[int, str]:
        customer_id, user = create_user(operator, **changes)
        assert operator.post(f"/api/v1/customers/{customer_id}/portalUser/verificationEmail").status_code == 202
        token = mailbox.token(customer_id, "verification")
        with portal_client(platform) as client:
            assert client.post("/api/v1/email-verifications", json={"token": token}).status_code == 200
        return customer_id, user["email"]

    return make

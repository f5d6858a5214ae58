"""`python -m selfcare load-demo`: a demo customer with a portal login, for `make up`.

It goes through the platform like an operator and the network would: onboarding with the demo
catalog's plan (operators' API), the portal user (operators' API), a few calls rated by rating
(`rating.rate_usage`, the stream's batch rating), and an invoice (bill now, operators' API). It marks
the email verified itself (no one reads the demo mailbox). Run it once the platform is up; it does
nothing when the demo user exists.
"""
from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chassis.clock import utc_now
from chassis.nameko_adapter import RpcClient
from chassis.settings import Settings
from selfcare.adapters.documents import PortalUser

DEMO_EMAIL = "demo.customer@example.com"
DEMO_PASSWORD = "harbour-lights-portal-2026"
DEMO_IDENTIFIER = "38640123456"
ONBOARDING = {
    "account": {"firstName": "Dana", "lastName": "Demo", "email": DEMO_EMAIL, "phone": "+386 40 123 456",
                "address": "Slovenska cesta 1", "city": "Ljubljana", "state": "Osrednjeslovenska", "country": "SI",
                "customerType": "regular"},
    "paymentInfo": {"method": "invoice"},
    "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1,
                     "serviceIdentifier": DEMO_IDENTIFIER,
                     # the SIM activation is a one-time fee, so the demo's bill has something due to pay
                     "plan": {"code": "MOBILE-S", "products": [{"code": "SIM-ACTIVATION", "purchase": True}]}}}


def voice_calls(identifier: str, minutes: list[int], start: datetime) -> list[dict[str, Any]]:
    """Usage events (contracts/events/usage.event.v1.json) of national calls, a second apart. `start` must
    not be before the service's validity (it starts when the customer is onboarded)."""
    calls = []
    for n, quantity in enumerate(minutes):
        begin = start + timedelta(seconds=n)
        calls.append({"id": f"call-{identifier}-{int(start.timestamp())}-{n}", "serviceType": "voice",
                      "serviceIdentifier": identifier, "startTime": begin.isoformat(), "quantity": str(quantity),
                      "fields": {"endTime": (begin + timedelta(minutes=quantity)).isoformat(), "from": identifier,
                                 "to": "38641000111", "destination": "national", "timeBand": "peak"}})
    return calls


def operator_api() -> httpx.Client:
    url = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080")
    credentials = {"username": os.environ.get("GATEWAY_ADMIN_USERNAME") or "admin",
                   "password": os.environ.get("GATEWAY_ADMIN_PASSWORD") or "admin-dev-password"}
    token = _checked(httpx.post(f"{url}/api/v1/auth/token", json=credentials, timeout=60))
    return httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token['accessToken']}"})


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"selfcare load-demo: {response.request.method} {response.request.url.path} answered "
                         f"{response.status_code}: {response.text}")
    return response.json()


def load_demo(settings: Settings) -> None:
    existing = PortalUser.objects(email=DEMO_EMAIL).first()
    if existing is None:
        customer_id = _create(settings)
    else:
        customer_id = existing.customer_id
    print(f"selfcare demo: customer {customer_id}, portal login {DEMO_EMAIL} / {DEMO_PASSWORD}")


def _create(settings: Settings) -> int:
    with operator_api() as api:
        onboarded = _checked(api.post("/api/v1/onboardings", json=ONBOARDING,
                                      headers={"Idempotency-Key": "selfcare-demo-customer"}))
        customer_id = int(onboarded["customer"]["id"])
        _checked(api.post(f"/api/v1/customers/{customer_id}/portalUser", json={
            "firstName": "Dana", "lastName": "Demo", "email": DEMO_EMAIL, "password": DEMO_PASSWORD,
            "passwordConfirmation": DEMO_PASSWORD}))
        PortalUser.objects(customer_id=customer_id).update_one(set__verified=True, set__updated_at=utc_now())
        rpc = RpcClient(settings.amqp_uri, timeout=60)
        try:
            time.sleep(1.5)  # the calls start after the service's validity began (at the onboarding)
            rpc.call("rating", "rate_usage", voice_calls(DEMO_IDENTIFIER, [4, 12, 7],
                                                         datetime.now(UTC) - timedelta(seconds=1)))
        finally:
            rpc.close()
        profile_id = _checked(api.get(f"/api/v1/customers/{customer_id}/billing-profiles"))[0]["id"]
        _checked(api.post(f"/api/v1/billing-profiles/{profile_id}/bill-now"))
    return customer_id

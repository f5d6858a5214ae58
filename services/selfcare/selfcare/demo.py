"""`python -m selfcare load-demo`: a demo customer with a portal login, for `make up`.

It goes through the operators' API like a person would (onboarding with the demo
catalog's plan, then the portal user), and marks the email verified itself (no one
reads the demo mailbox). Run it once the platform is up; it does nothing when the
demo user exists.
"""
from __future__ import annotations

import os
from typing import Any

import httpx

from chassis.clock import utc_now
from chassis.settings import Settings
from selfcare.adapters.documents import PortalUser

DEMO_EMAIL = "demo.customer@example.com"
DEMO_PASSWORD = "demo-portal-pass-2026"
ONBOARDING = {
    "account": {"firstName": "Dana", "lastName": "Demo", "email": DEMO_EMAIL, "phone": "+386 40 123 456",
                "address": "Slovenska cesta 1", "city": "Ljubljana", "state": "Osrednjeslovenska", "country": "SI",
                "customerType": "regular"},
    "paymentInfo": {"method": "invoice"},
    "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1,
                     "serviceIdentifier": "38640123456", "plan": {"code": "MOBILE-S"}},
}


def operator_api(settings: Settings) -> httpx.Client:
    url = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080")
    credentials = {"username": os.environ.get("GATEWAY_ADMIN_USERNAME") or "admin",
                   "password": os.environ.get("GATEWAY_ADMIN_PASSWORD") or "admin-dev-password"}
    token = httpx.post(f"{url}/api/v1/auth/token", json=credentials, timeout=30)
    token.raise_for_status()
    return httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token.json()['accessToken']}"})


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"selfcare load-demo: {response.request.method} {response.request.url.path} answered "
                         f"{response.status_code}: {response.text}")
    return response.json()


def load_demo(settings: Settings) -> None:
    existing = PortalUser.objects(email=DEMO_EMAIL).first()
    if existing is None:
        with operator_api(settings) as api:
            onboarded = _checked(api.post("/api/v1/onboardings", json=ONBOARDING,
                                          headers={"Idempotency-Key": "selfcare-demo-customer"}))
            customer_id = onboarded["customerId"]
            _checked(api.post(f"/api/v1/customers/{customer_id}/portalUser", json={
                "firstName": "Dana", "lastName": "Demo", "email": DEMO_EMAIL, "password": DEMO_PASSWORD,
                "passwordConfirmation": DEMO_PASSWORD}))
        PortalUser.objects(customer_id=customer_id).update_one(set__verified=True, set__updated_at=utc_now())
    else:
        customer_id = existing.customer_id
    print(f"selfcare demo: customer {customer_id}, portal login {DEMO_EMAIL} / {DEMO_PASSWORD}")

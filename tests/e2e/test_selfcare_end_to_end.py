"""The self-care portal end to end, every part real: an operator onboards a customer and creates
its portal user; the verification email arrives on a local SMTP server (aiosmtpd); the customer
follows the link, logs in, sees the balances and usage that a rated usage stream produced,
downloads the invoice PDF, pays it through the local payment provider, and the invoice is closed."""
from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest

from chassis.testing import operator_client
from selfcare.testing import (
    PASSWORD,
    Inbox,
    new_identifier,
    onboard_with_portal_user,
    payment_provider,
    portal_client,
    publish_calls,
    wait_until,
)

# The first test also waits for the module's processes to start: minutes on a busy machine.
pytestmark = [pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def inbox():
    started = Inbox()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with payment_provider(tmp_path_factory.mktemp("provider")) as url:
        yield url


@pytest.fixture(scope="module")
def platform(start_services, inbox, provider):
    env = {"NOTIFICATION_SMTP_HOST": "127.0.0.1", "NOTIFICATION_SMTP_PORT": str(inbox.port),
           "NOTIFICATION_SMTP_STARTTLS": "false", "BILLING_PAYMENT_PROVIDER_URL": provider}
    platform = start_services("catalog", "customer", "rating", "rating:stream", "billing", "notification",
                              "selfcare", "selfcare:api", "gateway:api", env=env)
    platform.run_job("catalog", "load-demo")
    return platform


def submit(portal, path: str, **fields):
    """GET a page, then submit its form (hidden fields and CSRF token included), as a person would."""
    page = portal.get(path)
    assert page.status_code == 200, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    return portal.post(action.replace("&amp;", "&"), data={**hidden, **fields})


def test_a_customer_goes_from_the_operators_invitation_to_a_paid_invoice(platform, inbox):
    identifier = new_identifier()
    address = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    with operator_client(platform) as operator:
        customer_id = onboard_with_portal_user(operator, address, identifier)
        assert operator.post(f"/api/v1/customers/{customer_id}/portalUser/verificationEmail").status_code == 202

        # The verification email, through notification and SMTP.
        message = inbox.wait_for(address)
        link = re.search(r"https?://\S+/verify-email\?token=[\w-]+", message.get_body(("plain", "html")).get_content())
        assert link, message.get_body(("plain", "html")).get_content()
        token = link.group(0).split("token=")[1]
        portal = portal_client(platform["selfcare:api"].url)
        verified = submit(portal, f"/verify-email?token={token}")
        assert verified.status_code == 200 and "verified" in verified.text

        # Usage on the stream, rated against the plan's free minutes.
        publish_calls(platform.env["AMQP_URI"], identifier, [3, 5])
        logged = submit(portal, "/login", email=address, password=PASSWORD)
        assert logged.status_code == 303 and logged.headers["location"] == "/balances"
        api = {"X-CSRF-Token": portal.get("/api/v1/session").json()["csrfToken"]}
        usage = wait_until(lambda: portal.get("/api/v1/usage").json(), lambda u: u.get("total") == 2)
        assert usage["total"] == 2 and {e["status"] for e in usage["items"]} == {"rated"}
        assert "From" in [c["title"] for c in usage["columns"]]
        assert "text/csv" in portal.get("/usage.csv").headers["content-type"]
        balances = portal.get("/api/v1/balances").json()
        minutes = [t for g in balances["balanceGroups"] for t in g["totals"] if t["resource"] == "MIN"]
        # Credit is negative (the seed's sign): 100 free minutes less 8.
        assert minutes and Decimal(minutes[0]["amount"]) == Decimal("-92"), balances
        assert portal.get("/balances").status_code == 200

        # The operator bills the customer now; the invoice shows in the portal.
        profile_id = operator.get(f"/api/v1/customers/{customer_id}/billing-profiles").json()[0]["id"]
        billed = operator.post(f"/api/v1/billing-profiles/{profile_id}/bill-now")
        assert billed.status_code == 201, billed.text
        invoice_id = billed.json()["invoice"]["id"]

    invoices = portal.get("/api/v1/invoices").json()
    assert [i["id"] for i in invoices["items"]] == [invoice_id]
    assert invoices["items"][0]["status"] == "billing"
    pdf = portal.get(f"/api/v1/invoices/{invoice_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    paid = portal.post(f"/api/v1/invoices/{invoice_id}/payments", json={"paymentToken": "tok_visa"},
                              headers={**api, "Idempotency-Key": f"e2e-{uuid.uuid4().hex}"})
    assert paid.status_code == 200 and paid.json()["status"] == "approved", paid.text
    closed = wait_until(lambda: portal.get(f"/api/v1/invoices/{invoice_id}").json(),
                        lambda i: i["status"] == "closed")
    assert closed["status"] == "closed" and closed["dueAmount"] in ("0", "0.00")

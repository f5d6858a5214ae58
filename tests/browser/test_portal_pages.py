"""The self-care portal in a real browser: Playwright drives Debian's chromium through the
pages a customer uses. Each page is screenshotted into tests/browser/artifacts/ (kept as a
test artifact, not committed) and must log no console error."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from chassis.testing import operator_client
from selfcare.testing import (
    PASSWORD,
    new_identifier,
    onboard_with_portal_user,
    payment_provider,
    portal_client,
    publish_calls,
    wait_until,
)

ARTIFACTS = Path(__file__).parent / "artifacts"

# The first test also waits for the module's processes to start: minutes on a busy machine.
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with payment_provider(tmp_path_factory.mktemp("provider")) as url:
        yield url


@pytest.fixture(scope="module")
def platform(start_services, provider):
    platform = start_services("catalog", "customer", "rating", "rating:stream", "billing", "selfcare",
                              "selfcare:api", "gateway:api", env={"BILLING_PAYMENT_PROVIDER_URL": provider})
    platform.run_job("catalog", "load-demo")
    return platform


@pytest.fixture(scope="module")
def operator(platform):
    with operator_client(platform) as client:
        yield client


@pytest.fixture
def page(browser, platform):
    """A fresh browser context on the portal that records every console error and page error."""
    context = browser.new_context(base_url=platform["selfcare:api"].url)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portal-{name}.png"), full_page=True)
    assert page.errors == [], f"console errors on {name}: {page.errors}"


@pytest.fixture(scope="module")
def customer(platform, operator):
    """An onboarded customer (MOBILE-S) with a verified portal user, two rated calls and an open invoice."""
    email, identifier = f"portal-{uuid.uuid4().hex[:8]}@example.com", new_identifier()
    customer_id = onboard_with_portal_user(operator, email, identifier)
    # The emailed link is followed in the end-to-end test; here the service's own database says verified.
    platform.database("selfcare").portal_users.update_one({"_id": customer_id}, {"$set": {"verified": True}})
    publish_calls(platform.env["AMQP_URI"], identifier, [3, 5])
    with portal_client(platform["selfcare:api"].url) as api:
        assert api.post("/api/v1/session", json={"email": email, "password": PASSWORD}).status_code == 200
        assert wait_until(lambda: api.get("/api/v1/usage").json().get("total"), lambda total: total == 2) == 2
    profile_id = operator.get(f"/api/v1/customers/{customer_id}/billing-profiles").json()[0]["id"]
    billed = operator.post(f"/api/v1/billing-profiles/{profile_id}/bill-now")
    assert billed.status_code == 201, billed.text
    return {"id": customer_id, "email": email, "invoice": billed.json()["invoice"]}


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login")


def test_the_login_page_refuses_a_wrong_password_then_logs_in(page, customer):
    page.goto("/login")
    screenshot(page, "login")
    log_in(page, customer["email"], "not-the-password")
    assert "Invalid email or password" in page.inner_text("[role=alert]")
    log_in(page, customer["email"])
    page.wait_for_url(re.compile(r"/balances$"))
    assert f"customer {customer['id']}" in page.inner_text("header")


def test_the_balances_page_shows_totals_per_resource(page, customer):
    log_in(page, customer["email"])
    page.wait_for_url(re.compile(r"/balances$"))
    totals = page.inner_text("table.totals")
    assert "MIN" in totals and "-92" in totals  # credit is negative: 100 free minutes less calls of 3 and 5
    screenshot(page, "balances")


def test_the_consumption_page_shows_the_calls_with_the_voice_fields_as_columns(page, customer):
    log_in(page, customer["email"])
    page.goto("/usage")
    headings = page.locator("#usage thead th").all_inner_texts()
    assert {"From", "To", "End time", "Amount"} <= set(headings)
    assert page.locator("#usage tbody tr").count() == 2
    screenshot(page, "usage")
    with page.expect_download() as download:
        page.click("#csv")
    assert Path(download.value.path()).read_text().splitlines()[0].startswith("Event ID")


def test_the_invoices_page_lists_the_invoice_with_status_amounts_and_due_date(page, customer):
    log_in(page, customer["email"])
    page.goto("/invoices")
    row = page.inner_text("#invoices tbody")
    invoice = customer["invoice"]
    assert invoice["number"] in row and "billing" in row and invoice["dueDate"][:10] in row
    screenshot(page, "invoices")
    with page.expect_download() as download:
        page.click(f"a[href='/invoices/{invoice['id']}/pdf']")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


def test_the_pay_page_pays_the_invoice_and_it_is_closed(page, customer):
    invoice = customer["invoice"]
    log_in(page, customer["email"])
    page.goto(f"/invoices/{invoice['id']}")
    screenshot(page, "pay")
    page.fill("#payment_token", "tok_visa")
    page.click("#pay")
    assert "approved" in page.inner_text("#payment")
    screenshot(page, "paid")
    page.goto(f"/invoices/{invoice['id']}")
    assert page.inner_text("#status") == "closed"


def test_the_profile_page_shows_the_contact_details_and_logging_out_ends_the_session(page, customer):
    log_in(page, customer["email"])
    page.goto("/profile")
    assert "Maribor" in page.inner_text("main")
    screenshot(page, "profile")
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/profile")
    page.wait_for_url(re.compile(r"/login\?next=%2Fprofile$"))


def test_the_portal_cookie_is_secure_httponly_and_strict_in_the_browser(page, customer):
    log_in(page, customer["email"])
    page.wait_for_url(re.compile(r"/balances$"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "selfcare_session")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert httpx.get(f"{page.url}", follow_redirects=False).status_code == 303  # no cookie, no page

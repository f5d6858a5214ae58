"""The operator console in a real browser against real running services (gateway API and console,
customer, catalog, rating and billing workers, MongoDB, RabbitMQ)."""
from __future__ import annotations

import re
import uuid

import pytest

from gateway.testing import VIEWER_PASSWORD, console_platform, console_url
from gateway.testing import console_log_in as log_in

# Starting six processes and onboarding through a saga take minutes on a loaded machine.
pytestmark = pytest.mark.timeout(900)
IBAN, BIC = "DE89370400440532013000", "COBADEFFXXX"


@pytest.fixture(scope="module")
def platform(start_services):
    return console_platform(start_services, "customer", "catalog", "rating", "billing", "gateway", "gateway:api")


@pytest.fixture(scope="module")
def console(platform):
    return console_url(platform)


@pytest.fixture(scope="module")
def onboarded():
    """What the onboarding test created, for the tests after it."""
    return {}


def starts(label):
    """A label by its beginning (required fields end with a mark; "Email" is not "Card holder email")."""
    return re.compile(rf"^{re.escape(label)}\b")


def fill_account(page, last_name):
    page.get_by_label(starts("First name")).fill("Mira")
    page.get_by_label(starts("Last name")).fill(last_name)
    page.get_by_label(starts("Email")).fill(f"{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label(starts("Phone")).fill("+386 40 123 456")
    page.locator("#account-info").get_by_label("Address").fill("Trubarjeva 7")
    page.locator("#account-info").get_by_label("City").fill("Maribor")
    page.locator("#account-info").get_by_label("State").fill("Podravska")
    page.locator("#account-info").get_by_label("Country (ISO code)").fill("SI")


def test_an_operator_logs_in_and_sees_the_customers_list(watched_page, console, platform, browser_kit):
    page = watched_page
    page.goto(f"{console}/customers")
    browser_kit.screenshot(page, "login")
    log_in(page, console, platform)
    assert page.get_by_role("heading", name="Customers").is_visible()
    assert page.get_by_role("button", name="Create new").is_visible()
    assert page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Catalog").is_visible()
    browser_kit.screenshot(page, "customers-list")
    browser_kit.assert_accessible(page)


def test_an_operator_onboards_a_direct_debit_customer_through_the_wizard(
        watched_page, console, platform, browser_kit, onboarded):
    page = watched_page
    log_in(page, console, platform)
    page.get_by_role("button", name="Create new").click()
    page.wait_for_url(re.compile(r".*/console/customers/new$"))
    last_name = f"Kovac{uuid.uuid4().hex[:6]}"
    fill_account(page, last_name)
    page.get_by_label("segment").select_option("smb")

    card_holder = page.locator("[name=\"paymentInfo.creditCard.holderName\"]")
    page.get_by_label("Payment method").select_option("directDebit")
    assert page.get_by_label("IBAN").is_visible() and not card_holder.is_visible()
    mandate = f"M-{uuid.uuid4().hex[:10]}"
    page.get_by_label("Mandate ID").fill(mandate)
    page.get_by_label("Signed on").fill("2026-01-15")
    page.get_by_label("IBAN").fill(IBAN)
    page.get_by_label("BIC").fill(BIC)

    page.get_by_label("Billing day").fill("15")
    page.get_by_label("Service identifier (global)").fill(f"386{uuid.uuid4().int % 10**9:09d}")
    page.get_by_label("Quantity of SIM activation (SIM-ACTIVATION)").fill("2")
    page.get_by_label("Purchase SIM activation (SIM-ACTIVATION)").check()
    assert page.locator("#bundle-MOBILE-BASIC").get_by_text("Voice minutes").is_visible()
    browser_kit.assert_accessible(page)
    browser_kit.screenshot(page, "onboarding")

    page.get_by_role("button", name="Review").click()
    summary = page.locator("#summary")
    summary.get_by_text(f"Mira {last_name}").wait_for()
    assert "Direct debit" in summary.inner_text() and IBAN in summary.inner_text()
    browser_kit.screenshot(page, "onboarding-summary")

    page.get_by_role("button", name="Submit").click(no_wait_after=True)  # the saga may take a while on a busy machine
    page.wait_for_url(re.compile(r".*/console/customers/\d+\?onboarded="), timeout=180000)
    assert page.get_by_role("heading", name=re.compile(f"Mira {last_name}")).is_visible()
    payment = page.locator("#payment")
    assert "Direct debit" in payment.inner_text() and mandate in payment.inner_text()
    onboarded.update(id=int(re.search(r"/customers/(\d+)", page.url).group(1)), last_name=last_name)


def test_a_field_error_from_the_api_appears_next_to_its_field(watched_page, console, platform):
    page = watched_page
    log_in(page, console, platform)
    page.goto(f"{console}/customers/new")
    fill_account(page, "Erroneous")
    page.get_by_label(starts("Last name")).fill("")
    page.watch.allow(400)
    page.get_by_role("button", name="Submit").click(no_wait_after=True)
    page.locator("#account-lastName-error").wait_for(timeout=120000)
    assert page.get_by_label(starts("Last name")).get_attribute("aria-invalid") == "true"
    assert page.get_by_label(starts("First name")).input_value() == "Mira", "what was typed is kept"


def test_a_retried_submit_never_onboards_twice(watched_page, console, platform, onboarded):
    page = watched_page
    log_in(page, console, platform)
    page.goto(f"{console}/customers/new")
    fill_account(page, f"Twice{uuid.uuid4().hex[:6]}")
    form = page.locator("#onboarding-form")
    fields = form.evaluate("f => Array.from(new FormData(f).entries())")
    fields.append(["step", "submit"])
    answers = [page.request.post(f"{console}/customers/new", multipart=dict(fields), max_redirects=0)
               for _ in range(2)]
    assert [a.status for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]


def test_the_filter_finds_the_onboarded_customer_and_the_csv_holds_them(
        watched_page, console, platform, browser_kit, onboarded):
    page = watched_page
    log_in(page, console, platform)
    page.get_by_text("Filter", exact=True).click()
    page.get_by_label("Full name").fill(onboarded["last_name"].lower())
    page.get_by_label("Payment method").select_option("directDebit")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#customers-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1 and onboarded["last_name"] in rows.first.inner_text()
    assert rows.first.get_by_role("cell").nth(2).inner_text() == "1", "one subscription"
    browser_kit.screenshot(page, "customers-filtered")

    with page.expect_download() as download:
        page.get_by_role("button", name="CSV").click()
    csv = download.value.path().read_text()
    lines = csv.strip().splitlines()
    assert lines[0] == "id,name,email,subscriptions,services" and len(lines) == 2
    assert onboarded["last_name"] in lines[1]

    page.get_by_role("button", name="Reset").click()
    page.wait_for_url(re.compile(r".*/console/customers\?filter=open$"))
    assert page.get_by_label("Full name").input_value() == ""
    page.get_by_text("Filter", exact=True).click()
    assert not page.get_by_label("Full name").is_visible(), "Filter hides the panel again"


def test_copy_puts_the_customers_table_on_the_clipboard(watched_page, console, platform, onboarded):
    page = watched_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, console, platform)
    page.get_by_role("button", name="Copy").click()
    page.get_by_text(re.compile(r"Copied \d+ rows")).wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.splitlines()[0].split("\t") == ["#", "Customer name", "Subscriptions", "Services"]
    assert onboarded["last_name"] in copied


def test_an_operator_adds_a_contact_on_the_details_page(watched_page, console, platform, browser_kit, onboarded):
    page = watched_page
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{onboarded['id']}")
    browser_kit.assert_accessible(page)
    page.locator("#contacts-new summary").click()
    form = page.locator("#contacts-new form")
    form.get_by_label("Tag").fill("billing")
    form.get_by_label(starts("First name")).fill("Jana")
    form.get_by_label(starts("Last name")).fill("Horvat")
    form.get_by_label(starts("Email")).fill("jana@example.com")
    form.get_by_label(starts("Phone")).fill("+386 41 000 111")
    form.get_by_label("Address").fill("Glavni trg 1")
    form.get_by_label("City").fill("Celje")
    form.get_by_label("State").fill("Savinjska")
    form.get_by_label("Country (ISO code)").fill("SI")
    form.get_by_role("button", name="Add contact").click()
    page.locator("#contact-billing").wait_for()
    assert "Jana Horvat" in page.locator("#contact-billing").inner_text()
    browser_kit.screenshot(page, "customer-details")


def test_an_operator_creates_a_balance(watched_page, console, platform, onboarded):
    page = watched_page
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{onboarded['id']}#balances")
    page.locator("#balances-new summary").click()
    form = page.locator("#balances-new form")
    form.get_by_label(starts("Amount")).fill("12.50")
    form.get_by_label(starts("Bill item")).fill("Goodwill credit")
    form.get_by_role("button", name="Create balance").click()
    page.locator(".balances-table").get_by_text("Goodwill credit").wait_for()


def test_billing_runs_with_live_progress(watched_page, console, platform, browser_kit):
    page = watched_page
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, console, platform)
    page.get_by_role("link", name="Billing").click()
    page.get_by_role("button", name="Run billing").click()
    page.wait_for_url(re.compile(r".*/console/bill-runs/[^/]+$"))
    page.locator("#run-status", has_text="done").wait_for(timeout=120000)
    browser_kit.screenshot(page, "bill-run")


def test_the_catalog_lists_plans_with_their_bundles_and_products(watched_page, console, platform, browser_kit):
    page = watched_page
    log_in(page, console, platform)
    page.get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="MOBILE-S").click()
    assert page.get_by_role("table").first.get_by_text("Monthly fee").is_visible()
    assert "19,99 €" in page.inner_text("body") or "€19.99" in page.inner_text("body")
    browser_kit.screenshot(page, "catalog-plan")


def test_a_viewer_sees_no_change_buttons(watched_page, console, platform, onboarded):
    page = watched_page
    log_in(page, console, platform, "viewer", VIEWER_PASSWORD)
    assert page.get_by_role("button", name="Create new").count() == 0
    page.goto(f"{console}/customers/{onboarded['id']}")
    assert page.get_by_role("heading", name="Account information").is_visible()
    for action in ("Edit account information", "Close account", "Add contact", "Edit payment information", "Delete",
                   "Create balance", "Run billing", "Record payment"):
        assert page.get_by_text(action, exact=True).count() == 0, action
    assert page.locator("main form").count() == 0

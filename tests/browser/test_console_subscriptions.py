"""The details page's subscriptions, services, balances and usage, and every one of their actions, in a real
browser against real running services (gateway API and console, customer, catalog, rating and billing
workers, MongoDB, RabbitMQ). One platform for the module; each test onboards its own customer through the
API (cheap) and then does several actions through the console."""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chassis.envelope import exchange_for, new_event
from chassis.nameko_adapter import RpcClient
from chassis.testing import operator_client, wait_for
from gateway.testing import VIEWER_PASSWORD, console_platform, console_url
from gateway.testing import console_log_in as log_in

pytestmark = pytest.mark.timeout(900)
ZONE = ZoneInfo("Europe/Ljubljana")  # the browser's (conftest's watched_page)


@pytest.fixture(scope="module")
def platform(start_services):
    platform = console_platform(start_services, "customer", "catalog", "rating", "billing", "notification", "gateway",
                                "gateway:api")
    add_larger_plan(platform)
    return platform


def add_larger_plan(platform):
    """MOBILE-L (the demo basics for 29.99 EUR a month), so there is a plan to move to."""
    rpc = RpcClient(platform.env["AMQP_URI"])
    try:
        rpc.call("catalog", "create_offering", "product", {
            "code": "MOBILE-L-FEE", "name": "Monthly fee L", "type": "recurring_fee", "amount": "29.99",
            "resource": "EUR", "interval": {"unit": "month", "count": 1}, "proration": "daily", "tax": "VAT",
            "glCode": "4100"})
        rpc.call("catalog", "publish", "product", "MOBILE-L-FEE", 1)
        rpc.call("catalog", "create_offering", "bundle", {
            "code": "MOBILE-L-BASIC", "name": "Mobile L basics",
            "products": [{"code": "VOICE-MIN"}, {"code": "DATA-MB"}, {"code": "MOBILE-L-FEE"}]})
        rpc.call("catalog", "publish", "bundle", "MOBILE-L-BASIC", 1)
        rpc.call("catalog", "create_offering", "plan", {"code": "MOBILE-L", "name": "Mobile L",
                                                        "paymentTypes": ["postpaid"],
                                                        "bundles": [{"code": "MOBILE-L-BASIC"}]})
        rpc.call("catalog", "publish", "plan", "MOBILE-L", 1)
    finally:
        rpc.close()


@pytest.fixture(scope="module")
def console(platform):
    return console_url(platform)


def identifier():
    return f"386{uuid.uuid4().int % 10**9:09d}"


@pytest.fixture(scope="module")
def onboard(platform):
    """A new customer on MOBILE-S (postpaid, EUR), onboarded through the API: its summary."""
    def make():
        body = {"account": {"firstName": "Vesna", "lastName": f"Zupan{uuid.uuid4().hex[:6]}",
                            "email": f"{uuid.uuid4().hex[:10]}@example.com", "phone": "+386 40 222 333",
                            "address": "Presernov trg 1", "city": "Kranj", "state": "Gorenjska", "country": "SI",
                            "customerType": "regular"},
                "paymentInfo": {"method": "invoice"},
                "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1,
                                 "serviceIdentifier": identifier(), "plan": {"code": "MOBILE-S"}}}
        with operator_client(platform) as admin:
            response = admin.post("/api/v1/onboardings", json=body)
        assert response.status_code == 201, response.text
        return response.json()
    return make


def starts(label):
    return re.compile(rf"^{re.escape(label)}\b")


def product_row(page, subscription_number, code):
    return page.locator(f"#products-{subscription_number} tbody tr", has_text=code)


def text(locator):
    """What the operator reads (money uses no-break spaces)."""
    return locator.inner_text().replace("\xa0", " ").strip()


def texts(locator):
    return [t.replace("\xa0", " ").strip() for t in locator.all_inner_texts()]


def local(moment):
    """A datetime-local input's value in the browser's zone."""
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M:%S")


def test_an_operator_adds_a_subscription_and_a_bundle_edits_and_cancels_products_and_uses_a_voucher(
        watched_page, console, platform, browser_kit, onboard):
    page = watched_page
    page.on("dialog", lambda dialog: dialog.accept())
    customer = onboard()
    taken = customer["subscription"]["services"][0]["identifier"]
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{customer['customer']['id']}")
    browser_kit.assert_accessible(page)
    browser_kit.screenshot(page, "subscriptions-details")

    page.get_by_role("button", name="Add subscription").click()
    page.wait_for_url(re.compile(r".*/subscriptions/new$"))
    page.get_by_label(starts("Plan")).select_option("MOBILE-L")  # the picker shows the chosen plan's products
    page.locator("#bundle-MOBILE-L-BASIC").wait_for()
    page.get_by_label(starts("Plan")).select_option("MOBILE-S")
    page.locator("#bundle-MOBILE-BASIC").wait_for()
    page.get_by_label("Promotion codes").fill("WELCOME5")
    page.get_by_label("Service identifier (global)").fill(taken)
    page.get_by_label("Purchase SIM activation (SIM-ACTIVATION)").check()
    page.get_by_label("Quantity of Voice minutes (VOICE-MIN)").fill("2")
    browser_kit.assert_accessible(page)
    browser_kit.screenshot(page, "subscriptions-add")
    page.watch.allow(409)
    page.get_by_role("button", name="Add subscription").click()
    # The identifier is another service's: the API's field error is shown at its input, the choices are kept.
    page.locator("#serviceIdentifier-error").wait_for()
    assert page.get_by_label("Service identifier (global)").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Purchase SIM activation (SIM-ACTIVATION)").is_checked()
    page.get_by_label("Service identifier (global)").fill(identifier())
    page.get_by_role("button", name="Add subscription").click()
    page.wait_for_url(re.compile(r".*/customers/\d+#subscriptions$"))
    assert page.locator(".subscription").count() == 2
    added = 2  # the newest subscription is listed last
    assert "WELCOME-5" in page.locator(f"#products-{added}").inner_text(), "the coupon's discount is bought"
    assert product_row(page, added, "VOICE-MIN").get_by_role("cell").nth(2).inner_text() == "2"

    page.locator(".subscription").nth(1).get_by_role("button", name="Add bundle").click()
    page.wait_for_url(re.compile(r".*/bundles/new$"))
    page.get_by_label("Value of 5 GB extra data (DATA-ADDON-5GB)").fill("2048")
    browser_kit.screenshot(page, "subscriptions-add-bundle")
    page.get_by_role("button", name="Add bundle").click()
    page.wait_for_url(re.compile(r".*#subscriptions$"))
    assert "2.048 MB" in product_row(page, added, "DATA-ADDON-5GB").inner_text()

    fee = product_row(page, added, "MOBILE-FEE")
    fee.locator("summary", has_text="Edit product").click()
    fee.get_by_label("Quantity").fill("3")
    fee.get_by_role("button", name="Save product").click()
    page.wait_for_url(re.compile(r".*#subscriptions$"))
    assert product_row(page, added, "MOBILE-FEE").get_by_role("cell").nth(2).inner_text() == "3"

    product_row(page, added, "SIM-ACTIVATION").get_by_role("button", name="Cancel product").click()
    product_row(page, added, "SIM-ACTIVATION").get_by_text("cancelled").wait_for()

    voucher = platform.database("catalog").vouchers.find_one({"redeemed_at": None})["code"]
    page.locator(f"#voucher-{added} summary").click()
    page.locator(f"#voucher-{added}").get_by_label(starts("Voucher codes")).fill(voucher)
    page.locator(f"#voucher-{added}").get_by_role("button", name="Use voucher").click()
    page.wait_for_url(re.compile(r".*#subscriptions$"))
    assert voucher in page.locator(f"#products-{added}").inner_text()


def test_a_plan_transition_shows_its_proration_before_it_is_confirmed_and_a_cancel_is_confirmed_first(
        watched_page, console, platform, browser_kit, onboard):
    page = watched_page
    customer = onboard()
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{customer['customer']['id']}")
    page.get_by_role("button", name="Plan transition").click()
    page.wait_for_url(re.compile(r".*/transition$"))
    page.get_by_label(starts("New plan")).select_option("MOBILE-L")
    page.locator("#bundle-MOBILE-L-BASIC").wait_for()
    assert page.get_by_role("button", name="Confirm plan transition").count() == 0, "no confirming before a preview"
    page.get_by_role("button", name="Preview", exact=True).click()
    table = page.locator("#proration-table")
    table.wait_for()
    assert "credit" in table.inner_text() and "charge" in table.inner_text()
    assert text(page.locator("#proration-total")) == "10,00 €", "29.99 - 19.99 in the customer's currency"
    browser_kit.assert_accessible(page)
    browser_kit.screenshot(page, "subscriptions-transition-preview")
    page.get_by_role("button", name="Confirm plan transition").click()
    page.wait_for_url(re.compile(r".*#subscriptions$"))
    assert page.get_by_role("heading", name=re.compile("^Mobile L")).is_visible()

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#cancel-1 summary").click()
    page.locator("#cancel-1").get_by_label(starts("Reason")).fill("moved abroad")
    page.locator("#cancel-1").get_by_role("button", name="Cancel subscription").click()
    assert page.locator(".subscription h3 .status-active").count() == 1, "dismissed: nothing cancelled"
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#cancel-1").get_by_role("button", name="Cancel subscription").click()
    page.locator(".subscription h3 .status-cancelled").wait_for()
    assert page.locator("#services-table td.status-terminated").count() >= 1
    assert page.locator("#services-table td.status-active").count() == 0, "its services stop at once"


def test_balances_and_usage_events_are_created_and_adjusted_with_tax_and_the_usage_list_exported(
        watched_page, console, platform, browser_kit, onboard):
    page = watched_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    customer = onboard()
    customer_id = customer["customer"]["id"]
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{customer_id}#balances")
    totals = page.locator("#totals-1")
    assert text(totals.locator("tr", has_text="MIN").get_by_role("cell")) == "-100 MIN"

    page.locator("#balances-new summary").click()
    form = page.locator("#balances-new form")
    form.get_by_label(starts("Amount")).fill("12.50")
    form.get_by_label(starts("Validity")).select_option("until")
    form.get_by_label("Valid to").fill(local(datetime.now(ZONE) + timedelta(days=40)))
    form.get_by_label(starts("Bill item")).fill("Goodwill credit")
    form.get_by_role("button", name="Create balance").click()
    credit = page.locator(".balances-table tbody tr", has_text="Goodwill credit")
    credit.wait_for()
    assert "-12,50 €" in text(credit)
    assert text(totals.locator("tr", has_text="EUR").get_by_role("cell")) == "-12,50 €"

    credit.locator("summary", has_text="Adjustment").click()
    credit.get_by_label(starts("Amount")).fill("2.50")
    credit.get_by_label("With tax").check()
    assert credit.get_by_label("Tax supplier").is_visible()
    credit.locator("select[name='tax.code']").select_option("VAT")
    credit.get_by_role("button", name="Save adjustment").click()
    page.wait_for_url(re.compile(r".*#balances$"))
    assert "-10,00 €" in text(page.locator(".balances-table tbody tr", has_text="Goodwill credit"))

    # Create event: the service type's fields are inputs; a start before the service began is refused at its field.
    page.goto(f"{console}/customers/{customer_id}")
    page.get_by_role("button", name="Create event").click()
    page.wait_for_url(re.compile(r".*/usage/new$"))
    data = page.locator("#serviceId option", has_text="data").get_attribute("value")
    page.get_by_label(starts("Service")).select_option(data)
    page.get_by_label(starts("zone")).wait_for()
    page.get_by_label(starts("Quantity")).fill("6000")
    page.get_by_label(starts("zone")).select_option("home")
    page.get_by_label("apn").fill("internet")
    start = page.get_by_label(starts("Start time"))
    assert start.input_value(), "the start time defaults to now, in the operator's zone"
    chosen = start.input_value()
    start.fill(local(datetime.now(ZONE) - timedelta(days=3)))
    browser_kit.assert_accessible(page)
    browser_kit.screenshot(page, "usage-create-event")
    page.watch.allow(400)
    page.get_by_role("button", name="Create event").click()
    page.locator("#startTime-error").wait_for()
    assert "not valid at the start time" in page.locator("#startTime-error").inner_text()
    assert page.get_by_label("apn").input_value() == "internet", "what was typed is kept"
    page.get_by_label(starts("Start time")).fill(chosen)
    page.get_by_role("button", name="Create event").click()
    page.wait_for_url(re.compile(r".*#usage$"))
    row = page.locator("#usage-table tbody tr", has_text="internet")
    row.wait_for()
    headings = page.locator("#usage-table thead th").all_inner_texts()
    assert headings[:2] == ["Event ID", "Created at"] and {"Zone", "Apn", "Amount"} <= set(headings)
    cells = dict(zip(headings, texts(row.get_by_role("cell")), strict=False))
    assert cells["Zone"] == "home" and cells["Amount"] == "8,80 €", "880 MB over the 5120 free, 0.01 EUR each"

    row.locator("summary", has_text="Adjustment").click()
    row.get_by_label(starts("Amount")).fill("-1.30")
    row.get_by_label("With tax").check()
    row.locator("select[name='tax.code']").select_option("VAT")
    row.get_by_role("button", name="Save adjustment").click()
    page.wait_for_url(re.compile(r".*#usage$"))
    cells = dict(zip(headings, texts(page.locator("#usage-table tbody tr", has_text="internet").get_by_role("cell")),
                     strict=False))
    assert cells["Amount"] == "7,50 €" and "adjusted" in cells["Status"]
    browser_kit.screenshot(page, "usage-table")

    with page.expect_download() as download:
        page.locator("#usage").get_by_role("button", name="CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0][:2] == ["Event ID", "Created at"] and "Zone" in rows[0] and len(rows) == 2
    assert dict(zip(rows[0], rows[1], strict=True))["Zone"] == "home"

    page.locator("#usage").get_by_role("button", name="Copy").click()
    page.locator("#usage").get_by_text(re.compile(r"Copied 1 rows")).wait_for()
    copied = page.evaluate("navigator.clipboard.readText()").splitlines()
    assert copied[0].startswith("Event ID\tCreated at") and "home" in copied[1] and "Adjustment" not in copied[1]

    page.emulate_media(media="print")  # Print: the print stylesheet shows the data, not the controls
    assert page.locator("#usage-table").is_visible() and not page.locator("#usage .table-tools").is_visible()
    assert not page.get_by_role("button", name="Create event").is_visible()


def test_the_balances_section_lists_the_notifications_with_time_type_threshold_and_resource(
        watched_page, console, platform, onboard):
    customer_id = onboard()["customer"]["id"]
    crossed = {"customerId": customer_id, "balanceGroupId": "bg-console", "billingProfileId": "bp-console",
               "resource": "MB", "creditProfile": "STANDARD", "threshold": {"kind": "percent", "value": "80"},
               "value": "4096", "balance": "-1024", "channels": ["email"], "cycleId": "2026-11",
               "crossedAt": datetime.now(ZONE).isoformat()}
    publish_as_rating(platform, "balance.threshold_crossed", crossed)
    with operator_client(platform) as admin:
        assert wait_for(lambda: admin.get(f"/api/v1/customers/{customer_id}/notifications").json(), timeout=60)
    page = watched_page
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{customer_id}#notifications")
    cells = dict(zip(texts(page.locator("#notifications-table thead th")),
                     texts(page.locator("#notifications-table tbody tr").first.get_by_role("cell")), strict=True))
    assert cells["Threshold"] == "80 % (4096)" and cells["Resource"] == "MB" and cells["Channel"] == "email"
    assert cells["Type"] == "threshold crossed" and cells["Triggered"]


def publish_as_rating(platform, event_type, data):
    """An event on rating's exchange, as the rating worker's outbox relay publishes it."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(platform.env["AMQP_URI"]))
    try:
        connection.channel().basic_publish(exchange_for(event_type), event_type,
                                           new_event(event_type, "rating", data).to_json(),
                                           pika.BasicProperties(content_type="application/cloudevents+json",
                                                                delivery_mode=2))
    finally:
        connection.close()


def test_an_operator_edits_a_service_and_a_viewer_sees_no_change_buttons(
        watched_page, console, platform, browser_kit, onboard):
    page = watched_page
    customer = onboard()
    customer_id = customer["customer"]["id"]
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{customer_id}#services")
    voice = page.locator("#services-table tbody tr", has_text="voice")
    voice.locator("summary", has_text="Edit").click()
    voice.get_by_label("Status").select_option("suspended")
    voice.get_by_label("Devices").fill("IMEI-356938035643809, IMEI-356938035643810")
    voice.get_by_label("Event generators").fill("MSC-1")
    voice.get_by_role("button", name="Save service").click()
    page.wait_for_url(re.compile(r".*#services$"))
    voice = page.locator("#services-table tbody tr", has_text="voice")
    assert "suspended" in voice.inner_text() and "IMEI-356938035643810" in voice.inner_text()
    assert "MSC-1" in voice.inner_text()
    page.context.clear_cookies()

    log_in(page, console, platform, "viewer", VIEWER_PASSWORD)
    page.goto(f"{console}/customers/{customer_id}")
    assert page.get_by_role("heading", name="Subscriptions").is_visible()
    assert page.locator("#usage-table").is_visible() and page.locator(".balances-table").count() == 3
    for action in ("Add subscription", "Add bundle", "Plan transition", "Use voucher", "Cancel subscription",
                   "Edit product", "Cancel product", "Adjustment", "Create balance", "Create event", "Edit"):
        assert page.get_by_text(action, exact=True).count() == 0, action
    assert page.locator("main form").count() == 0
    browser_kit.screenshot(page, "subscriptions-viewer")
    page.watch.allow(403)
    answer = page.goto(f"{console}/customers/{customer_id}/subscriptions/new")
    assert answer.status == 403

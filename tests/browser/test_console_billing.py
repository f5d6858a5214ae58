"""The details page's billing and group sections in a real browser, against real running services
(gateway API and console, customer, catalog, rating and billing workers, MongoDB, RabbitMQ): billing
profiles, bills and their adjustments, Run billing with live progress, Bill now, invoice previews,
invoices with their documents and the Wallet, balance groups, sharing and hierarchy."""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chassis.testing import operator_client, wait_for
from gateway.testing import VIEWER_PASSWORD, console_platform, console_url
from gateway.testing import console_log_in as log_in

# Five processes, the demo catalog and an onboarding saga: minutes on a loaded machine.
pytestmark = pytest.mark.timeout(900)
OPERATOR_ZONE = ZoneInfo("Europe/Ljubljana")  # the zone of conftest's browser contexts


@pytest.fixture(scope="module")
def platform(start_services):
    return console_platform(start_services, "customer", "catalog", "rating", "billing", "gateway:api")


@pytest.fixture(scope="module")
def console(platform):
    return console_url(platform)


@pytest.fixture(scope="module")
def customers(platform):
    """Ana, onboarded on MOBILE-S with the SIM activation (so Bill now has something to bill), and
    Bor, a customer without subscription who joins Ana's groups. Made through the API: the wizard
    has its own tests."""
    suffix = uuid.uuid4().hex[:6]
    with operator_client(platform) as admin:
        onboarded = admin.post("/api/v1/onboardings", json={
            "account": {"firstName": "Ana", "lastName": f"Sever{suffix}", "email": f"ana{suffix}@example.com",
                        "phone": "+386 40 222 333", "address": "Prešernova 5", "city": "Maribor",
                        "state": "Podravska", "country": "SI", "customerType": "regular"},
            "paymentInfo": {"method": "invoice"},
            "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1,
                             "serviceIdentifier": f"3864{uuid.uuid4().int % 10**7:07d}",
                             "plan": {"code": "MOBILE-S", "products": [{"code": "SIM-ACTIVATION", "purchase": True}]}}})
        assert onboarded.status_code == 201, onboarded.text
        ana = onboarded.json()
        bor = admin.post("/api/v1/customers", json={
            "firstName": "Bor", "lastName": f"Member{suffix}", "email": f"bor{suffix}@example.com",
            "phone": "+386 41 000 111", "address": "Glavni trg 1", "city": "Celje", "state": "Savinjska",
            "country": "SI", "customerType": "regular", "paymentInfo": {"method": "invoice"}})
        assert bor.status_code == 201, bor.text
        profile = ana["billingProfile"]["id"]
        # Billing learns of the subscription from rating's event: wait until its one-time fee is billable.
        assert wait_for(lambda: admin.get(f"/api/v1/billing-profiles/{profile}/invoice-preview").json()["lines"], 60)
    return {"ana": ana["customer"], "ana_profile": profile, "bor": bor.json(), "state": {}}


def text(locator):
    """What a locator shows, with the no-break spaces of formatted money as plain spaces."""
    return locator.inner_text().replace("\xa0", " ")


def starts(label):
    return re.compile(rf"^{re.escape(label)}\b")


class Dialogs:
    """The confirmation dialogs a page shows: their messages, accepted unless `accept` is False."""

    def __init__(self, page):
        self.messages = []
        self.accept = True
        page.on("dialog", self._answer)

    def _answer(self, dialog):
        self.messages.append(dialog.message)
        dialog.accept() if self.accept else dialog.dismiss()


def two_cycles_ahead():
    """As of the 3rd of the month after next (operator's zone): the current cycle (ending on the next
    1st) and the one after it have both ended, the third has not."""
    now = datetime.now(OPERATOR_ZONE)
    month = now.month + 2
    return datetime(now.year + (month - 1) // 12, (month - 1) % 12 + 1, 3, tzinfo=OPERATOR_ZONE)


def test_billing_profiles_add_a_profile_and_balance_group_bill_now_run_billing_live_and_preview(
        watched_page, console, platform, customers, browser_kit):
    page, ana = watched_page, customers["ana"]
    dialogs = Dialogs(page)
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{ana['id']}#billing")
    main = page.locator(f"#profile-{customers['ana_profile']}")
    assert text(main.locator(".pending-due")) == "0,00 €", "money in the customer's currency and locale"
    browser_kit.assert_accessible(page)

    page.locator("#billing-new summary").click()
    form = page.locator("#billing-new form")
    form.get_by_label("Name").fill("Roaming")
    form.get_by_label(starts("Billing day")).fill("15")
    form.get_by_role("button", name="Add billing profile").click()
    page.get_by_role("heading", name="Roaming").wait_for()

    page.locator("#balance-groups-new summary").click()
    form = page.locator("#balance-groups-new form")
    form.get_by_label(starts("Name")).fill("Travel")
    form.get_by_label(starts("Billing profile")).select_option(label="Roaming")
    form.get_by_role("button", name="Add balance group").click()
    row = page.locator("#balance-groups-table tr", has_text="Travel")
    row.wait_for()
    assert "Roaming" in row.inner_text(), "the group is linked to the chosen profile"

    # Bill now (it answered 500 once, when billing could not serialise the invoice it returned).
    main.get_by_role("button", name="Bill now").click()
    page.wait_for_url(re.compile(r".*billed_now=INV-"))
    number = re.search(r"INV-[\d-]+", page.locator("#billed-now").inner_text()).group(0)
    invoice_row = page.locator(f"#invoice-{number}")
    assert "11,89 €" in text(invoice_row) and "billing" in invoice_row.locator(".invoice-status").inner_text()
    assert "Bill now" in dialogs.messages[-1], "Bill now asks first"
    customers["state"]["bill_now_invoice"] = number

    # Run billing: one request per ended cycle, each shown as it is billed, then the tables anew.
    steps = []
    page.on("request", lambda r: steps.append(r) if r.method == "POST" and r.url.endswith("/run") else None)
    main = page.locator(f"#profile-{customers['ana_profile']}")
    main.get_by_label(starts("Bill as of")).fill(two_cycles_ahead().strftime("%Y-%m-%dT%H:%M"))
    main.get_by_role("button", name="Run billing").click()
    outcome = main.locator(".run-outcome")
    outcome.wait_for(timeout=120000)
    assert "Done: 2 cycle(s) billed" in outcome.inner_text()
    assert main.locator(".billed-cycles li").count() == 2 and len(steps) == 3, "two billed cycles and a not-due step"
    billed = main.locator(f"#bills-{customers['ana_profile']} td.bill-status", has_text=re.compile("^billing$"))
    assert billed.count() == 3, "the bills table was refreshed in place (bill now and two cycles)"
    assert page.locator("#invoices-table tbody tr").count() == 3
    browser_kit.screenshot(page, "billing-run-billing")

    main.get_by_role("button", name="Preview invoice", exact=True).click()
    page.get_by_role("heading", name=re.compile("Invoice preview")).wait_for()
    assert "Monthly fee" in page.locator("#preview-lines").inner_text()
    assert text(page.locator("#preview-total")) == "23,79 €"
    assert page.get_by_role("heading", name="Event history").count() == 0
    page.get_by_role("button", name="Preview invoice with details").click()
    page.get_by_role("heading", name="Event history").wait_for()
    browser_kit.screenshot(page, "billing-invoice-preview")
    browser_kit.assert_accessible(page)


def test_bill_info_shows_items_and_adjustments_with_tax_land_on_the_bill(
        watched_page, console, platform, customers, browser_kit):
    page, ana = watched_page, customers["ana"]
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{ana['id']}#billing")
    active = page.locator(f"#bills-{customers['ana_profile']} tbody tr",
                          has=page.locator("td.bill-status", has_text=re.compile("^active$")))
    active.get_by_role("link", name=re.compile("^Adjustment")).click()
    page.wait_for_url(re.compile(r".*/bills/\d+#adjust$"))

    form = page.locator("#adjust-bill")
    form.get_by_label(starts("Amount")).fill("abc")
    form.get_by_label(starts("Bill item")).fill("Goodwill")
    page.watch.allow(400)
    form.get_by_role("button", name="Adjust bill").click()
    page.locator("#bill-amount-error").wait_for()
    assert page.locator("#bill-amount").get_attribute("aria-invalid") == "true", "the API's error is at its field"

    form = page.locator("#adjust-bill")
    form.get_by_label(starts("Amount")).fill("10")
    form.get_by_label(starts("Bill item")).fill("Installation")
    form.get_by_label("With tax").check()
    form.locator('select[name="tax.code"]').select_option("VAT")
    form.get_by_role("button", name="Adjust bill").click()
    item = page.locator("#items-table tr", has_text="Installation")
    item.wait_for()
    assert "10,00 €" in text(item) and "VAT" in text(item)

    page.locator("#adjust-item-1 summary").click()
    form = page.locator("#adjust-item-1 form")
    form.get_by_label(starts("Amount")).fill("-2.50")
    form.get_by_label("Description").fill("Installation discount")
    form.get_by_role("button", name="Adjust item").click()
    page.locator("#items-table tr", has_text="Installation discount").wait_for()
    assert "-2,50 €" in text(page.locator("#items-table tr", has_text="Installation discount"))
    assert text(page.locator("#bill-charged")) == "7,50 €"
    browser_kit.screenshot(page, "billing-bill-info")
    browser_kit.assert_accessible(page)


def test_invoices_export_open_as_pdf_html_json_and_a_wallet_payment_closes_one(
        watched_page, console, platform, customers, browser_kit):
    page, ana = watched_page, customers["ana"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    number = customers["state"]["bill_now_invoice"]
    log_in(page, console, platform)
    page.goto(f"{console}/customers/{ana['id']}#invoices")
    section = page.locator("#invoices")
    with page.expect_download() as download:
        section.get_by_role("button", name="CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0][0] == "number" and number in [r[0] for r in rows[1:]]
    section.get_by_role("button", name="Copy").click()
    section.get_by_text(re.compile(r"Copied \d+ rows")).wait_for()
    assert number in page.evaluate("navigator.clipboard.readText()")

    page.locator(f"#invoice-{number}").get_by_role("link", name=re.compile("^Wallet")).click()
    page.wait_for_url(re.compile(r".*/details#wallet$"))
    for kind, check in (("PDF", lambda body: body.startswith(b"%PDF")), ("HTML", lambda body: number.encode() in body),
                        ("JSON", lambda body: json.loads(body)["number"] == number)):
        with page.expect_download() as download:
            page.get_by_role("button", name=f"Save as {kind}").click()
        assert download.value.suggested_filename == f"{number}.{kind.lower()}"
        assert check(download.value.path().read_bytes()), kind
    browser_kit.screenshot(page, "billing-invoice-details")

    wallet = page.locator("#wallet-form")
    assert wallet.get_by_label(starts("Amount")).input_value() == "11.89", "the due amount is proposed"
    wallet.get_by_label(starts("Method")).select_option("cash")
    wallet.get_by_label("Provider").fill("Bank")
    wallet.get_by_label("Reference").fill("RCPT-42")
    wallet.get_by_label("Note").fill("Paid at the counter")
    wallet.get_by_role("button", name="Record payment").click()
    page.wait_for_url(re.compile(r".*paid=1$"))
    assert page.locator("#invoice-status").inner_text() == "closed"
    assert text(page.locator("#invoice-due")) == "0,00 €"
    assert "RCPT-42" in page.locator("#payments-table").inner_text()

    wallet = page.locator("#wallet-form")
    wallet.get_by_label("Charge or refund").select_option("refund")
    wallet.get_by_label(starts("Amount")).fill("50")
    page.watch.allow(400)
    wallet.get_by_role("button", name="Record payment").click()
    page.locator("#pay-amount-error").wait_for()
    assert page.locator("#invoice-status").inner_text() == "closed", "a refused refund changes nothing"

    page.get_by_role("link", name=re.compile("^Back to")).click()
    assert page.locator(f"#invoice-{number} .invoice-status").inner_text() == "closed"


def test_sharing_and_hierarchy_as_owner_and_member_edit_cancel_and_remove(
        watched_page, console, platform, customers, browser_kit):
    page, ana, bor = watched_page, customers["ana"], customers["bor"]
    dialogs = Dialogs(page)
    log_in(page, console, platform)

    page.goto(f"{console}/customers/{ana['id']}#sharing")
    page.locator("#sharing-new summary").click()
    form = page.locator("#sharing-new form")
    form.get_by_label(starts("Group name")).fill("Sever family")
    form.get_by_label("Policy").select_option("FAMILY")
    form.get_by_role("button", name="Add sponsorship").click()
    page.locator("#sharing-table tr", has_text="Sever family").wait_for()

    page.locator("#hierarchy-new summary").click()
    form = page.locator("#hierarchy-new form")
    form.get_by_label(starts("Group name")).fill("Sever corp")
    form.get_by_role("button", name="Add hierarchy").click()
    page.locator("#hierarchy-table tr", has_text="Sever corp").wait_for()

    # Bor joins both as a member: find the owner by full name, Pick the group.
    page.goto(f"{console}/customers/{bor['id']}#sharing")
    for kind, group in (("sharing", "Sever family"), ("hierarchy", "Sever corp")):
        page.locator(f"#{kind}-new summary").click()
        form = page.locator(f"#{kind}-new form")
        form.get_by_label("Mode").select_option("member")
        form.get_by_label("Owner's full name").fill(ana["lastName"].lower())
        found = page.locator(f"#owners-{kind} tbody tr")
        found.first.wait_for()
        assert found.count() == 1 and group in found.inner_text(), "only the owner's group is found"
        found.get_by_role("button", name="Pick").click()
        form.get_by_role("button", name=re.compile("^Add (sponsorship|hierarchy)")).click()
        page.locator(f"#{kind}-table tr", has_text=group).wait_for()
        assert "member" in page.locator(f"#{kind}-table tr", has_text=group).inner_text()
    browser_kit.screenshot(page, "groups-member")
    browser_kit.assert_accessible(page)

    page.locator("#sharing-edit-1 summary").click()
    page.locator("#sharing-edit-1").get_by_label("Status").select_option("inactive")
    page.locator("#sharing-edit-1").get_by_role("button", name="Save sharing").click()
    page.locator("#sharing-table .sharing-status", has_text="inactive").wait_for()
    page.locator("#hierarchy-edit-1 summary").click()
    page.locator("#hierarchy-edit-1").get_by_label(starts("Valid to")).fill("2030-12-31T23:30")
    page.locator("#hierarchy-edit-1").get_by_role("button", name="Save hierarchy").click()
    page.locator("#hierarchy-table tr", has_text="2030-12-31 23:30").wait_for()  # in the operator's zone

    page.locator("#sharing-edit-1 summary").click()
    page.locator("#sharing-edit-1").get_by_role("button", name="Remove from sharing").click()
    page.locator("#sharing-table", has_text="No sharing group").wait_for()
    page.locator("#hierarchy-edit-1 summary").click()
    page.locator("#hierarchy-edit-1").get_by_role("button", name="Remove from hierarchy").click()
    page.locator("#hierarchy-table", has_text="No hierarchy group").wait_for()

    page.goto(f"{console}/customers/{ana['id']}#sharing")
    page.locator("#sharing-edit-1 summary").click()
    page.locator("#sharing-edit-1").get_by_role("button", name="Cancel sharing").click()
    page.locator("#sharing-table .sharing-status", has_text="cancelled").wait_for()

    page.locator("#hierarchy-edit-1 summary").click()
    page.locator("#hierarchy-edit-1").get_by_label("Status").select_option("inactive")
    page.locator("#hierarchy-edit-1").get_by_role("button", name="Save hierarchy").click()
    page.locator("#hierarchy-table .hierarchy-status", has_text="inactive").wait_for()
    dialogs.accept = False
    page.locator("#hierarchy-edit-1 summary").click()
    page.locator("#hierarchy-edit-1").get_by_role("button", name="Cancel hierarchy").click()
    assert "Cancel the hierarchy group Sever corp" in dialogs.messages[-1]
    assert page.locator("#hierarchy-table .hierarchy-status").inner_text() == "inactive", "dismissed: nothing changed"
    dialogs.accept = True
    page.locator("#hierarchy-edit-1").get_by_role("button", name="Cancel hierarchy").click()
    page.locator("#hierarchy-table .hierarchy-status", has_text="cancelled").wait_for()
    browser_kit.screenshot(page, "groups-owner")


def test_a_viewer_sees_billing_and_groups_without_change_buttons(watched_page, console, platform, customers):
    page, ana = watched_page, customers["ana"]
    log_in(page, console, platform, "viewer", VIEWER_PASSWORD)
    page.goto(f"{console}/customers/{ana['id']}")
    assert page.locator(f"#bills-{customers['ana_profile']} tbody tr").count() >= 4
    for action in ("Run billing", "Bill now", "Add billing profile", "Add balance group", "Add sponsorship",
                   "Add hierarchy", "Wallet", "Adjustment"):
        assert page.get_by_text(action, exact=True).count() == 0, action
    assert page.locator("main form").count() == 0
    page.get_by_role("button", name="Preview invoice", exact=True).first.click()
    page.get_by_role("heading", name=re.compile("Invoice preview")).wait_for()
    page.goto(f"{console}/customers/{ana['id']}#invoices")
    page.locator("#invoices-table tbody tr").first.get_by_role("link", name=re.compile("^Details")).click()
    page.get_by_role("button", name="Save as PDF").wait_for()
    assert page.locator("main form").count() == 0, "no Wallet for a viewer"

"""Bills, charges, run billing, bill now, preview and invoices on a real MongoDB."""
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.service_layer import billing, bills, invoices, profiles, rendering, subscriptions
from billing.service_layer.catalog import TaxCache
from chassis.envelope import new_event
from chassis.errors import Conflict, NotFound, ValidationFailed

JAN_15 = datetime(2026, 1, 15, 10, tzinfo=UTC)
FEB_1 = datetime(2026, 2, 1, tzinfo=UTC)
MAR_1 = datetime(2026, 3, 1, tzinfo=UTC)
FEE = {"id": "p-fee", "code": "MOBILE-FEE", "version": 1, "name": "Mobile fee", "type": "recurring_fee",
       "bundleCode": "B", "quantity": "1", "amount": "31.00", "currency": "EUR", "interval": "month",
       "proration": "daily", "tax": "VAT", "glCode": "4000", "validFrom": None, "validTo": None, "status": "active"}
SIM = {**FEE, "id": "p-sim", "code": "SIM", "name": "SIM activation", "type": "one_time_fee", "amount": "5.00",
       "quantity": "2"}


@pytest.fixture
def profile(billing_db, catalog, profile_payload):
    return profiles.create_billing_profile(profile_payload(billingDay=1, validFrom=JAN_15.isoformat()), catalog)


def open_bills(db, profile_id):
    return {b["status"]: b for b in db.bills.find({"billing_profile_id": profile_id})
            if b["status"] in ("active", "inactive")}


def usage(profile_id, amount, service="svc-1", bill_id=None, units="10"):
    return new_event("usage.charged", "rating", {
        "billingProfileId": profile_id, "customerId": 7, "billId": bill_id, "balanceGroupId": "bg-1",
        "serviceId": service, "serviceIdentifier": "38640111222", "serviceType": "voice", "resource": "EUR",
        "units": units, "amount": amount, "currency": "EUR", "events": 3, "late": False,
        "firstStart": "2026-01-20T10:00:00+00:00", "lastStart": "2026-01-20T11:00:00+00:00", "tax": "VAT"})


def subscribe(profile_id, at=JAN_15, products=(FEE, SIM)):
    event = new_event("subscription.created", "rating", {
        "id": "sub-1", "customerId": 7, "balanceGroupId": "bg-1", "billingProfileId": profile_id,
        "planCode": "MOBILE-S", "planVersion": 1, "status": "active", "at": at.isoformat(),
        "products": list(products)})
    return subscriptions.record_subscription("billing.on_subscription_created", event)


def run(profile_id, catalog, as_of=FEB_1):
    [outcome] = billing.bill_profiles([profile_id], as_of, TaxCache(catalog))
    return outcome


def test_a_new_profile_has_one_active_bill_for_the_current_cycle_and_one_inactive_for_the_next(billing_db, profile):
    found = open_bills(billing_db, profile["id"])
    assert (found["active"]["cycle_start"], found["active"]["cycle_end"]) == (datetime(2026, 1, 1, tzinfo=UTC), FEB_1)
    assert (found["inactive"]["cycle_start"], found["inactive"]["cycle_end"]) == (FEB_1, MAR_1)
    assert found["inactive"]["_id"] == found["active"]["_id"] + 1
    started = [o["envelope"]["data"] for o in billing_db.outbox.find({"type": "billing.cycle_started"})]
    assert started == [{"billingProfileId": profile["id"], "customerId": 7, "billId": found["active"]["_id"],
                        "cycleStart": "2026-01-01T00:00:00+00:00", "cycleEnd": "2026-02-01T00:00:00+00:00",
                        "paymentType": "postpaid", "currency": "EUR"}]


def test_the_seed_example_active_goes_to_billing_inactive_becomes_active_and_a_new_inactive_is_prepared(
        billing_db, catalog, profile):
    before = open_bills(billing_db, profile["id"])
    active, inactive = before["active"]["_id"], before["inactive"]["_id"]  # the seed's 110 and 111
    assert run(profile["id"], catalog).status == "billed"
    statuses = {b["_id"]: b["status"] for b in billing_db.bills.find({"billing_profile_id": profile["id"]})}
    assert statuses == {active: "billing", inactive: "active", inactive + 1: "inactive"}  # 110, 111, 112
    assert billing_db.bills.find_one({"_id": inactive + 1})["cycle_start"] == MAR_1


def test_a_cycle_that_has_not_ended_is_not_billed_and_a_rerun_never_bills_twice(billing_db, catalog, profile):
    assert run(profile["id"], catalog, as_of=datetime(2026, 1, 31, 23, tzinfo=UTC)).status == "not_due"
    assert run(profile["id"], catalog).status == "billed"
    assert run(profile["id"], catalog).status == "not_due"
    assert billing_db.invoices.count_documents({}) == 1


def test_usage_fees_and_taxes_make_the_invoice_lines_rounded_per_line(billing_db, catalog, profile):
    for amount in ("1.004", "1.004"):
        assert bills.record_usage_charged("billing.on_usage_charged", usage(profile["id"], amount))
    event = usage(profile["id"], "2.5", service="svc-2")
    assert bills.record_usage_charged("billing.on_usage_charged", event)
    assert not bills.record_usage_charged("billing.on_usage_charged", event)  # a redelivery adds nothing
    assert subscribe(profile["id"])
    active = open_bills(billing_db, profile["id"])["active"]
    assert active["charged"].to_decimal() == Decimal("4.508") and active["items"] == 3
    outcome = run(profile["id"], catalog)
    invoice = invoices.get_invoice(7, outcome.invoice_id)
    lines = {line["description"]: line for line in invoice["lines"]}
    assert [(line["serviceId"], line["amount"], line["taxAmount"]) for line in invoice["lines"]
            if line["kind"] == "usage"] == [("svc-1", "2.01", "0.44"), ("svc-2", "2.50", "0.55")]
    assert lines["Mobile fee"]["amount"] == "17.00"  # 15th to 31st January: 17 of 31 days
    assert lines["Mobile fee"]["tax"] == {"code": "VAT", "rate": "22", "supplier": "FURS", "glCode": "2200"}
    assert lines["SIM activation"]["amount"] == "10.00"
    net = sum(Decimal(line["amount"]) for line in invoice["lines"])
    tax = sum(Decimal(line["taxAmount"]) for line in invoice["lines"])
    assert (Decimal(invoice["netAmount"]), Decimal(invoice["taxAmount"]), Decimal(invoice["amount"])) == (
        net, tax, net + tax)
    assert invoice["status"] == "billing" and invoice["dueAmount"] == invoice["amount"]
    assert invoice["dueDate"] == "2026-02-15T00:00:00+00:00" and invoice["number"] == "INV-2026-000001"
    # The next cycle charges the fee in full and never the one-time fee again.
    second = invoices.get_invoice(7, run(profile["id"], catalog, as_of=MAR_1).invoice_id)
    assert [(line["description"], line["amount"]) for line in second["lines"]] == [("Mobile fee", "31.00")]
    assert second["number"] == "INV-2026-000002"


def test_usage_for_a_billed_cycle_lands_on_the_current_active_bill(billing_db, catalog, profile):
    old_bill = open_bills(billing_db, profile["id"])["active"]["_id"]
    run(profile["id"], catalog)
    bills.record_usage_charged("billing.on_usage_charged", usage(profile["id"], "1", bill_id=old_bill))
    assert billing_db.bill_items.find_one({})["bill_id"] == open_bills(billing_db, profile["id"])["active"]["_id"]


def test_adjustments_are_items_of_their_own_with_optional_tax(billing_db, catalog, profile):
    bill_id = open_bills(billing_db, profile["id"])["active"]["_id"]
    bills.record_usage_charged("billing.on_usage_charged", usage(profile["id"], "10"))
    item = billing_db.bill_items.find_one({})
    adjusted = bills.adjust_bill(bill_id, {"amount": "-2.50", "description": "goodwill"}, catalog, item_id=item["_id"])
    assert adjusted["reference"] == item["_id"] and adjusted["kind"] == "adjustment"
    with_tax = bills.adjust_bill(bill_id, {"amount": "4", "billItem": "Roaming", "balanceGroupId": "bg-1",
                                           "tax": {"code": "RED"}}, catalog)
    assert (with_tax["tax"], with_tax["taxSupplier"], with_tax["glCode"]) == ("RED", "FURS", "2210")
    info = bills.get_bill(bill_id)
    assert [i["amount"] for i in info["items"]] == ["10", "-2.50", "4"]
    assert billing_db.bill_items.find_one({"_id": item["_id"]})["amount"].to_decimal() == Decimal("10")


@pytest.mark.parametrize(("payload", "field"), [
    ({"amount": "5"}, "billItem"), ({"amount": 5.5, "billItem": "x"}, "amount"),
    ({"amount": "5", "billItem": "x", "tax": {"code": "NOPE"}}, "tax.code")])
def test_a_bad_adjustment_is_refused_naming_the_field_and_nothing_changes(billing_db, catalog, profile, payload,
                                                                          field):
    bill_id = open_bills(billing_db, profile["id"])["active"]["_id"]
    with pytest.raises(ValidationFailed) as error:
        bills.adjust_bill(bill_id, payload, catalog)
    assert field in error.value.fields
    assert billing_db.bill_items.count_documents({}) == 0


def test_an_adjustment_on_a_billed_or_missing_bill_is_refused(billing_db, catalog, profile):
    bill_id = open_bills(billing_db, profile["id"])["active"]["_id"]
    run(profile["id"], catalog)
    with pytest.raises(Conflict) as error:
        bills.adjust_bill(bill_id, {"amount": "1", "billItem": "x"}, catalog)
    assert "billId" in error.value.fields
    with pytest.raises(NotFound):
        bills.adjust_bill(999999, {"amount": "1", "billItem": "x"}, catalog)
    assert billing_db.bill_items.count_documents({}) == 0


def _state(db):
    return {name: sorted(map(str, db[name].find())) for name in ("bills", "bill_items", "invoices", "counters",
                                                                  "outbox", "subscription_fees")}


def test_a_preview_shows_the_next_invoice_and_changes_nothing(billing_db, catalog, profile):
    bills.record_usage_charged("billing.on_usage_charged", usage(profile["id"], "3"))
    subscribe(profile["id"])
    before = _state(billing_db)
    shown = billing.preview(profile["id"], TaxCache(catalog))
    assert Decimal(shown["amount"]) == Decimal("36.60") and "events" not in shown  # (3 + 17 + 10) * 1.22
    detailed = billing.preview(profile["id"], TaxCache(catalog), details=True)
    assert [e["units"] for e in detailed["events"]] == ["10"]
    assert _state(billing_db) == before
    assert run(profile["id"], catalog).status == "billed"
    assert invoices.list_invoices(7)["items"][0]["amount"] == shown["amount"]


def test_a_preview_of_a_profile_without_charges_is_an_empty_invoice(billing_db, catalog, profile):
    shown = billing.preview(profile["id"], TaxCache(catalog), details=True)
    assert (shown["lines"], shown["amount"], shown["events"]) == ([], "0.00", [])


def test_bill_now_moves_the_active_items_to_a_new_bill_in_billing_with_its_invoice(billing_db, catalog, profile):
    bills.record_usage_charged("billing.on_usage_charged", usage(profile["id"], "3"))
    active = open_bills(billing_db, profile["id"])["active"]
    done = billing.bill_now(profile["id"], datetime(2026, 1, 20, tzinfo=UTC), TaxCache(catalog))
    assert done["bill"]["status"] == "billing" and done["bill"]["billNow"] and done["bill"]["id"] > active["_id"]
    assert done["invoice"]["billId"] == done["bill"]["id"] and done["invoice"]["amount"] == "3.66"
    assert billing_db.bill_items.count_documents({"bill_id": active["_id"]}) == 0
    after = open_bills(billing_db, profile["id"])
    assert after["active"]["_id"] == active["_id"] and after["active"]["items"] == 0


def test_bill_now_on_an_empty_active_bill_is_refused_and_uses_no_invoice_number(billing_db, catalog, profile):
    before = billing_db.invoices.count_documents({})
    with pytest.raises(Conflict, match="nothing to bill now"):
        billing.bill_now(profile["id"], datetime(2026, 1, 20, tzinfo=UTC), TaxCache(catalog))
    assert billing_db.invoices.count_documents({}) == before
    assert billing_db.bills.count_documents({"billing_profile_id": profile["id"], "bill_now": True}) == 0


def test_an_issued_invoice_is_frozen_and_corrected_by_a_credit_note_with_its_own_series(billing_db, catalog,
                                                                                        profile):
    bills.record_usage_charged("billing.on_usage_charged", usage(profile["id"], "10"))
    invoice = invoices.get_invoice(7, run(profile["id"], catalog).invoice_id)
    catalog.taxes["VAT"]["rate"] = "25"  # a rate changed after issue does not touch the invoice
    assert invoices.get_invoice(7, invoice["id"]) == invoice
    note = invoices.issue_note(7, invoice["id"], {"amount": "5", "reason": "Dropped calls", "tax": "VAT"}, catalog,
                               at=FEB_1)
    assert (note["kind"], note["number"], note["references"]) == ("credit_note", "CN-2026-000001", invoice["id"])
    assert (note["netAmount"], note["taxAmount"], note["amount"]) == ("-5.00", "-1.25", "-6.25")
    debit = invoices.issue_note(7, invoice["id"], {"kind": "debit_note", "amount": "1", "reason": "x"}, catalog,
                                at=FEB_1)
    assert debit["number"] == "DN-2026-000001"
    with pytest.raises(NotFound):
        invoices.issue_note(8, invoice["id"], {"amount": "5", "reason": "other customer"}, catalog)


def test_invoice_details_render_as_html_pdf_and_json_in_the_customers_locale(billing_db, catalog, profile):
    billing_db.customers.insert_one({"_id": 7, "name": "Ana Novak", "email": "a@example.com", "country": "SI",
                                     "source_event": "e"})
    bills.record_usage_charged("billing.on_usage_charged", usage(profile["id"], "1000"))
    invoice_id = run(profile["id"], catalog).invoice_id
    page = rendering.render_invoice(7, invoice_id, "html")["body"]
    assert "INV-2026-000001" in page and "1.220,00\xa0€" in page and "Ana Novak" in page
    document = rendering.render_invoice(7, invoice_id, "pdf")
    assert document["contentType"] == "application/pdf"
    with pytest.raises(ValidationFailed) as error:
        rendering.render_invoice(7, invoice_id, "docx")
    assert "format" in error.value.fields


def test_a_profile_in_a_unit_resource_is_refused_naming_the_resource(billing_db, catalog, profile_payload):
    with pytest.raises(ValidationFailed) as error:
        profiles.create_billing_profile(profile_payload(resource="MIN"), catalog)
    assert "resource" in error.value.fields
    assert billing_db.billing_profiles.count_documents({}) == 0 and billing_db.bills.count_documents({}) == 0


def test_billing_day_31_in_february_ends_the_cycle_on_the_28th(billing_db, catalog, profile_payload):
    created = profiles.create_billing_profile(profile_payload(billingDay=31, validFrom="2026-02-10T00:00:00Z"),
                                              catalog)
    active = open_bills(billing_db, created["id"])["active"]
    assert (active["cycle_start"], active["cycle_end"]) == (datetime(2026, 1, 31, tzinfo=UTC),
                                                           datetime(2026, 2, 28, tzinfo=UTC))


def test_the_profile_view_shows_pending_due_credit_balance_and_event_generators(billing_db, catalog, profile):
    subscribe(profile["id"])
    run(profile["id"], catalog)
    view = profiles.profile_view(profile["id"])
    assert view["totalPendingDue"] == "32.94" and view["creditBalance"] == "0"  # (17 + 10) * 1.22
    assert view["eventGenerators"] == [{"subscriptionId": "sub-1", "planCode": "MOBILE-S", "balanceGroupId": "bg-1",
                                        "cancelled": False}]
    assert view["eventType"] == "monthly" and view["billingDay"] == 1 and set(view["bills"]) == {"active", "inactive"}


@pytest.mark.parametrize(("payload", "field"), [
    ({"amount": 2.5}, "amount"), ({"amount": "1", "billItem": "x"}, "billItem"), ({}, "amount")])
def test_an_adjustment_of_one_item_is_loaded_by_the_gateways_item_adjustment_shape(billing_db, catalog, profile,
                                                                                   payload, field):
    bill_id = open_bills(billing_db, profile["id"])["active"]["_id"]
    bills.record_usage_charged("billing.on_usage_charged", usage(profile["id"], "10"))
    item = billing_db.bill_items.find_one({})
    with pytest.raises(ValidationFailed) as error:  # the item adjusted is the path's, never the body's
        bills.adjust_bill(bill_id, payload, catalog, item_id=item["_id"])
    assert field in error.value.fields
    assert billing_db.bill_items.count_documents({}) == 1

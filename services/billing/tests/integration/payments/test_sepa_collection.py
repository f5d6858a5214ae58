"""SEPA direct debit out (pain.008) and bank results in (camt.054, pain.002) on real MongoDB."""
from datetime import timedelta
from importlib.resources import files

import pytest
import xmlschema

from billing import bank_simulator
from billing.service_layer import bank_import, sepa_export
from chassis.clock import utc_now
from chassis.errors import ValidationFailed


def xsd(version):
    return xmlschema.XMLSchema(str(files("sepaxml") / "schemas" / f"{version}.xsd"))


@pytest.fixture
def direct_debit_invoices(issue_invoice, customer_paying):
    customer_paying(201, "directDebit", mandateId="MANDATE-201", name="Ada Lovelace")
    customer_paying(202, "directDebit", mandateId="MANDATE-202", name="Émile Zola")
    return [issue_invoice(customer_id=201, amount="19.99"), issue_invoice(customer_id=202, amount="5.00")]


def export(payment_settings):
    report = sepa_export.export_sepa(payment_settings, utc_now())
    return report, sepa_export.file_content(report["fileId"]) if report["fileId"] else None


def test_due_direct_debit_invoices_are_exported_as_a_valid_pain008_and_marked_in_collection(
        billing_db, direct_debit_invoices, payment_settings, issue_invoice):
    issue_invoice(customer_id=999, amount="1.00")  # pays by invoice: not exported
    report, content = export(payment_settings)
    assert (report["transactions"], report["total"]) == (2, "24.99")
    xsd(report["version"]).validate(content.decode())
    assert {tx["invoice_id"] for tx in billing_db.sepa_transactions.find({"status": "in_collection"})} == set(
        direct_debit_invoices)
    assert sepa_export.file_content(report["fileId"]) == content  # downloadable again, byte for byte
    assert export(payment_settings)[0]["fileId"] is None          # never twice in files


def test_a_mandates_first_collection_is_frst_and_the_next_file_rcur(billing_db, direct_debit_invoices,
                                                                    payment_settings, issue_invoice):
    _, first = export(payment_settings)
    issue_invoice(customer_id=201, amount="19.99")
    _, second = export(payment_settings)
    assert b"<SeqTp>FRST</SeqTp>" in first and b"RCUR" not in first
    assert b"<SeqTp>RCUR</SeqTp>" in second and b"FRST" not in second


def test_invoices_without_a_mandate_or_with_one_signed_in_the_future_are_skipped_and_named(
        billing_db, issue_invoice, customer_paying, payment_settings):
    customer_paying(203, "directDebit", mandateId=None)
    customer_paying(204, "directDebit", mandateId="MANDATE-204",
                    signedOn=(utc_now() + timedelta(days=3)).date().isoformat())
    issue_invoice(customer_id=203, amount="1.00")
    issue_invoice(customer_id=204, amount="2.00")
    report, _ = export(payment_settings)
    assert report["fileId"] is None
    fields = sorted(field for skipped in report["skipped"] for field in skipped["fields"])
    assert fields == ["paymentInfo.directDebit.mandateId", "paymentInfo.directDebit.signedOn"]


def test_a_camt054_with_one_paid_and_one_returned_invoice(billing_db, direct_debit_invoices, payment_settings,
                                                         events):
    paid_id, returned_id = direct_debit_invoices
    report, content = export(payment_settings)
    returned_e2e = billing_db.sepa_transactions.find_one({"invoice_id": returned_id})["_id"]
    camt = bank_simulator.camt054(content, payment_settings.creditor.iban, {returned_e2e: "AM04"},
                                  extra=[("NOT-OURS/F9", "3.00")])
    result = bank_import.import_bank_file(camt, payment_settings, utc_now())
    assert result["counts"] == {"matched": 2, "unmatched": 1, "unchanged": 0}
    assert result["unmatched"][0]["endToEndId"] == "NOT-OURS/F9"
    assert billing_db.invoices.find_one({"_id": paid_id})["status"] == "closed"
    paid_e2e = billing_db.sepa_transactions.find_one({"invoice_id": paid_id})["_id"]
    position = [e2e for e2e, _ in bank_simulator.transactions(content)].index(paid_e2e) + 1
    assert billing_db.payments.find_one({"invoice_id": paid_id})["reference"] == f"BANKREF-{position}"
    assert billing_db.invoices.find_one({"_id": returned_id})["status"] == "billing"
    [failed] = events("billing.payment_failed")
    assert (failed["invoiceId"], failed["method"], failed["reasonCode"]) == (returned_id, "sepa", "AM04")
    # The same file again changes nothing, and the returned invoice goes into the next file.
    assert bank_import.import_bank_file(camt, payment_settings, utc_now())["duplicate"] is True
    assert len(events("billing.payment_failed")) == 1 and billing_db.payments.count_documents({}) == 1
    assert export(payment_settings)[0]["transactions"] == 1


def test_the_same_results_in_another_file_change_nothing(billing_db, direct_debit_invoices, payment_settings):
    _, content = export(payment_settings)
    bank_import.import_bank_file(bank_simulator.camt054(content, payment_settings.creditor.iban, message_id="A"),
                                 payment_settings, utc_now())
    again = bank_import.import_bank_file(bank_simulator.camt054(content, payment_settings.creditor.iban,
                                                                message_id="B"), payment_settings, utc_now())
    assert again["counts"] == {"matched": 0, "unmatched": 0, "unchanged": 2}
    assert billing_db.payments.count_documents({}) == 2


def test_a_return_after_payment_reopens_the_invoice(billing_db, direct_debit_invoices, payment_settings, events):
    paid_id = direct_debit_invoices[0]
    _, content = export(payment_settings)
    e2e = billing_db.sepa_transactions.find_one({"invoice_id": paid_id})["_id"]
    bank_import.import_bank_file(bank_simulator.camt054(content, payment_settings.creditor.iban, message_id="A"),
                                 payment_settings, utc_now())
    bank_import.import_bank_file(bank_simulator.camt054(content, payment_settings.creditor.iban, {e2e: "MD06"},
                                                        message_id="B"), payment_settings, utc_now())
    raw = billing_db.invoices.find_one({"_id": paid_id})
    assert (raw["status"], str(raw["due_amount"])) == ("billing", "19.99")
    assert events("billing.payment_failed")[0]["reasonCode"] == "MD06"


def test_a_pain002_rejection_puts_the_invoice_back_to_due_and_its_mandate_back_to_frst(
        billing_db, direct_debit_invoices, payment_settings, events):
    rejected_id = direct_debit_invoices[1]
    _, content = export(payment_settings)
    e2e = billing_db.sepa_transactions.find_one({"invoice_id": rejected_id})["_id"]
    report = bank_import.import_bank_file(bank_simulator.pain002(content, {e2e: "MD01"},
                                                                 payment_settings.creditor.iban),
                                          payment_settings, utc_now())
    assert [(m["invoiceId"], m["outcome"], m["reasonCode"]) for m in report["matched"]] == [
        (rejected_id, "rejected", "MD01")]
    assert events("billing.payment_failed")[0]["reasonCode"] == "MD01"
    report, content = export(payment_settings)
    assert report["transactions"] == 1 and b"<SeqTp>FRST</SeqTp>" in content


def test_a_pain002_rejecting_the_whole_file_rejects_every_collection_in_it(billing_db, direct_debit_invoices,
                                                                           payment_settings):
    _, content = export(payment_settings)
    report = bank_import.import_bank_file(bank_simulator.pain002(content, {}, whole_file_reason="FF01"),
                                          payment_settings, utc_now())
    assert report["counts"]["matched"] == 2
    assert billing_db.sepa_transactions.count_documents({"status": "rejected"}) == 2


def test_a_file_for_another_creditor_is_refused_whole(billing_db, direct_debit_invoices, payment_settings):
    _, content = export(payment_settings)
    with pytest.raises(ValidationFailed) as refused:
        bank_import.import_bank_file(bank_simulator.camt054(content, "FR7630006000011234567890189"),
                                     payment_settings, utc_now())
    assert "file" in refused.value.fields
    assert billing_db.sepa_transactions.count_documents({"status": "in_collection"}) == 2


def test_a_status_report_on_a_file_never_exported_is_refused(billing_db, direct_debit_invoices, payment_settings):
    export(payment_settings)
    from billing.config import DEV_CREDITOR
    from billing.domain import pain008
    from billing.domain.sepa import Pain008Version
    foreign = pain008.render("SOMEONE-ELSES", utc_now(), DEV_CREDITOR, [], Pain008Version.V02)
    with pytest.raises(ValidationFailed) as refused:
        bank_import.import_bank_file(bank_simulator.pain002(foreign, {}, whole_file_reason="FF01"),
                                     payment_settings, utc_now())
    assert "OrgnlMsgId" in refused.value.fields["file"]


def test_malformed_xml_is_refused_and_changes_nothing(billing_db, direct_debit_invoices, payment_settings):
    export(payment_settings)
    with pytest.raises(ValidationFailed):
        bank_import.import_bank_file(b"<Document><Ntry>", payment_settings, utc_now())
    assert billing_db.sepa_transactions.count_documents({"status": "in_collection"}) == 2
    assert billing_db.bank_imports.count_documents({}) == 0

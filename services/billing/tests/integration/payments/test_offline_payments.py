"""Offline ("Wallet") payments and the credit balance on real MongoDB."""
from decimal import Decimal

import pytest

from billing.service_layer import payments
from chassis.errors import Conflict, NotFound, ValidationFailed


def wallet(amount, direction="charge", method="cash", **more):
    return {"amount": amount, "direction": direction, "method": method, **more}


def pay(invoice_id, body, customer_id=7):
    return payments.record_offline_payment(customer_id, invoice_id, body)


def payments_of(invoice_id, customer_id=7):
    return payments.list_payments(customer_id, invoice_id)


def invoice_state(billing_db, invoice_id):
    raw = billing_db.invoices.find_one({"_id": invoice_id})
    return raw["status"], raw["due_amount"].to_decimal()


def test_paying_an_invoice_in_full_offline_closes_it_and_announces_invoice_paid(billing_db, issue_invoice, events):
    invoice_id = issue_invoice(amount="100.00")
    payment = pay(invoice_id, wallet("100.00", method="transfer", provider="Bank",
                                                                  reference="SEPA-CT 4711", note="by phone"))
    assert invoice_state(billing_db, invoice_id) == ("closed", Decimal("0.00"))
    assert (payment["method"], payment["provider"], payment["reference"], payment["note"]) == (
        "transfer", "Bank", "SEPA-CT 4711", "by phone")
    [paid] = events("billing.invoice_paid")
    assert (paid["invoiceId"], paid["paymentId"], paid["amount"], paid["method"]) == (
        invoice_id, payment["id"], "100.00", "transfer")


def test_a_partial_payment_leaves_the_rest_due_and_announces_nothing(billing_db, issue_invoice, events):
    invoice_id = issue_invoice(amount="100.00")
    pay(invoice_id, wallet("40.00"))
    assert invoice_state(billing_db, invoice_id) == ("billing", Decimal("60.00"))
    assert events("billing.invoice_paid") == []


def test_an_overpayment_becomes_credit_used_automatically_on_the_next_invoice(billing_db, issue_invoice, events):
    first = issue_invoice(amount="30.00", profile="p-credit")
    pay(first, wallet("50.00"))
    assert payments.get_credit_balance("p-credit")["amount"] == "20.00"
    second = issue_invoice(amount="25.00", profile="p-credit")
    assert invoice_state(billing_db, second) == ("billing", Decimal("5.00"))
    assert payments.get_credit_balance("p-credit")["amount"] == "0.00"
    [used] = payments_of(second)
    assert (used["method"], used["amount"]) == ("creditBalance", "20.00")


def test_credit_covering_a_whole_new_invoice_closes_it_at_issue(billing_db, issue_invoice, events):
    pay(issue_invoice(amount="10.00", profile="p-rich"), wallet("60.00"))
    covered = issue_invoice(amount="25.00", profile="p-rich")
    assert invoice_state(billing_db, covered) == ("closed", Decimal("0.00"))
    assert payments.get_credit_balance("p-rich")["amount"] == "25.00"
    assert [e["method"] for e in events("billing.invoice_paid")] == ["cash", "creditBalance"]


def test_a_refund_reopens_the_invoice_and_announces_payment_refunded(billing_db, issue_invoice, events):
    invoice_id = issue_invoice(amount="80.00")
    pay(invoice_id, wallet("80.00", method="creditCard", provider="Stripe"))
    refund = pay(invoice_id, wallet("30.00", direction="refund", method="creditCard"))
    assert invoice_state(billing_db, invoice_id) == ("billing", Decimal("30.00"))
    [refunded] = events("billing.payment_refunded")
    assert (refunded["paymentId"], refunded["amount"]) == (refund["id"], "30.00")


def test_the_same_payment_sent_twice_with_its_id_is_recorded_once(billing_db, issue_invoice):
    invoice_id = issue_invoice(amount="100.00")
    body = wallet("10.00", id="3f1c3a52-4cf4-4f59-9a55-0b1d1c0f7a11")
    assert pay(invoice_id, body) == pay(invoice_id, body)
    assert invoice_state(billing_db, invoice_id) == ("billing", Decimal("90.00"))


@pytest.mark.parametrize("body,field", [
    (wallet(12.5), "amount"),                       # a JSON float
    (wallet("0"), "amount"),
    (wallet("1.001"), "amount"),                    # below the cent
    (wallet("5.00", method="bitcoin"), "method"),
    (wallet("5.00", direction="gift"), "direction"),
])
def test_bad_payments_are_refused_naming_the_field_and_change_nothing(billing_db, issue_invoice, body, field):
    invoice_id = issue_invoice(amount="100.00")
    with pytest.raises(ValidationFailed) as refused:
        pay(invoice_id, body)
    assert field in refused.value.fields
    assert invoice_state(billing_db, invoice_id) == ("billing", Decimal("100.00"))
    assert billing_db.payments.count_documents({}) == 0


def test_a_payment_on_a_closed_invoice_is_refused_and_changes_nothing(billing_db, issue_invoice):
    invoice_id = issue_invoice(amount="10.00")
    pay(invoice_id, wallet("10.00"))
    with pytest.raises(Conflict) as refused:
        pay(invoice_id, wallet("1.00"))
    assert "invoiceId" in refused.value.fields
    assert billing_db.payments.count_documents({}) == 1


def test_a_refund_above_what_was_paid_is_refused_and_changes_nothing(billing_db, issue_invoice):
    invoice_id = issue_invoice(amount="50.00")
    pay(invoice_id, wallet("20.00"))
    with pytest.raises(ValidationFailed) as refused:
        pay(invoice_id, wallet("20.01", direction="refund"))
    assert "amount" in refused.value.fields
    assert invoice_state(billing_db, invoice_id) == ("billing", Decimal("30.00"))


def test_a_payment_on_an_unknown_invoice_or_another_customers_is_not_found(billing_db, issue_invoice):
    with pytest.raises(NotFound):
        pay("no-such-invoice", wallet("5.00"))
    with pytest.raises(NotFound):
        pay(issue_invoice(customer_id=8), wallet("5.00"), customer_id=7)
    assert billing_db.payments.count_documents({}) == 0

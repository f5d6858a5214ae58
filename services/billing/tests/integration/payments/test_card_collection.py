"""The collection job charging card customers through the local payment provider (a real process)."""
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.adapters.payment_provider import HttpPaymentProvider
from billing.service_layer import charges, collection
from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, Unavailable, ValidationFailed

from .conftest import start_provider


def charged_invoices(provider):
    return sorted(c["description"] for c in provider.accepted())


def test_collection_charges_card_customers_due_invoices_and_closes_them(
        billing_db, issue_invoice, customer_paying, http_provider, payment_settings, provider, events):
    customer_paying(101, "creditCard", token="tok_visa_101")
    invoice_id = issue_invoice(customer_id=101, amount="42.00")
    issue_invoice(customer_id=999, amount="5.00")  # pays by invoice: not charged
    before = len(provider.accepted())
    report = collection.collect_card_payments(http_provider, payment_settings, utc_now())
    assert (report["invoices"], report["approved"]) == (1, 1)
    assert billing_db.invoices.find_one({"_id": invoice_id})["status"] == "closed"
    [charge] = provider.accepted()[before:]
    assert (charge["token"], charge["amount"], charge["idempotencyKey"]) == ("tok_visa_101", "42.00",
                                                                             f"{invoice_id}:1")
    [paid] = events("billing.invoice_paid")
    assert (paid["method"], paid["invoiceId"]) == ("card", invoice_id)
    again = collection.collect_card_payments(http_provider, payment_settings, utc_now())
    assert again["invoices"] == 0 and len(provider.accepted()) == before + 1


def test_a_declined_charge_announces_payment_failed_and_is_retried_per_the_schedule(
        billing_db, issue_invoice, customer_paying, http_provider, payment_settings, events):
    config = replace(payment_settings, retry_schedule=(timedelta(hours=1), timedelta(days=1)))
    customer_paying(102, "creditCard", token="tok_decline_102")
    invoice_id = issue_invoice(customer_id=102, amount="10.00")
    now = utc_now()
    assert collection.collect_card_payments(http_provider, config, now)["declined"] == 1
    [failed] = events("billing.payment_failed")
    assert (failed["method"], failed["reasonCode"], failed["attempt"]) == ("card", "card_declined", 1)
    assert failed["nextAttemptAt"] == (now + timedelta(hours=1)).isoformat()
    assert collection.collect_card_payments(http_provider, config, now + timedelta(minutes=30))["waiting"] == 1
    assert collection.collect_card_payments(http_provider, config, now + timedelta(hours=2))["declined"] == 1
    third = collection.collect_card_payments(http_provider, config, now + timedelta(days=3))
    assert third["declined"] == 1
    assert [e["attempt"] for e in events("billing.payment_failed")] == [1, 2, 3]
    assert events("billing.payment_failed")[-1]["nextAttemptAt"] is None
    assert collection.collect_card_payments(http_provider, config, now + timedelta(days=9))["retriesExhausted"] == 1
    assert billing_db.invoices.find_one({"_id": invoice_id})["status"] == "billing"


def test_a_provider_that_is_down_leaves_the_invoice_due_and_is_asked_again_with_the_same_key(
        billing_db, issue_invoice, customer_paying, payment_settings, tmp_path):
    customer_paying(103, "creditCard", token="tok_visa_103")
    invoice_id = issue_invoice(customer_id=103, amount="12.00")
    from chassis import localinfra
    port = localinfra.free_port()
    down = HttpPaymentProvider(f"http://127.0.0.1:{port}", 1.0)
    config = replace(payment_settings, provider_url=down.url)
    now = utc_now()
    assert collection.collect_card_payments(down, config, now)["unanswered"] == 1
    assert billing_db.invoices.find_one({"_id": invoice_id})["status"] == "billing"
    assert billing_db.payments.count_documents({}) == 0
    back = start_provider(tmp_path, port=port)
    try:
        assert collection.collect_card_payments(down, config, now + timedelta(minutes=1))["waiting"] == 1
        report = collection.collect_card_payments(down, config, now + timedelta(minutes=10))
        assert report["approved"] == 1
        assert [c["idempotencyKey"] for c in back.accepted()] == [f"{invoice_id}:1"]
    finally:
        back.stop()
    assert billing_db.invoices.find_one({"_id": invoice_id})["status"] == "closed"


def test_a_timed_out_charge_is_asked_again_with_its_key_and_taken_once(
        billing_db, issue_invoice, customer_paying, http_provider, payment_settings, provider):
    customer_paying(104, "creditCard", token="tok_slow_104")
    invoice_id = issue_invoice(customer_id=104, amount="7.00")
    now = utc_now()
    assert collection.collect_card_payments(http_provider, payment_settings, now)["unanswered"] == 1
    assert billing_db.invoices.find_one({"_id": invoice_id})["status"] == "billing"
    patient = HttpPaymentProvider(provider.url, 10.0)
    assert collection.collect_card_payments(patient, payment_settings, now + timedelta(minutes=10))["approved"] == 1
    assert [c["idempotencyKey"] for c in provider.accepted() if c["token"] == "tok_slow_104"] == [f"{invoice_id}:1"]
    assert billing_db.payments.count_documents({"invoice_id": invoice_id}) == 1


def test_self_care_pays_an_invoice_once_per_idempotency_key(
        billing_db, issue_invoice, http_provider, payment_settings, provider):
    invoice_id = issue_invoice(customer_id=105, amount="9.99")
    first = charges.pay_invoice(http_provider, payment_settings.retry_schedule, 105, invoice_id, "tok_visa_9",
                                "portal-key-0001")
    again = charges.pay_invoice(http_provider, payment_settings.retry_schedule, 105, invoice_id, "tok_visa_9",
                                "portal-key-0001")
    assert first == again and first["status"] == "approved"
    assert len([c for c in provider.accepted() if c["token"] == "tok_visa_9"]) == 1
    assert billing_db.invoices.find_one({"_id": invoice_id})["status"] == "closed"
    with pytest.raises(Conflict):
        charges.pay_invoice(http_provider, payment_settings.retry_schedule, 105, invoice_id, "tok_visa_9",
                            "portal-key-0002")


def test_self_care_cannot_pay_another_customers_invoice(billing_db, issue_invoice, http_provider, payment_settings):
    invoice_id = issue_invoice(customer_id=106, amount="9.99")
    with pytest.raises(NotFound):
        charges.pay_invoice(http_provider, payment_settings.retry_schedule, 107, invoice_id, "tok_visa", "key-00000001")
    assert billing_db.charge_attempts.count_documents({}) == 0


def test_self_care_declines_are_answered_and_announced(billing_db, issue_invoice, http_provider, payment_settings,
                                                       events):
    invoice_id = issue_invoice(customer_id=108, amount="3.00")
    answer = charges.pay_invoice(http_provider, payment_settings.retry_schedule, 108, invoice_id,
                                 "tok_insufficient", "key-00000002")
    assert (answer["status"], answer["code"]) == ("declined", "insufficient_funds")
    assert events("billing.payment_failed")[0]["nextAttemptAt"] is None


def test_self_care_with_an_unreachable_provider_is_unavailable_and_charges_nothing(
        billing_db, issue_invoice, payment_settings):
    from chassis import localinfra
    invoice_id = issue_invoice(customer_id=109, amount="3.00")
    down = HttpPaymentProvider(f"http://127.0.0.1:{localinfra.free_port()}", 1.0)
    with pytest.raises(Unavailable):
        charges.pay_invoice(down, payment_settings.retry_schedule, 109, invoice_id, "tok_visa", "key-00000003")
    assert billing_db.invoices.find_one({"_id": invoice_id})["due_amount"].to_decimal() == Decimal("3.00")


def test_self_care_payment_input_is_checked_naming_the_field(billing_db, http_provider, payment_settings):
    with pytest.raises(ValidationFailed) as refused:
        charges.pay_invoice(http_provider, payment_settings.retry_schedule, 1, "inv", "", "short")
    assert {"token", "idempotencyKey"} <= set(refused.value.fields)

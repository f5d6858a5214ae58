"""Allocation of charges and refunds to an invoice, and the credit balance (pure domain)."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.domain.payments import (
    Direction,
    InvoiceBalance,
    InvoiceState,
    allocate,
    check_amount,
    credit_to_apply,
    next_attempt_at,
)
from chassis.errors import Conflict, ValidationFailed

D = Decimal


def invoice(due: str, paid: str = "0", amount: str = "100.00") -> InvoiceBalance:
    return InvoiceBalance(amount=D(amount), due=D(due), paid=D(paid), currency="EUR")


def test_paying_the_whole_due_amount_closes_the_invoice():
    result = allocate(invoice("100.00"), Direction.CHARGE, D("100.00"))
    assert (result.applied, result.due_after, result.to_credit, result.status) == (
        D("100.00"), D("0.00"), D("0"), InvoiceState.CLOSED)


def test_paying_less_than_due_leaves_the_rest_due_and_the_invoice_billing():
    result = allocate(invoice("100.00"), Direction.CHARGE, D("30.00"))
    assert (result.due_after, result.paid_after, result.status) == (D("70.00"), D("30.00"), InvoiceState.BILLING)


def test_paying_more_than_due_closes_the_invoice_and_the_rest_becomes_credit():
    result = allocate(invoice("40.00", paid="60.00"), Direction.CHARGE, D("50.00"))
    assert (result.applied, result.to_credit, result.due_after, result.closes) == (
        D("40.00"), D("10.00"), D("0.00"), True)


def test_paying_a_closed_invoice_is_refused_naming_the_invoice():
    with pytest.raises(Conflict) as refused:
        allocate(invoice("0", paid="100.00"), Direction.CHARGE, D("5.00"))
    assert "invoiceId" in refused.value.fields


def test_money_already_received_on_a_closed_invoice_all_becomes_credit():
    result = allocate(invoice("0", paid="100.00"), Direction.CHARGE, D("5.00"), received=True)
    assert (result.applied, result.to_credit, result.due_after) == (D("0"), D("5.00"), D("0"))


def test_a_refund_reopens_the_invoice_by_the_refunded_amount():
    result = allocate(invoice("0", paid="100.00"), Direction.REFUND, D("25.00"))
    assert (result.applied, result.due_after, result.paid_after, result.status) == (
        D("-25.00"), D("25.00"), D("75.00"), InvoiceState.BILLING)


def test_a_refund_above_what_was_paid_is_refused_naming_the_amount():
    with pytest.raises(ValidationFailed) as refused:
        allocate(invoice("70.00", paid="30.00"), Direction.REFUND, D("30.01"))
    assert "amount" in refused.value.fields


@pytest.mark.parametrize("amount", ["0", "-1.00", "10.001"])
def test_zero_negative_and_sub_cent_amounts_are_refused(amount):
    with pytest.raises(ValidationFailed) as refused:
        check_amount(D(amount), "EUR")
    assert "amount" in refused.value.fields


def test_credit_balance_covers_at_most_the_due_amount_of_the_next_invoice():
    assert credit_to_apply(D("10.00"), D("25.00")) == D("10.00")
    assert credit_to_apply(D("40.00"), D("25.00")) == D("25.00")
    assert credit_to_apply(D("0"), D("25.00")) == D("0")


def test_declined_charges_are_retried_per_the_schedule_then_no_more():
    failed_at = datetime(2026, 3, 1, tzinfo=UTC)
    schedule = (timedelta(days=1), timedelta(days=3))
    assert next_attempt_at(1, failed_at, schedule) == failed_at + timedelta(days=1)
    assert next_attempt_at(2, failed_at, schedule) == failed_at + timedelta(days=3)
    assert next_attempt_at(3, failed_at, schedule) is None

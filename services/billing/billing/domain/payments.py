"""Payments allocated to invoices, free of I/O (TMF676 names: payment, refund).

An invoice owes `due`; what was paid on it (`paid`) is the sum of the charges allocated
to it minus the refunds. A charge pays at most what is due; the rest becomes the
billing profile's credit balance. A refund gives back at most what was paid and
reopens the invoice by the refunded amount.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from chassis.errors import Conflict, ValidationFailed
from pricing import round_currency

ZERO = Decimal(0)


class Direction(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"


class PaymentMethod(StrEnum):
    """How money arrived. The first three are the seed's offline ("Wallet") methods."""

    CASH = "cash"
    CREDIT_CARD = "creditCard"
    TRANSFER = "transfer"
    CARD = "card"                      # charged through the payment provider (collection, self-care)
    SEPA = "sepa"                      # collected by SEPA direct debit
    CREDIT_BALANCE = "creditBalance"   # the profile's credit balance applied to a new invoice


OFFLINE_METHODS = (PaymentMethod.CASH, PaymentMethod.CREDIT_CARD, PaymentMethod.TRANSFER)


class InvoiceState(StrEnum):
    """The invoice statuses of the seed: billing (something is due) and closed (paid in full)."""

    BILLING = "billing"
    CLOSED = "closed"


@dataclass(frozen=True)
class InvoiceBalance:
    """What payments need to know of an invoice."""

    amount: Decimal
    due: Decimal
    paid: Decimal
    currency: str


@dataclass(frozen=True)
class Allocation:
    """The effect of one payment on one invoice."""

    applied: Decimal         # moved the invoice's due amount (negative for a refund)
    to_credit: Decimal       # the part of a charge that nothing was due for
    due_after: Decimal
    paid_after: Decimal

    @property
    def status(self) -> InvoiceState:
        return InvoiceState.CLOSED if self.due_after == ZERO else InvoiceState.BILLING

    @property
    def closes(self) -> bool:
        return self.status is InvoiceState.CLOSED


def check_amount(amount: Decimal, currency: str, field: str = "amount") -> Decimal:
    """A payment amount is positive and has no more decimals than the currency's minor unit."""
    if amount <= ZERO:
        raise ValidationFailed("a payment amount must be positive", {field: "must be greater than 0"})
    if round_currency(amount, currency) != amount:
        raise ValidationFailed(f"{currency} amounts have at most its minor-unit decimals",
                               {field: f"has more decimals than {currency} allows"})
    return amount


def allocate(invoice: InvoiceBalance, direction: Direction, amount: Decimal, *, received: bool = False) -> Allocation:
    """Apply a charge or a refund of `amount` to `invoice`.

    `received`: the money is already taken (a provider charge, a bank collection), so a charge on an
    invoice closed meanwhile is never refused: all of it becomes credit balance.
    """
    check_amount(amount, invoice.currency)
    if direction is Direction.CHARGE:
        if invoice.due == ZERO and not received:
            # Paying a closed invoice is most likely a mistake (the wrong invoice): refuse it rather
            # than silently turning the money into credit.
            raise Conflict("the invoice is closed: nothing is due on it", {"invoiceId": "invoice is closed"})
        applied = min(amount, invoice.due)
        return Allocation(applied=applied, to_credit=amount - applied, due_after=invoice.due - applied,
                          paid_after=invoice.paid + applied)
    if amount > invoice.paid:
        raise ValidationFailed(f"a refund cannot exceed what was paid on the invoice ({invoice.paid})",
                               {"amount": f"must not exceed {invoice.paid}, the amount paid on the invoice"})
    return Allocation(applied=-amount, to_credit=ZERO, due_after=invoice.due + amount,
                      paid_after=invoice.paid - amount)


def credit_to_apply(credit_balance: Decimal, due: Decimal) -> Decimal:
    """How much of a profile's credit balance a newly issued invoice consumes."""
    return max(ZERO, min(credit_balance, due))


def next_attempt_at(failed_attempts: int, failed_at: datetime, schedule: tuple[timedelta, ...]) -> datetime | None:
    """When to try a declined charge again: the schedule's n-th delay after the n-th failure; None when
    the schedule is used up (the invoice then waits for an operator or the customer)."""
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    return failed_at + schedule[failed_attempts - 1]

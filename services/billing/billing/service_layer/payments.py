"""Payments on invoices: offline ("Wallet") charges and refunds, the credit balance, and the one
allocation path every other way of paying (provider charges, SEPA results) goes through."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.adapters import invoice_ledger as ledger
from billing.adapters.documents import BillingProfile
from billing.adapters.payment_documents import Payment
from billing.domain.payments import ZERO, Allocation, Direction, PaymentMethod, allocate, credit_to_apply
from billing.payment_schemas import OfflinePaymentSchema, PaymentSchema
from chassis.clock import utc_now
from chassis.errors import NotFound, load_wire
from chassis.money import to_decimal, to_storage, to_wire
from chassis.mongo import UnitOfWork, get_or_not_found, transaction
from pricing import is_currency, round_currency

SOURCE = "billing"
_offline_in = OfflinePaymentSchema()
_payment_out = PaymentSchema()


def allocate_payment(uow: UnitOfWork, invoice: dict[str, Any], direction: Direction, amount: Decimal,
                     method: PaymentMethod, *, paid_at: datetime, payment_id: str | None = None,
                     provider: str | None = None, reference: str | None = None,
                     note: str | None = None, received: bool = False) -> Payment:
    """Allocate one charge or refund to `invoice` in the caller's transaction: the invoice's due
    amount and status, what was paid on it, the overpaid part to the profile's credit balance,
    and `billing.invoice_paid` / `billing.payment_refunded`."""
    paid = ledger.paid_on(uow, [invoice["_id"]]).get(invoice["_id"], ZERO)
    allocation = allocate(ledger.balance(invoice, paid), direction, amount, received=received)
    ledger.record(uow, invoice, allocation)
    payment = Payment(id=payment_id or str(uuid.uuid4()), invoice_id=invoice["_id"],
                      invoice_number=invoice.get(ledger.NUMBER), customer_id=invoice[ledger.CUSTOMER],
                      billing_profile_id=invoice[ledger.PROFILE], direction=direction, amount=amount,
                      applied=allocation.applied, to_credit=allocation.to_credit,
                      currency=invoice[ledger.CURRENCY], method=method, provider=provider, reference=reference,
                      note=note, paid_at=paid_at)
    uow.insert(payment)
    if allocation.to_credit > ZERO:
        add_credit(uow, invoice[ledger.PROFILE], allocation.to_credit)
    _announce(uow, invoice, payment, allocation)
    return payment


def _announce(uow: UnitOfWork, invoice: dict[str, Any], payment: Payment, allocation: Allocation) -> None:
    common = {"invoiceId": invoice["_id"], "number": invoice.get(ledger.NUMBER) or "",
              "customerId": payment.customer_id, "billingProfileId": payment.billing_profile_id,
              "paymentId": payment.id, "currency": payment.currency}
    if payment.direction is Direction.REFUND:
        uow.publish("billing.payment_refunded", {**common, "amount": to_wire(payment.amount),
                                                 "refundedAt": payment.paid_at.isoformat()}, subject=invoice["_id"])
    elif allocation.closes:
        uow.publish("billing.invoice_paid", {**common, "amount": to_wire(allocation.applied),
                                             "method": payment.method.value, "paidAt": payment.paid_at.isoformat()},
                    subject=invoice["_id"])


def add_credit(uow: UnitOfWork, profile_id: str, amount: Decimal) -> None:
    """Move the billing profile's credit balance (in the profile's monetary resource) by `amount`."""
    changed = uow.collection(BillingProfile).update_one(
        {"_id": profile_id}, {"$inc": {"credit_balance": to_storage(amount)}}, session=uow.session)
    if changed.matched_count == 0:
        raise NotFound(f"billing profile {profile_id} does not exist", {"billingProfileId": "no such profile"})


def record_offline_payment(customer_id: int, invoice_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The seed's "Wallet": a charge or refund received through another channel."""
    data = load_wire(_offline_in, payload)
    payment_id = str(data["id"] or uuid.uuid4())

    def store(uow: UnitOfWork) -> dict[str, Any]:
        existing = uow.find_one(Payment, {"_id": payment_id, "customer_id": customer_id})
        if existing is not None:  # a retried request with the same id: the first answer
            return _payment_out.dump(existing)
        invoice = ledger.get_invoice(uow, invoice_id, customer_id)
        payment = allocate_payment(uow, invoice, data["direction"], data["amount"], data["method"],
                                   paid_at=data["paid_at"] or utc_now(), payment_id=payment_id,
                                   provider=data["provider"], reference=data["reference"], note=data["note"])
        return _payment_out.dump(payment)

    return transaction(store, source=SOURCE)


def list_payments(customer_id: int, invoice_id: str) -> list[dict[str, Any]]:
    if not Payment.objects(invoice_id=invoice_id).count():
        transaction(lambda uow: ledger.get_invoice(uow, invoice_id, customer_id), source=SOURCE)  # 404 if not theirs
    return [_payment_out.dump(p) for p in Payment.objects(invoice_id=invoice_id, customer_id=customer_id)
            .order_by("created_at")]


def get_credit_balance(profile_id: str) -> dict[str, Any]:
    profile = get_or_not_found(BillingProfile, profile_id, "billing profile")
    amount = to_decimal(profile.credit_balance or 0)
    if is_currency(profile.resource):
        amount = round_currency(amount, profile.resource)
    return {"billingProfileId": profile_id, "amount": to_wire(amount), "currency": profile.resource}


def apply_credit_balance(uow: UnitOfWork, invoice: dict[str, Any]) -> Payment | None:
    """Consume the profile's credit balance on a newly issued invoice, in the issuing transaction
    (as a payment of method creditBalance)."""
    profile = uow.collection(BillingProfile).find_one({"_id": invoice[ledger.PROFILE]}, {"credit_balance": 1},
                                                      session=uow.session)
    credit = to_decimal((profile or {}).get("credit_balance") or 0)
    amount = credit_to_apply(credit, to_decimal(invoice[ledger.DUE]))
    if amount == ZERO:
        return None
    add_credit(uow, invoice[ledger.PROFILE], -amount)
    return allocate_payment(uow, dict(invoice), Direction.CHARGE, amount, PaymentMethod.CREDIT_BALANCE,
                            paid_at=invoice.get("issued_at") or utc_now(),
                            reference=f"credit balance of profile {invoice[ledger.PROFILE]}")

"""Payments on invoices: offline ("Wallet") charges and refunds, the credit balance, and the one
allocation path every other way of paying (provider charges, SEPA results) goes through."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.adapters import invoice_ledger as ledger
from billing.adapters.payment_documents import CreditBalance, Payment
from billing.domain.payments import ZERO, Allocation, Direction, PaymentMethod, allocate, credit_to_apply
from billing.payment_schemas import OfflinePaymentSchema, PaymentSchema
from chassis.clock import utc_now
from chassis.envelope import CloudEvent
from chassis.errors import NotFound, ValidationFailed, load_wire
from chassis.idempotency import apply_once
from chassis.money import to_decimal, to_storage, to_wire
from chassis.mongo import UnitOfWork, transaction

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
        add_credit(uow, invoice[ledger.PROFILE], invoice[ledger.CUSTOMER], invoice[ledger.CURRENCY],
                   allocation.to_credit)
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


def add_credit(uow: UnitOfWork, profile_id: str, customer_id: int, currency: str, amount: Decimal) -> None:
    existing = uow.find_one(CreditBalance, {"_id": profile_id})
    if existing is not None and existing.currency != currency:
        raise ValidationFailed(f"the profile's credit balance is in {existing.currency}, not {currency}",
                               {"currency": f"must be {existing.currency}"})
    total = (to_decimal(existing.amount) if existing else ZERO) + amount
    uow.collection(CreditBalance).update_one(
        {"_id": profile_id},
        {"$set": {"customer_id": customer_id, "currency": currency, "amount": to_storage(total),
                  "updated_at": utc_now()}},
        upsert=True, session=uow.session)


def record_offline_payment(invoice_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The seed's "Wallet": a charge or refund received through another channel."""
    data = load_wire(_offline_in, payload)
    payment_id = str(data["id"] or uuid.uuid4())

    def store(uow: UnitOfWork) -> dict[str, Any]:
        existing = uow.find_one(Payment, {"_id": payment_id})
        if existing is not None:  # a retried request with the same id: the first answer
            return _payment_out.dump(existing)
        invoice = ledger.get_invoice(uow, invoice_id)
        payment = allocate_payment(uow, invoice, data["direction"], data["amount"], data["method"],
                                   paid_at=data["paid_at"] or utc_now(), payment_id=payment_id,
                                   provider=data["provider"], reference=data["reference"], note=data["note"])
        return _payment_out.dump(payment)

    return transaction(store, source=SOURCE)


def list_payments(invoice_id: str) -> list[dict[str, Any]]:
    return [_payment_out.dump(p) for p in Payment.objects(invoice_id=invoice_id).order_by("created_at")]


def get_credit_balance(profile_id: str) -> dict[str, Any]:
    credit = CreditBalance.objects(id=profile_id).first()
    if credit is None:
        return {"billingProfileId": profile_id, "amount": "0", "currency": None}
    return {"billingProfileId": profile_id, "amount": to_wire(to_decimal(credit.amount)), "currency": credit.currency,
            "updatedAt": credit.updated_at.isoformat()}


def apply_credit_balance(uow: UnitOfWork, invoice_id: str) -> Payment | None:
    """Consume the profile's credit balance on a newly issued invoice (as a payment of method
    creditBalance). Called when `billing.invoice_issued` arrives."""
    try:
        invoice = ledger.get_invoice(uow, invoice_id)
    except NotFound:
        return None  # purged meanwhile
    credit = uow.find_one(CreditBalance, {"_id": invoice[ledger.PROFILE]})
    if credit is None or credit.currency != invoice[ledger.CURRENCY]:
        return None
    amount = credit_to_apply(to_decimal(credit.amount), to_decimal(invoice[ledger.DUE]))
    if amount == ZERO:
        return None
    uow.collection(CreditBalance).update_one(
        {"_id": credit.id}, {"$set": {"amount": to_storage(to_decimal(credit.amount) - amount),
                                      "updated_at": utc_now()}}, session=uow.session)
    return allocate_payment(uow, invoice, Direction.CHARGE, amount, PaymentMethod.CREDIT_BALANCE, paid_at=utc_now(),
                            reference=f"credit balance of profile {credit.id}")


def on_invoice_issued(consumer: str, event: CloudEvent) -> bool:
    return apply_once(consumer, event, lambda uow: apply_credit_balance(uow, event.data["invoiceId"]) and None)

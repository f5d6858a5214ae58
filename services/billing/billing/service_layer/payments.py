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


class PaymentBatch:
    """Payments allocated in one transaction: the invoices' due amounts and statuses, what was paid on
    them, the overpaid parts to the profiles' credit balances, and `billing.invoice_paid` /
    `billing.payment_refunded` — written with one bulk write per collection by `flush`."""

    def __init__(self, uow: UnitOfWork, invoice_ids: list[str]):
        self.uow = uow
        self.paid = ledger.paid_on(uow, invoice_ids)
        self.ledger = ledger.LedgerWrites()
        self.payments: list[dict[str, Any]] = []
        self.credits: dict[str, Decimal] = {}
        self.events: list[tuple[str, dict[str, Any], str | None]] = []

    def add(self, invoice: dict[str, Any], direction: Direction, amount: Decimal, method: PaymentMethod, *,
            paid_at: datetime, payment_id: str | None = None, provider: str | None = None,
            reference: str | None = None, note: str | None = None, received: bool = False) -> dict[str, Any]:
        """Allocate one payment; returns the stored payment document (as `Payment` stores it)."""
        allocation = allocate(ledger.balance(invoice, self.paid.get(invoice["_id"], ZERO)), direction, amount,
                              received=received)
        self.paid[invoice["_id"]] = allocation.paid_after
        self.ledger.record(invoice, allocation)
        # Built as the document mongoengine would store: thousands per bank file, so no per-object validation
        # (the amounts are checked by `allocate`, the free texts by the wire schema).
        payment = {"_id": payment_id or str(uuid.uuid4()), "invoice_id": invoice["_id"],
                   "invoice_number": invoice.get(ledger.NUMBER), "customer_id": invoice[ledger.CUSTOMER],
                   "billing_profile_id": invoice[ledger.PROFILE], "direction": direction.value,
                   "amount": to_storage(amount), "applied": to_storage(allocation.applied),
                   "to_credit": to_storage(allocation.to_credit), "currency": invoice[ledger.CURRENCY],
                   "method": method.value, "provider": provider, "reference": reference, "note": note,
                   "paid_at": paid_at, "created_at": utc_now()}
        self.payments.append({k: v for k, v in payment.items() if v is not None})
        if allocation.to_credit > ZERO:
            profile = invoice[ledger.PROFILE]
            self.credits[profile] = self.credits.get(profile, ZERO) + allocation.to_credit
        self._announce(invoice, payment, allocation)
        return payment

    def _announce(self, invoice: dict[str, Any], payment: dict[str, Any], allocation: Allocation) -> None:
        common = {"invoiceId": invoice["_id"], "number": invoice.get(ledger.NUMBER) or "",
                  "customerId": payment["customer_id"], "billingProfileId": payment["billing_profile_id"],
                  "paymentId": payment["_id"], "currency": payment["currency"]}
        if payment["direction"] == Direction.REFUND.value:
            self.events.append(("billing.payment_refunded", {
                **common, "amount": to_wire(to_decimal(payment["amount"])),
                "refundedAt": payment["paid_at"].isoformat()}, invoice["_id"]))
        elif allocation.closes:
            self.events.append(("billing.invoice_paid", {
                **common, "amount": to_wire(allocation.applied), "method": payment["method"],
                "paidAt": payment["paid_at"].isoformat()}, invoice["_id"]))

    def flush(self) -> None:
        self.ledger.flush(self.uow)
        if self.payments:
            self.uow.collection(Payment).insert_many(self.payments, session=self.uow.session)
        for profile, amount in self.credits.items():
            add_credit(self.uow, profile, amount)
        self.uow.publish_many(self.events)
        self.payments, self.credits, self.events = [], {}, []


def allocate_payment(uow: UnitOfWork, invoice: dict[str, Any], direction: Direction, amount: Decimal,
                     method: PaymentMethod, **details: Any) -> Payment:
    """Allocate one charge or refund to `invoice` in the caller's transaction (see PaymentBatch)."""
    batch = PaymentBatch(uow, [invoice["_id"]])
    payment = batch.add(invoice, direction, amount, method, **details)
    batch.flush()
    return Payment._from_son(payment)


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

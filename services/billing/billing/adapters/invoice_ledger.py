"""The one place payments read and change billing's invoices (the seam with bills and invoices).

Payments change only an invoice's due amount and its status (billing <-> closed), inside the
caller's transaction; everything else on an issued invoice is frozen.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.adapters.documents import Bill
from billing.adapters.payment_documents import InvoicePaid
from billing.domain.bills import BillStatus
from billing.domain.payments import ZERO, Allocation, InvoiceBalance, InvoiceState
from chassis.errors import NotFound
from chassis.money import to_decimal, to_storage
from chassis.mongo import UnitOfWork

INVOICES = "invoices"
# Field names of billing's invoice documents.
AMOUNT, DUE, STATUS, CURRENCY = "total", "due_amount", "status", "currency"
NUMBER, CUSTOMER, PROFILE = "number", "customer_id", "billing_profile_id"


def get_invoice(uow: UnitOfWork, invoice_id: str, customer_id: int | None = None) -> dict[str, Any]:
    """The raw invoice; NotFound also when it belongs to another customer (the portal asks with its own)."""
    raw = uow.collection(INVOICES).find_one({"_id": invoice_id}, session=uow.session)
    if raw is None or (customer_id is not None and raw[CUSTOMER] != customer_id):
        raise NotFound(f"invoice {invoice_id} does not exist", {"invoiceId": "no such invoice"})
    return raw


def paid_on(uow: UnitOfWork, invoice_ids: list[str]) -> dict[str, Decimal]:
    found = uow.collection(InvoicePaid).find({"_id": {"$in": invoice_ids}}, session=uow.session)
    return {doc["_id"]: to_decimal(doc["paid"]) for doc in found}


def balance(raw: dict[str, Any], paid: Decimal) -> InvoiceBalance:
    return InvoiceBalance(amount=to_decimal(raw[AMOUNT]), due=to_decimal(raw[DUE]), paid=paid,
                          currency=raw[CURRENCY])


def record(uow: UnitOfWork, raw: dict[str, Any], allocation: Allocation) -> None:
    """Write an allocation: the invoice's due amount and status, and what was paid on it."""
    state = InvoiceState.CLOSED if allocation.due_after == ZERO else InvoiceState.BILLING
    uow.collection(INVOICES).update_one(
        {"_id": raw["_id"]}, {"$set": {DUE: to_storage(allocation.due_after), STATUS: state.value}},
        session=uow.session)
    uow.collection(InvoicePaid).update_one({"_id": raw["_id"]}, {"$set": {"paid": to_storage(allocation.paid_after)}},
                                           upsert=True, session=uow.session)
    raw[DUE], raw[STATUS] = to_storage(allocation.due_after), state.value
    _follow_bill(uow, raw, state)


def _follow_bill(uow: UnitOfWork, raw: dict[str, Any], state: InvoiceState) -> None:
    """The seed's bill statuses mirror payment: billing while something is due, closed when paid in
    full. A refund that reopens the invoice puts its bill back to billing (money is owed again)."""
    if raw.get("bill_id") is None or raw.get("kind", "invoice") != "invoice":
        return
    target, source = ((BillStatus.CLOSED, BillStatus.BILLING) if state is InvoiceState.CLOSED
                      else (BillStatus.BILLING, BillStatus.CLOSED))
    uow.collection(Bill).update_one({"_id": raw["bill_id"], "invoice_id": raw["_id"], "status": source.value},
                                    {"$set": {"status": target.value}}, session=uow.session)


def due_invoices(uow: UnitOfWork | None, db: Any, query: dict[str, Any], limit: int = 0) -> list[dict[str, Any]]:
    """Invoices with something due (status billing), oldest first."""
    collection = db[INVOICES]
    cursor = collection.find({STATUS: InvoiceState.BILLING.value, DUE: {"$gt": to_storage(ZERO)}, **query},
                             session=uow.session if uow else None).sort([("_id", 1)])
    return list(cursor.limit(limit) if limit else cursor)

"""Charging an invoice through the payment provider (collection job and self-care).

The order makes double charges impossible: (1) an attempt with a fixed idempotency key is stored;
(2) the provider is asked with that key; (3) its answer is stored on the attempt; (4) the answer is
applied to the invoice in one transaction with its events. A crash or a timeout anywhere repeats
from the stored attempt with the same key, and the provider answers the first answer again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from billing.adapters import invoice_ledger as ledger
from billing.adapters.payment_documents import ChargeAttempt
from billing.adapters.payment_provider import ChargeOutcome, ChargeResult, PaymentProvider, ProviderUnavailable
from billing.domain.payments import ZERO, Direction, PaymentMethod, next_attempt_at
from billing.payment_schemas import PayInvoiceSchema
from billing.service_layer.payments import allocate_payment
from chassis.clock import utc_now
from chassis.errors import Conflict, Unavailable, load_wire
from chassis.money import to_decimal, to_wire
from chassis.mongo import UnitOfWork, transaction

SOURCE = "billing"
OPEN_STATES = ("pending", "unanswered")
# An unanswered attempt is asked again this soon (same key), whatever the decline schedule says.
UNANSWERED_RETRY = timedelta(minutes=5)


@dataclass(frozen=True)
class ChargeRequest:
    invoice_id: str
    token: str
    source: str                    # collection or selfcare
    as_of: datetime
    retry_schedule: tuple[timedelta, ...]
    key: str | None = None         # chosen by the caller (self-care); else one per invoice attempt
    customer_id: int | None = None


def begin_attempt(request: ChargeRequest) -> ChargeAttempt | None:
    """The attempt to send: an open one (to repeat with its key) or a new one; None if nothing is due."""

    def begin(uow: UnitOfWork) -> ChargeAttempt | None:
        if request.key is not None:
            existing = uow.find_one(ChargeAttempt, {"_id": request.key})
            if existing is not None:
                if existing.invoice_id != request.invoice_id:
                    raise Conflict("this idempotency key was used to pay another invoice",
                                   {"idempotencyKey": "already used for another invoice"})
                return existing
        invoice = ledger.get_invoice(uow, request.invoice_id, request.customer_id)
        open_attempt = uow.find_one(ChargeAttempt, {"invoice_id": request.invoice_id, "state": {"$in": OPEN_STATES}})
        if open_attempt is not None:
            return open_attempt
        due = to_decimal(invoice[ledger.DUE])
        if due <= ZERO:
            return None
        number = uow.collection(ChargeAttempt).count_documents({"invoice_id": request.invoice_id},
                                                              session=uow.session) + 1
        attempt = ChargeAttempt(id=request.key or f"{request.invoice_id}:{number}", invoice_id=request.invoice_id,
                                attempt=number, source=request.source, amount=due,
                                currency=invoice[ledger.CURRENCY], token=request.token, state="pending",
                                created_at=request.as_of)
        uow.insert(attempt)
        return attempt

    try:
        return transaction(begin, source=SOURCE)
    except DuplicateKeyError:
        # Two runs (a redelivered request, an operator and the CronJob) began the same attempt: one wins,
        # the other sends the winner's attempt with its key, which the provider answers once.
        return ChargeAttempt.objects(invoice_id=request.invoice_id, state__in=OPEN_STATES).first()


def send(provider: PaymentProvider, attempt: ChargeAttempt) -> ChargeResult | None:
    """Ask the provider; store its answer on the attempt before anything else changes.
    None when there was no answer (the attempt is marked unanswered and retried with the same key)."""
    try:
        result = provider.charge(attempt.id, attempt.token, to_decimal(attempt.amount), attempt.currency,
                                 f"invoice {attempt.invoice_id}")
    except ProviderUnavailable as exc:
        ChargeAttempt.objects(id=attempt.id, state__in=OPEN_STATES).update_one(
            set__state="unanswered", set__message=str(exc)[:500], set__next_attempt_at=utc_now() + UNANSWERED_RETRY)
        return None
    ChargeAttempt.objects(id=attempt.id, state__in=OPEN_STATES).update_one(
        set__state=result.outcome.value, set__provider_reference=result.reference, set__code=result.code,
        set__message=result.message, set__answered_at=utc_now())
    return result


def apply_answer(attempt_id: str, request: ChargeRequest) -> ChargeAttempt:
    """Apply a stored answer to the invoice, once: a payment (approved) or `billing.payment_failed`."""
    return transaction(lambda uow: apply_answer_in(uow, attempt_id, request), source=SOURCE)


def apply_answer_in(uow: UnitOfWork, attempt_id: str, request: ChargeRequest) -> ChargeAttempt:
    """`apply_answer` in the caller's transaction (the collection job's step)."""
    attempt = uow.find_one(ChargeAttempt, {"_id": attempt_id})
    if attempt.applied or attempt.state in OPEN_STATES:
        return attempt
    invoice = ledger.get_invoice(uow, attempt.invoice_id)
    changes: dict[str, Any] = {"applied": True}
    if attempt.state == ChargeOutcome.APPROVED.value:
        allocate_payment(uow, invoice, Direction.CHARGE, to_decimal(attempt.amount), PaymentMethod.CARD,
                         paid_at=attempt.answered_at or request.as_of, payment_id=f"pay-{attempt.id}",
                         provider="provider", reference=attempt.provider_reference, received=True)
    else:
        failures = uow.collection(ChargeAttempt).count_documents(
            {"invoice_id": attempt.invoice_id, "state": ChargeOutcome.DECLINED.value}, session=uow.session)
        retry_at = (next_attempt_at(failures, request.as_of, request.retry_schedule)
                    if attempt.source == "collection" else None)
        changes["next_attempt_at"] = retry_at
        uow.publish("billing.payment_failed", {
            "invoiceId": invoice["_id"], "number": invoice.get(ledger.NUMBER) or "",
            "customerId": invoice[ledger.CUSTOMER], "billingProfileId": invoice[ledger.PROFILE],
            "amount": to_wire(to_decimal(attempt.amount)), "currency": attempt.currency, "method": "card",
            "reason": attempt.message or "declined", "reasonCode": attempt.code or "declined",
            "attempt": attempt.attempt, "nextAttemptAt": retry_at.isoformat() if retry_at else None,
            "failedAt": (attempt.answered_at or request.as_of).isoformat()}, subject=invoice["_id"])
    uow.collection(ChargeAttempt).update_one({"_id": attempt.id}, {"$set": changes}, session=uow.session)
    return uow.find_one(ChargeAttempt, {"_id": attempt.id})


def charge_invoice(provider: PaymentProvider, request: ChargeRequest) -> ChargeAttempt | None:
    """One pass of steps 1-4 for one invoice; None when nothing was due."""
    attempt = begin_attempt(request)
    if attempt is None:
        return None
    if attempt.state in OPEN_STATES and send(provider, attempt) is None:
        return ChargeAttempt.objects(id=attempt.id).first()
    return apply_answer(attempt.id, request)


def attempt_out(attempt: ChargeAttempt) -> dict[str, Any]:
    return {"invoiceId": attempt.invoice_id, "attempt": attempt.attempt, "status": attempt.state,
            "amount": to_wire(to_decimal(attempt.amount)), "currency": attempt.currency,
            "providerReference": attempt.provider_reference, "code": attempt.code, "message": attempt.message,
            "paymentId": f"pay-{attempt.id}" if attempt.state == "approved" else None,
            "nextAttemptAt": attempt.next_attempt_at.isoformat() if attempt.next_attempt_at else None}


def pay_invoice(provider: PaymentProvider, retry_schedule: tuple[timedelta, ...], customer_id: Any, invoice_id: Any,
                token: Any, idempotency_key: Any) -> dict[str, Any]:
    """The self-care portal pays one of the customer's invoices with a provider token. Retrying with the
    same idempotency key returns the first answer and never charges twice."""
    data = load_wire(PayInvoiceSchema(), {"customerId": customer_id, "invoiceId": invoice_id, "token": token,
                                          "idempotencyKey": idempotency_key})
    attempt = charge_invoice(provider, ChargeRequest(
        data["invoice_id"], data["token"], "selfcare", utc_now(), retry_schedule,
        key=f"selfcare:{data['customer_id']}:{data['idempotency_key']}", customer_id=data["customer_id"]))
    if attempt is None:
        raise Conflict("the invoice is closed: nothing is due on it", {"invoiceId": "invoice is closed"})
    if attempt.state in OPEN_STATES:
        raise Unavailable("the payment provider did not answer; retry with the same idempotencyKey")
    return attempt_out(attempt)

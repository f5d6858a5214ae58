"""The payment collection job: charge the due invoices of card customers through the provider.

Direct-debit customers' invoices are collected by the SEPA export (`sepa_export`). Safe to run
again at any time and after a crash: answered attempts are applied first, open attempts are
repeated with their own idempotency key, and declined invoices wait for their retry time.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from billing.adapters import invoice_ledger as ledger
from billing.adapters.payment_documents import ChargeAttempt, PaymentInstrument, SepaTransaction
from billing.adapters.payment_provider import PaymentProvider
from billing.config import PaymentSettings
from billing.service_layer.charges import OPEN_STATES, ChargeRequest, apply_answer, charge_invoice
from billing.service_layer.sepa_export import IN_COLLECTION
from chassis.mongo import database

Progress = Callable[[int, int], None]


def _waiting(attempt: dict[str, Any] | None, as_of: datetime) -> str | None:
    """Why an invoice is not charged now, judged by its latest attempt; None to charge it."""
    if attempt is None:
        return None
    retry_at = attempt.get("next_attempt_at")
    if attempt["state"] in OPEN_STATES:
        return None if retry_at is None or retry_at <= as_of else "waiting"
    if attempt["state"] == "declined":
        if retry_at is None:
            return "retries exhausted"
        return None if retry_at <= as_of else "waiting"
    return None  # approved earlier, yet something is due again (e.g. after a refund)


def collect_card_payments(provider: PaymentProvider, settings: PaymentSettings, as_of: datetime,
                          progress: Progress | None = None) -> dict[str, Any]:
    db = database()
    # A crash between storing an answer and applying it leaves answered, unapplied attempts: finish them.
    for stale in ChargeAttempt.objects(applied=False, state__in=["approved", "declined"]).only("id", "source"):
        apply_answer(stale.id, ChargeRequest(stale.id, "", stale.source, as_of, settings.retry_schedule))
    tokens = {doc["_id"]: doc["token"] for doc in db[PaymentInstrument._get_collection_name()].find(
        {"method": "creditCard", "token": {"$nin": [None, ""]}}, {"token": 1})}
    in_collection = {doc["invoice_id"] for doc in db[SepaTransaction._get_collection_name()].find(
        {"status": IN_COLLECTION}, {"invoice_id": 1})}
    invoices = [raw for raw in ledger.due_invoices(None, db, {ledger.CUSTOMER: {"$in": list(tokens)}})
                if raw["_id"] not in in_collection]
    latest: dict[str, dict[str, Any]] = {}
    for attempt in db[ChargeAttempt._get_collection_name()].find(
            {"invoice_id": {"$in": [raw["_id"] for raw in invoices]}}).sort("attempt", 1):
        latest[attempt["invoice_id"]] = attempt
    counts: Counter[str] = Counter()
    for done, raw in enumerate(invoices, start=1):
        reason = _waiting(latest.get(raw["_id"]), as_of)
        if reason is not None:
            counts[reason] += 1
        else:
            attempt = charge_invoice(provider, ChargeRequest(raw["_id"], tokens[raw[ledger.CUSTOMER]], "collection",
                                                             as_of, settings.retry_schedule))
            counts[attempt.state if attempt else "nothing due"] += 1
        if progress:
            progress(done, len(invoices))
    return {"asOf": as_of.isoformat(), "invoices": len(invoices), "approved": counts["approved"],
            "declined": counts["declined"], "unanswered": counts["unanswered"] + counts["pending"],
            "waiting": counts["waiting"], "retriesExhausted": counts["retries exhausted"]}

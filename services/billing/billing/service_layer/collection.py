"""The payment collection job: charge the due invoices of card customers through the provider.

A resumable job (chassis.jobs, kind `collect-payments`) with one step per invoice (keyed by invoice
id): progress is the invoices looked at, `outcomes` what became of them (approved, declined,
unanswered, waiting, retries_exhausted). The charge itself keeps its own order (`charges`): the attempt
with its idempotency key is stored, the provider asked, its answer stored, and only then does the step
apply the answer to the invoice, in one transaction with the step's record. So a worker killed anywhere
in a step leaves either a done step or an attempt its successor finishes: an open attempt is sent again
with the same key (the provider answers the first answer again), an answered one is applied. Nothing is
charged twice; declined invoices wait for their retry time.

Direct-debit customers' invoices are collected by the SEPA export (`sepa_export`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.adapters import invoice_ledger as ledger
from billing.adapters.payment_documents import ChargeAttempt, PaymentInstrument, SepaTransaction
from billing.adapters.payment_provider import PaymentProvider
from billing.config import PaymentSettings
from billing.service_layer.charges import OPEN_STATES, ChargeRequest, apply_answer, apply_answer_in, begin_attempt, send
from billing.service_layer.jobs import COLLECT_PAYMENTS, SERVICE, as_of_param, report_of, store
from billing.service_layer.sepa_export import IN_COLLECTION
from chassis.jobs import JobRun, JobStore, Steps, run_job
from chassis.mongo import UnitOfWork, database


def _waiting(attempt: ChargeAttempt | None, as_of: datetime) -> str | None:
    """Why an invoice is not charged now, judged by its latest attempt; None to charge it."""
    if attempt is None:
        return None
    retry_at = attempt.next_attempt_at
    if attempt.state in OPEN_STATES:
        return None if retry_at is None or retry_at <= as_of else "waiting"
    if attempt.state == "declined":
        if retry_at is None:
            return "retries_exhausted"
        return None if retry_at <= as_of else "waiting"
    return None  # approved earlier, yet something is due again (e.g. after a refund)


def collect_card_payments(provider: PaymentProvider, settings: PaymentSettings, as_of: datetime,
                          jobs: JobStore | None = None) -> dict[str, Any]:
    """Run a new collection job as of `as_of` to its end and report what it did (with its `jobId`)."""
    job = run_job(SERVICE, COLLECT_PAYMENTS, {"asOf": as_of.isoformat()}, collection_steps(provider, settings),
                  store=jobs or store())
    return report_of(job)


def start_collection(as_of: datetime, jobs: JobStore) -> dict[str, Any]:
    """Queue a collection job for the worker (`Prefer: respond-async`); the caller watches the job."""
    return jobs.create(COLLECT_PAYMENTS, {"asOf": as_of.isoformat()})


def collection_steps(provider: PaymentProvider, settings: PaymentSettings) -> Steps:
    def steps(run: JobRun) -> dict[str, Any]:
        as_of = as_of_param(run.params)
        done = run.done_keys()
        tokens, invoices = _card_invoices()
        todo = [raw for raw in invoices if raw["_id"] not in done]
        _apply_stale_answers(as_of, settings, skip={raw["_id"] for raw in invoices})
        run.set_total(run.progress["processed"] + len(todo))
        for raw in todo:
            _collect(run, provider, ChargeRequest(raw["_id"], tokens[raw[ledger.CUSTOMER]], "collection", as_of,
                                                  settings.retry_schedule))
        return collection_report(run.store.get(run.id))

    return steps


def _card_invoices() -> tuple[dict[int, str], list[dict[str, Any]]]:
    """Card customers' tokens and their due invoices that are not in a SEPA file awaiting the bank."""
    db = database()
    tokens = {doc["_id"]: doc["token"] for doc in db[PaymentInstrument._get_collection_name()].find(
        {"method": "creditCard", "token": {"$nin": [None, ""]}}, {"token": 1})}
    in_collection = {doc["invoice_id"] for doc in db[SepaTransaction._get_collection_name()].find(
        {"status": IN_COLLECTION}, {"invoice_id": 1})}
    invoices = [raw for raw in ledger.due_invoices(None, db, {ledger.CUSTOMER: {"$in": list(tokens)}})
                if raw["_id"] not in in_collection]
    return tokens, invoices


def _apply_stale_answers(as_of: datetime, settings: PaymentSettings, skip: set[str]) -> None:
    """A crash between storing an answer and applying it (self-care pays outside any job) leaves answered,
    unapplied attempts: apply them. The invoices of this run apply theirs in their own steps."""
    for stale in ChargeAttempt.objects(applied=False, state__in=["approved", "declined"]).only(
            "id", "source", "invoice_id"):
        if stale.invoice_id not in skip:
            apply_answer(stale.id, ChargeRequest(stale.id, "", stale.source, as_of, settings.retry_schedule))


def _collect(run: JobRun, provider: PaymentProvider, request: ChargeRequest) -> None:
    """One invoice's step (see the module docstring)."""
    key = request.invoice_id
    latest = ChargeAttempt.objects(invoice_id=key).order_by("-attempt").first()
    if latest is not None and latest.state not in OPEN_STATES and not latest.applied:
        _apply_in_step(run, latest.id, request)  # answered before a crash, never applied
        return
    waiting = _waiting(latest, request.as_of)
    if waiting is not None:
        run.step(key, lambda uow: {"status": waiting}, outcome=_status)
        return
    attempt = begin_attempt(request)
    if attempt is None:
        run.step(key, lambda uow: {"status": "nothing_due"}, outcome=_status)
        return
    if attempt.state in OPEN_STATES and send(provider, attempt) is None:
        run.step(key, lambda uow: {"status": "unanswered", "attempt": attempt.id}, outcome=_status)
        return
    _apply_in_step(run, attempt.id, request)


def _apply_in_step(run: JobRun, attempt_id: str, request: ChargeRequest) -> None:
    def apply(uow: UnitOfWork) -> dict[str, Any]:
        applied = apply_answer_in(uow, attempt_id, request)
        return {"status": applied.state, "attempt": applied.id}

    run.step(request.invoice_id, apply, outcome=_status)


def _status(result: dict[str, Any]) -> str:
    return "unanswered" if result["status"] == "pending" else result["status"]


def collection_report(job: dict[str, Any]) -> dict[str, Any]:
    """The collection report (contracts: CollectionReport) from the job's counts: exact after a crash."""
    outcomes = job.get("outcomes") or {}
    return {"asOf": job["params"]["asOf"], "invoices": job["progress"]["total"] or 0,
            "approved": outcomes.get("approved", 0), "declined": outcomes.get("declined", 0),
            "unanswered": outcomes.get("unanswered", 0), "waiting": outcomes.get("waiting", 0),
            "retriesExhausted": outcomes.get("retries_exhausted", 0), "failed": job["progress"]["failed"]}

"""Bank results in: camt.054 and pain.002 files for exported direct debits.

Collected invoices are paid (method sepa, the bank's reference); returned or rejected ones go back
to due and `billing.payment_failed` names the reason code. Each transaction moves from
"in collection" once, so importing a file twice, or two files reporting the same result, changes
nothing the second time; the whole file's report is kept by content hash.

An import is a resumable job (chassis.jobs, kind `bank-import`, id `billing-bank-import-<sha256>`): a
file is checked whole first (malformed, another creditor's, a report on a file never exported: refused,
nothing kept), then stored, and its results applied in chunks, each chunk one transaction with its
steps (keyed by position and end-to-end id) and the job's counts. A worker that dies part-way leaves
the job to its successor, which reads the stored file and applies what is left; the same file sent
again while it runs is the same job.
"""
from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from billing.adapters import invoice_ledger as ledger
from billing.adapters.payment_documents import BankFileContent, BankImport, SepaFile, SepaMandateUse, SepaTransaction
from billing.config import PaymentSettings
from billing.domain.bank_results import BankFile, BankResult, Outcome, parse
from billing.domain.payments import ZERO, Direction, PaymentMethod, allocate
from billing.service_layer.jobs import BANK_IMPORT, SERVICE, as_of_param, report_of, store
from billing.service_layer.payments import PaymentBatch
from billing.service_layer.sepa_export import IN_COLLECTION
from chassis.clock import utc_now
from chassis.errors import NotFound, ValidationFailed
from chassis.jobs import FAILED, JobRun, JobStore, Steps, execute
from chassis.money import to_decimal, to_wire
from chassis.mongo import UnitOfWork, database

SOURCE = "billing"
CHUNK = 500
COMPLETED_STEP = "recorded"


def import_bank_file(content: bytes, settings: PaymentSettings, as_of: datetime,
                     jobs: JobStore | None = None) -> dict[str, Any]:
    """Import a bank file as a job run to its end; its report (`duplicate` when imported before)."""
    previous = BankImport.objects(id=_digest(content)).first()
    if previous is not None:
        return {**previous.report, "duplicate": True}
    jobs = jobs or store()
    job = _queue(content, settings, as_of, jobs)
    return report_of(execute(jobs, job["_id"], import_steps(settings)))


def start_import(content: bytes, settings: PaymentSettings, as_of: datetime, jobs: JobStore) -> dict[str, Any]:
    """Check the file, keep it and queue its import for the worker (`Prefer: respond-async`)."""
    return _queue(content, settings, as_of, jobs)


def _queue(content: bytes, settings: PaymentSettings, as_of: datetime, jobs: JobStore) -> dict[str, Any]:
    digest = _digest(content)
    _check_ours(parse(content), settings)  # refused whole before anything is kept
    database()[BankFileContent._get_collection_name()].update_one(
        {"_id": digest}, {"$setOnInsert": {"content_gzip": gzip.compress(content, 6), "received_at": utc_now()}},
        upsert=True)
    job = jobs.create(BANK_IMPORT, {"importId": digest, "asOf": as_of.isoformat()}, f"{SERVICE}-bank-import-{digest}")
    if job["status"] == FAILED and jobs.requeue(job["_id"]):  # sent again after an import that broke: resume it
        job = jobs.get(job["_id"])
    return job


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def import_steps(settings: PaymentSettings) -> Steps:
    def steps(run: JobRun) -> dict[str, Any]:
        digest, as_of = run.params["importId"], as_of_param(run.params)
        stored = database()[BankFileContent._get_collection_name()].find_one({"_id": digest})
        if stored is None:
            raise NotFound(f"bank file {digest} was not kept")
        parsed = parse(gzip.decompress(stored["content_gzip"]))
        keyed = [(f"{n}:{result.end_to_end_id}", result) for n, result in enumerate(_results(parsed))]
        run.set_total(len(keyed))
        done = run.done_keys()
        todo = [(key, result) for key, result in keyed if key not in done]
        for start in range(0, len(todo), CHUNK):
            chunk = dict(todo[start:start + CHUNK])
            run.steps(list(chunk), _chunk_step(chunk, as_of), outcome=lambda answer: answer["status"])
        report = _report(run, digest, parsed)
        run.step(COMPLETED_STEP, lambda uow: _keep_report(uow, digest, parsed, as_of, report), counted=False)
        return report

    return steps


def _results(parsed: BankFile) -> list[BankResult]:
    if not parsed.rejected_whole_file:
        return parsed.results
    file = SepaFile.objects(message_id=parsed.original_message_id).only("id").first()
    return [BankResult(tx.id, Outcome.REJECTED, to_decimal(tx.amount), parsed.rejected_whole_file)
            for tx in SepaTransaction.objects(file_id=file.id).only("id", "amount")]


def _report(run: JobRun, digest: str, parsed: BankFile) -> dict[str, Any]:
    """The file's report from the steps' records, in the file's order: exact after a resume."""
    answers = sorted((a for a in run.results() if isinstance(a, dict) and "position" in a), key=lambda a: a["position"])
    matched = [a["matched"] for a in answers if a["status"] == "matched"]
    unmatched = [a["unmatched"] for a in answers if a["status"] == "unmatched"]
    unchanged = sum(1 for a in answers if a["status"] == "unchanged")
    return {"importId": digest, "jobId": run.id, "kind": parsed.kind, "messageId": parsed.message_id,
            "matched": matched, "unmatched": unmatched, "unchanged": unchanged, "duplicate": False,
            "counts": {"matched": len(matched), "unmatched": len(unmatched), "unchanged": unchanged}}


def _keep_report(uow: UnitOfWork, digest: str, parsed: BankFile, as_of: datetime, report: dict[str, Any]) -> str:
    uow.collection(BankImport).update_one({"_id": digest}, {"$setOnInsert": {
        "kind": parsed.kind, "message_id": parsed.message_id, "imported_at": as_of, "report": report}},
        upsert=True, session=uow.session)
    return "recorded"


def _check_ours(parsed: BankFile, settings: PaymentSettings) -> None:
    """A file for another creditor account, or a status report on a file we never sent, is refused whole."""
    ours = settings.creditor.iban
    if parsed.kind == "camt.054" and parsed.creditor_iban != ours:
        raise ValidationFailed(f"the camt.054 is for account {parsed.creditor_iban or 'none'}, not the creditor's",
                               {"file": f"Ntfctn/Acct/Id/IBAN must be {ours}"})
    if parsed.kind == "pain.002":
        if parsed.creditor_iban and parsed.creditor_iban != ours:
            raise ValidationFailed("the pain.002 reports on another creditor's collections",
                                   {"file": f"OrgnlTxRef/CdtrAcct/Id/IBAN must be {ours}"})
        if not SepaFile.objects(message_id=parsed.original_message_id).count():
            raise ValidationFailed(f"the pain.002 reports on {parsed.original_message_id}, a file never exported here",
                                   {"file": "OrgnlGrpInfAndSts/OrgnlMsgId is not an exported file"})


def _chunk_step(chunk: dict[str, BankResult], as_of: datetime) -> Callable[[UnitOfWork, list[str]], dict[str, Any]]:
    """The job step that applies the results of `chunk` still pending (the step's keys)."""
    return lambda uow, keys: _apply_chunk(uow, {k: chunk[k] for k in keys}, as_of)


def _apply_chunk(uow: UnitOfWork, results: dict[str, BankResult], as_of: datetime) -> dict[str, Any]:
    """One chunk's results applied in the step's transaction; per step key what became of it."""
    txs = {doc["_id"]: doc for doc in uow.collection(SepaTransaction).find(
        {"_id": {"$in": [r.end_to_end_id for r in results.values()]}}, session=uow.session)}
    invoices = {doc["_id"]: doc for doc in uow.collection(ledger.INVOICES).find(
        {"_id": {"$in": list({tx["invoice_id"] for tx in txs.values()})}}, session=uow.session)}
    batch = Settlement(uow, list(invoices), as_of)
    answers: dict[str, Any] = {}
    for key, result in results.items():
        position = int(key.partition(":")[0])
        tx = txs.get(result.end_to_end_id)
        if tx is None or tx["invoice_id"] not in invoices:
            answers[key] = {"position": position, "status": "unmatched", "unmatched": {
                "endToEndId": result.end_to_end_id, "outcome": result.outcome.value,
                "reason": "no exported collection has this end-to-end id"}}
        elif not batch.apply(tx, invoices[tx["invoice_id"]], result):
            answers[key] = {"position": position, "status": "unchanged"}
        else:
            answers[key] = {"position": position, "status": "matched", "matched": {
                "endToEndId": tx["_id"], "invoiceId": tx["invoice_id"], "outcome": result.outcome.value,
                "reasonCode": result.reason_code, "bankReference": result.bank_reference}}
    batch.flush()
    return answers


class Settlement:
    """One chunk of bank results applied in one transaction, written in bulk."""

    def __init__(self, uow: UnitOfWork, invoice_ids: list[str], as_of: datetime):
        self.uow, self.as_of = uow, as_of
        self.payments = PaymentBatch(uow, invoice_ids)
        self.transactions: list[UpdateOne] = []
        self.failures: list[tuple[str, dict[str, Any], str | None]] = []

    def apply(self, tx: dict[str, Any], invoice: dict[str, Any], result: BankResult) -> bool:
        """Move one transaction on; False when the result was already applied (or says nothing new)."""
        status, amount = tx["status"], to_decimal(tx["amount"])
        if result.outcome is Outcome.PAID and status == IN_COLLECTION:
            self.payments.add(invoice, Direction.CHARGE, amount, PaymentMethod.SEPA, paid_at=self.as_of,
                              payment_id=f"sepa-{tx['_id']}", provider="SEPA", reference=result.bank_reference,
                              received=True)
            self._set(tx, "paid", result)
            return True
        failed = result.outcome in (Outcome.RETURNED, Outcome.REJECTED)
        if failed and status == "paid":
            # Returned after settlement: the money went back, so the invoice owes it again.
            self.payments.flush()
            paid = ledger.paid_on(self.uow, [invoice["_id"]]).get(invoice["_id"], ZERO)
            reopen = min(amount, paid)
            if reopen > ZERO:
                ledger.record(self.uow, invoice, allocate(ledger.balance(invoice, paid), Direction.REFUND, reopen))
                self.payments.paid[invoice["_id"]] = paid - reopen
        elif not (failed and status == IN_COLLECTION):
            return False
        self._set(tx, "returned" if result.outcome is Outcome.RETURNED else "rejected", result)
        _forget_first_use(self.uow, tx)
        attempt = self.uow.collection(SepaTransaction).count_documents({"invoice_id": invoice["_id"]},
                                                                       session=self.uow.session)
        self.failures.append(("billing.payment_failed", {
            "invoiceId": invoice["_id"], "number": invoice.get(ledger.NUMBER) or "", "customerId": tx["customer_id"],
            "billingProfileId": tx["billing_profile_id"], "amount": to_wire(amount),
            "currency": invoice[ledger.CURRENCY], "method": "sepa",
            "reason": f"direct debit {result.outcome.value} by the bank", "reasonCode": result.reason_code or "unknown",
            "attempt": attempt, "nextAttemptAt": None, "failedAt": self.as_of.isoformat()}, invoice["_id"]))
        return True

    def _set(self, tx: dict[str, Any], status: str, result: BankResult) -> None:
        self.transactions.append(UpdateOne({"_id": tx["_id"]}, {"$set": {
            "status": status, "reason_code": result.reason_code, "bank_reference": result.bank_reference,
            "settled_at": self.as_of}}))

    def flush(self) -> None:
        self.payments.flush()
        if self.transactions:
            self.uow.collection(SepaTransaction).bulk_write(self.transactions, session=self.uow.session)
        self.uow.publish_many(self.failures)
        self.transactions, self.failures = [], []


def _forget_first_use(uow: UnitOfWork, tx: dict[str, Any]) -> None:
    """A first collection that failed did not use the mandate: the next one is FRST again."""
    if tx["sequence_type"] == "FRST":
        uow.collection(SepaMandateUse).delete_one({"_id": tx["mandate_id"], "first_end_to_end_id": tx["_id"]},
                                                  session=uow.session)

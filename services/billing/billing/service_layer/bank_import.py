"""Bank results in: camt.054 and pain.002 files for exported direct debits.

Collected invoices are paid (method sepa, the bank's reference); returned or rejected ones go back
to due and `billing.payment_failed` names the reason code. Each transaction moves from
"in collection" once, so importing a file twice, or two files reporting the same result, changes
nothing the second time; the whole file's report is kept by content hash.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from billing.adapters import invoice_ledger as ledger
from billing.adapters.payment_documents import BankImport, SepaFile, SepaMandateUse, SepaTransaction
from billing.config import PaymentSettings
from billing.domain.bank_results import BankFile, BankResult, Outcome, parse
from billing.domain.payments import ZERO, Direction, PaymentMethod, allocate
from billing.service_layer.payments import allocate_payment
from billing.service_layer.sepa_export import IN_COLLECTION
from chassis.errors import ValidationFailed
from chassis.money import to_decimal, to_wire
from chassis.mongo import UnitOfWork, transaction

SOURCE = "billing"
CHUNK = 500


def import_bank_file(content: bytes, settings: PaymentSettings, as_of: datetime) -> dict[str, Any]:
    digest = hashlib.sha256(content).hexdigest()
    previous = BankImport.objects(id=digest).first()
    if previous is not None:
        return {**previous.report, "duplicate": True}
    parsed = parse(content)
    _check_ours(parsed, settings)
    results = parsed.results
    if parsed.rejected_whole_file:
        file = SepaFile.objects(message_id=parsed.original_message_id).only("id").first()
        results = [BankResult(tx.id, Outcome.REJECTED, to_decimal(tx.amount), parsed.rejected_whole_file)
                   for tx in SepaTransaction.objects(file_id=file.id).only("id", "amount")]
    report: dict[str, Any] = {"importId": digest, "kind": parsed.kind, "messageId": parsed.message_id,
                              "matched": [], "unmatched": [], "unchanged": 0, "duplicate": False}
    for start in range(0, len(results), CHUNK):
        chunk = results[start:start + CHUNK]
        transaction(lambda uow, chunk=chunk: _apply_chunk(uow, chunk, as_of, report), source=SOURCE)
    report["counts"] = {"matched": len(report["matched"]), "unmatched": len(report["unmatched"]),
                        "unchanged": report["unchanged"]}
    BankImport(id=digest, kind=parsed.kind, message_id=parsed.message_id, imported_at=as_of, report=report).save()
    return report


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


def _apply_chunk(uow: UnitOfWork, results: list[BankResult], as_of: datetime, report: dict[str, Any]) -> None:
    # The driver may run this again on a transient error: collect into a local report first.
    matched: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    unchanged = 0
    txs = {doc["_id"]: doc for doc in uow.collection(SepaTransaction).find(
        {"_id": {"$in": [r.end_to_end_id for r in results]}}, session=uow.session)}
    invoices = {doc["_id"]: doc for doc in uow.collection(ledger.INVOICES).find(
        {"_id": {"$in": list({tx["invoice_id"] for tx in txs.values()})}}, session=uow.session)}
    for result in results:
        tx = txs.get(result.end_to_end_id)
        if tx is None or tx["invoice_id"] not in invoices:
            unmatched.append({"endToEndId": result.end_to_end_id, "outcome": result.outcome.value,
                              "reason": "no exported collection has this end-to-end id"})
            continue
        if not _apply(uow, tx, invoices[tx["invoice_id"]], result, as_of):
            unchanged += 1
            continue
        matched.append({"endToEndId": tx["_id"], "invoiceId": tx["invoice_id"], "outcome": result.outcome.value,
                        "reasonCode": result.reason_code, "bankReference": result.bank_reference})
    report["matched"].extend(matched)
    report["unmatched"].extend(unmatched)
    report["unchanged"] += unchanged


def _apply(uow: UnitOfWork, tx: dict[str, Any], invoice: dict[str, Any], result: BankResult, as_of: datetime) -> bool:
    """Move one transaction on; False when the result was already applied (or says nothing new)."""
    status, amount = tx["status"], to_decimal(tx["amount"])
    if result.outcome is Outcome.PAID and status == IN_COLLECTION:
        allocate_payment(uow, invoice, Direction.CHARGE, amount, PaymentMethod.SEPA, paid_at=as_of,
                         payment_id=f"sepa-{tx['_id']}", provider="SEPA", reference=result.bank_reference,
                         received=True)
        _set(uow, tx, "paid", result, as_of)
        return True
    failed = result.outcome in (Outcome.RETURNED, Outcome.REJECTED)
    if failed and status == "paid":
        # Returned after settlement: the money went back, so the invoice owes it again.
        paid = ledger.paid_on(uow, [invoice["_id"]]).get(invoice["_id"], ZERO)
        reopen = min(amount, paid)
        if reopen > ZERO:
            ledger.record(uow, invoice, allocate(ledger.balance(invoice, paid), Direction.REFUND, reopen))
    elif not (failed and status == IN_COLLECTION):
        return False
    _set(uow, tx, "returned" if result.outcome is Outcome.RETURNED else "rejected", result, as_of)
    _forget_first_use(uow, tx)
    attempt = uow.collection(SepaTransaction).count_documents({"invoice_id": invoice["_id"]}, session=uow.session)
    uow.publish("billing.payment_failed", {
        "invoiceId": invoice["_id"], "number": invoice.get(ledger.NUMBER) or "", "customerId": tx["customer_id"],
        "billingProfileId": tx["billing_profile_id"], "amount": to_wire(amount), "currency": invoice[ledger.CURRENCY],
        "method": "sepa", "reason": f"direct debit {result.outcome.value} by the bank",
        "reasonCode": result.reason_code or "unknown", "attempt": attempt, "nextAttemptAt": None,
        "failedAt": as_of.isoformat()}, subject=invoice["_id"])
    return True


def _set(uow: UnitOfWork, tx: dict[str, Any], status: str, result: BankResult, as_of: datetime) -> None:
    uow.collection(SepaTransaction).update_one({"_id": tx["_id"]}, {"$set": {
        "status": status, "reason_code": result.reason_code, "bank_reference": result.bank_reference,
        "settled_at": as_of}}, session=uow.session)


def _forget_first_use(uow: UnitOfWork, tx: dict[str, Any]) -> None:
    """A first collection that failed did not use the mandate: the next one is FRST again."""
    if tx["sequence_type"] == "FRST":
        uow.collection(SepaMandateUse).delete_one({"_id": tx["mandate_id"], "first_end_to_end_id": tx["_id"]},
                                                  session=uow.session)

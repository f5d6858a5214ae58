"""SEPA direct debit out: the due invoices of direct-debit customers become one pain.008 file.

An export is a resumable job (chassis.jobs, kind `sepa-export`) whose items are the candidate
invoices: an invoice whose mandate is missing or not yet valid fails with its reason (the job's
failures; the report's `skipped`), the others go into one file. The file, its transactions ("in
collection"), the mandates' first use and the steps of its invoices commit in one transaction: a crash
leaves either the whole file or nothing, and the successor exports what is still due. A unique index
keeps an invoice in at most one file awaiting the bank; an export that loses that race to another one
selects again.
"""
from __future__ import annotations

import gzip
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pymongo.errors import DuplicateKeyError

from billing.adapters import invoice_ledger as ledger
from billing.adapters.documents import BillingCustomer
from billing.adapters.payment_documents import PaymentInstrument, SepaFile, SepaMandateUse, SepaTransaction
from billing.config import PaymentSettings
from billing.domain import pain008
from billing.domain.sepa import (
    SEPA_CURRENCY,
    Collection,
    check_mandate,
    collection_date,
    end_to_end_id,
    sequence_type,
)
from billing.service_layer.instruments import mandate_of
from billing.service_layer.jobs import SEPA_EXPORT, SERVICE, as_of_param, report_of, store
from chassis.errors import Conflict, NotFound, PlatformError
from chassis.jobs import ItemFailed, JobRun, JobStore, Steps, run_job
from chassis.money import to_decimal, to_storage, to_wire
from chassis.mongo import UnitOfWork, database, next_sequence

SOURCE = "billing"
IN_COLLECTION = "in_collection"
RACES = 3  # selections again after losing invoices to a concurrent export, before the job gives up


class _TakenMeanwhile(Exception):
    """Another export put some of the selected invoices into its file first."""


def _candidates(db: Any) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    instruments = {doc["_id"]: doc for doc in db[PaymentInstrument._get_collection_name()].find(
        {"method": "directDebit"})}
    # The copy may predate billing's record of the customer (events on different queues): name it now.
    unnamed = [customer_id for customer_id, doc in instruments.items() if not doc.get("debtor_name")]
    for customer in db[BillingCustomer._get_collection_name()].find({"_id": {"$in": unnamed}}, {"name": 1}):
        instruments[customer["_id"]]["debtor_name"] = customer["name"]
    in_collection = {doc["invoice_id"] for doc in db[SepaTransaction._get_collection_name()].find(
        {"status": IN_COLLECTION}, {"invoice_id": 1})}
    invoices = [raw for raw in ledger.due_invoices(None, db, {ledger.CURRENCY: SEPA_CURRENCY})
                if raw[ledger.CUSTOMER] in instruments and raw["_id"] not in in_collection]
    return invoices, instruments


def export_sepa(settings: PaymentSettings, as_of: datetime, jobs: JobStore | None = None) -> dict[str, Any]:
    """Export every due EUR invoice of a direct-debit customer not yet in collection, as a job run to
    its end. Invoices whose mandate is missing or not yet valid are skipped and listed (field and reason)."""
    job = run_job(SERVICE, SEPA_EXPORT, {"asOf": as_of.isoformat()}, export_steps(settings), store=jobs or store())
    return report_of(job)


def start_export(as_of: datetime, jobs: JobStore) -> dict[str, Any]:
    """Queue an export job for the worker (`Prefer: respond-async`); the caller watches the job."""
    return jobs.create(SEPA_EXPORT, {"asOf": as_of.isoformat()})


def export_steps(settings: PaymentSettings) -> Steps:
    def steps(run: JobRun) -> dict[str, Any]:
        as_of = as_of_param(run.params)
        for _ in range(RACES):
            try:
                _export(run, settings, as_of)
                return export_report(run, settings)
            except _TakenMeanwhile:
                continue
        raise Conflict("other SEPA exports kept taking these invoices first; run the export again",
                       {"invoiceId": "already in collection"})

    return steps


def _export(run: JobRun, settings: PaymentSettings, as_of: datetime) -> None:
    db = database()
    done = run.done_keys()
    invoices, instruments = _candidates(db)
    invoices = [raw for raw in invoices if raw["_id"] not in done]
    run.set_total(run.progress["processed"] + len(invoices))
    used = {doc["_id"] for doc in db[SepaMandateUse._get_collection_name()].find({}, {"_id": 1})}
    when = collection_date(as_of.date(), settings.collection_lead_days)
    collections: list[Collection] = []
    skipped: dict[str, ItemFailed] = {}
    first_in_file: set[str] = set()
    number = None
    for raw in invoices:
        try:
            mandate = check_mandate(mandate_of(instruments[raw[ledger.CUSTOMER]]), as_of.date())
        except PlatformError as exc:
            skipped[raw["_id"]] = ItemFailed(exc.detail, {"customerId": raw[ledger.CUSTOMER], "fields": exc.fields})
            continue
        if mandate.mandate_id not in used:
            first_in_file.add(mandate.mandate_id)
        number = number or next_sequence(db, "sepa_file")
        collections.append(Collection(
            end_to_end_id=end_to_end_id(raw.get(ledger.NUMBER) or raw["_id"], number), invoice_id=raw["_id"],
            invoice_number=raw.get(ledger.NUMBER) or raw["_id"], amount=to_decimal(raw[ledger.DUE]),
            mandate=mandate, sequence_type=sequence_type(mandate.mandate_id in used and
                                                         mandate.mandate_id not in first_in_file),
            collection_date=when))
    if skipped:
        run.steps(list(skipped), lambda uow, keys: {key: skipped[key] for key in keys})
    if not collections:
        return
    message_id = f"SDD-{as_of:%Y%m%d}-{number:06d}"
    content = pain008.render(message_id, as_of, settings.creditor, collections, settings.pain008_version)
    total = sum((c.amount for c in collections), Decimal(0))
    file = SepaFile(id=str(uuid.uuid4()), number=number, message_id=message_id,
                    version=settings.pain008_version.value, created_at=as_of, as_of=as_of,
                    transactions=len(collections), total=total, content_gzip=gzip.compress(content, 6),
                    skipped=[{"invoiceId": key, "reason": item.reason, **item.detail}
                             for key, item in list(skipped.items())[:1000]], job_id=run.id)
    file.validate()
    run.heartbeat()  # rendering a large file takes a while

    def store_file(uow: UnitOfWork, keys: list[str]) -> dict[str, Any]:
        if len(keys) != len(collections):
            raise RuntimeError("a SEPA file's invoices were done before the file was stored")
        uow.collection(SepaFile).insert_one(file.to_mongo(), session=uow.session)
        by_id = {raw["_id"]: raw for raw in invoices}
        rows = [_transaction(file.id, c, by_id[c.invoice_id]) for c in collections]
        uow.collection(SepaTransaction).insert_many(rows, ordered=False, session=uow.session)
        firsts: dict[str, str] = {}
        for item in collections:
            if item.mandate.mandate_id in first_in_file:
                firsts.setdefault(item.mandate.mandate_id, item.end_to_end_id)
        if firsts:
            uow.collection(SepaMandateUse).insert_many(
                [{"_id": mandate, "first_end_to_end_id": e2e} for mandate, e2e in firsts.items()],
                session=uow.session)
        return {c.invoice_id: c.end_to_end_id for c in collections}

    try:
        run.steps([c.invoice_id for c in collections], store_file, split=False, outcome=lambda _: "collected")
    except DuplicateKeyError as exc:
        raise _TakenMeanwhile() from exc


def export_report(run: JobRun, settings: PaymentSettings) -> dict[str, Any]:
    """What the export did (contracts: SepaExport), from the job's records: exact after a resume."""
    skipped = [{"invoiceId": key, "reason": reason, **detail} for key, reason, detail in run.failed_steps()]
    file = SepaFile.objects(job_id=run.id).exclude("content_gzip").first()
    if file is None:
        return {"fileId": None, "transactions": 0, "total": "0", "skipped": skipped}
    as_of = as_of_param(run.params)
    return {"fileId": file.id, "messageId": file.message_id, "version": file.version,
            "transactions": file.transactions, "total": to_wire(to_decimal(file.total)),
            "collectionDate": collection_date(as_of.date(), settings.collection_lead_days).isoformat(),
            "skipped": skipped}


def _transaction(file_id: str, item: Collection, invoice: dict[str, Any]) -> dict[str, Any]:
    return {"_id": item.end_to_end_id, "file_id": file_id, "invoice_id": item.invoice_id,
            "invoice_number": item.invoice_number, "customer_id": invoice[ledger.CUSTOMER],
            "billing_profile_id": invoice[ledger.PROFILE], "amount": to_storage(item.amount),
            "mandate_id": item.mandate.mandate_id, "sequence_type": item.sequence_type.value, "status": IN_COLLECTION}


def file_summary(file: SepaFile) -> dict[str, Any]:
    return {"id": file.id, "number": file.number, "messageId": file.message_id, "version": file.version,
            "createdAt": file.created_at.isoformat(), "transactions": file.transactions,
            "total": to_wire(to_decimal(file.total)), "currency": SEPA_CURRENCY, "skipped": len(file.skipped or [])}


def list_files(offset: int = 0, limit: int = 50) -> dict[str, Any]:
    query = SepaFile.objects.exclude("content_gzip").order_by("-created_at")
    return {"total": query.count(), "items": [file_summary(f) for f in query.skip(offset).limit(limit)]}


def get_file(file_id: str) -> dict[str, Any]:
    file = SepaFile.objects(id=file_id).exclude("content_gzip").first()
    if file is None:
        raise NotFound(f"SEPA file {file_id} does not exist")
    return {**file_summary(file), "skippedInvoices": file.skipped or []}


def file_content(file_id: str) -> bytes:
    """The exported pain.008 exactly as first produced (downloadable again)."""
    file = SepaFile.objects(id=file_id).only("content_gzip").first()
    if file is None:
        raise NotFound(f"SEPA file {file_id} does not exist")
    return gzip.decompress(file.content_gzip)

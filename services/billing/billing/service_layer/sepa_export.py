"""SEPA direct debit out: the due invoices of direct-debit customers become one pain.008 file.

The file, its transactions ("in collection") and the mandates' first use commit in one
transaction: a crash leaves either the whole file or nothing, and a unique index keeps an
invoice in at most one file awaiting the bank.
"""
from __future__ import annotations

import gzip
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pymongo.errors import DuplicateKeyError

from billing.adapters import invoice_ledger as ledger
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
from chassis.errors import Conflict, NotFound, PlatformError
from chassis.money import to_decimal, to_storage, to_wire
from chassis.mongo import UnitOfWork, database, next_sequence, transaction

SOURCE = "billing"
IN_COLLECTION = "in_collection"


def _candidates(db: Any) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    instruments = {doc["_id"]: doc for doc in db[PaymentInstrument._get_collection_name()].find(
        {"method": "directDebit"})}
    in_collection = {doc["invoice_id"] for doc in db[SepaTransaction._get_collection_name()].find(
        {"status": IN_COLLECTION}, {"invoice_id": 1})}
    invoices = [raw for raw in ledger.due_invoices(None, db, {ledger.CURRENCY: SEPA_CURRENCY})
                if raw[ledger.CUSTOMER] in instruments and raw["_id"] not in in_collection]
    return invoices, instruments


def export_sepa(settings: PaymentSettings, as_of: datetime) -> dict[str, Any]:
    """Export every due EUR invoice of a direct-debit customer not yet in collection. Invoices whose
    mandate is missing or not yet valid are skipped and listed (field and reason)."""
    db = database()
    invoices, instruments = _candidates(db)
    used = {doc["_id"] for doc in db[SepaMandateUse._get_collection_name()].find({}, {"_id": 1})}
    number = next_sequence(db, "sepa_file")
    when = collection_date(as_of.date(), settings.collection_lead_days)
    collections: list[Collection] = []
    skipped: list[dict[str, Any]] = []
    first_in_file: set[str] = set()
    for raw in invoices:
        try:
            mandate = check_mandate(mandate_of(instruments[raw[ledger.CUSTOMER]]), as_of.date())
        except PlatformError as exc:
            skipped.append({"invoiceId": raw["_id"], "customerId": raw[ledger.CUSTOMER], "reason": exc.detail,
                            "fields": exc.fields})
            continue
        if mandate.mandate_id not in used:
            first_in_file.add(mandate.mandate_id)
        collections.append(Collection(
            end_to_end_id=end_to_end_id(raw.get(ledger.NUMBER) or raw["_id"], number), invoice_id=raw["_id"],
            invoice_number=raw.get(ledger.NUMBER) or raw["_id"], amount=to_decimal(raw[ledger.DUE]),
            mandate=mandate, sequence_type=sequence_type(mandate.mandate_id in used and
                                                         mandate.mandate_id not in first_in_file),
            collection_date=when))
    report: dict[str, Any] = {"fileId": None, "transactions": 0, "total": "0", "skipped": skipped}
    if not collections:
        return report
    message_id = f"SDD-{as_of:%Y%m%d}-{number:06d}"
    content = pain008.render(message_id, as_of, settings.creditor, collections, settings.pain008_version)
    total = sum((c.amount for c in collections), Decimal(0))
    file = SepaFile(id=str(uuid.uuid4()), number=number, message_id=message_id,
                    version=settings.pain008_version.value, created_at=as_of, as_of=as_of,
                    transactions=len(collections), total=total, content_gzip=gzip.compress(content, 6),
                    skipped=skipped[:1000])
    file.validate()

    def store(uow: UnitOfWork) -> None:
        uow.collection(SepaFile).insert_one(file.to_mongo(), session=uow.session)
        by_id = {raw["_id"]: raw for raw in invoices}
        rows = [_transaction(file.id, c, by_id[c.invoice_id]) for c in collections]
        uow.collection(SepaTransaction).insert_many(rows, ordered=False, session=uow.session)
        for mandate_id in first_in_file:
            first = next(c.end_to_end_id for c in collections if c.mandate.mandate_id == mandate_id)
            uow.collection(SepaMandateUse).insert_one({"_id": mandate_id, "first_end_to_end_id": first},
                                                      session=uow.session)

    try:
        transaction(store, source=SOURCE)
    except DuplicateKeyError as exc:
        raise Conflict("another SEPA export took some of these invoices first; run the export again",
                       {"invoiceId": "already in collection"}) from exc
    return {**report, "fileId": file.id, "messageId": message_id, "version": file.version,
            "transactions": len(collections), "total": to_wire(total), "collectionDate": when.isoformat()}


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

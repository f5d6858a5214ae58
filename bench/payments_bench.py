"""Payments benchmark: a SEPA export of 10,000 due direct-debit invoices and the import of its camt.054.

Starts its own mongod (temp dir), loads the invoices, profiles and mandates in bulk through billing's
collections, then times billing's own use cases in this process:
- `sepa_export.export_sepa`: select, render the pain.008, store it and mark every invoice in collection;
- `bank_import.import_bank_file` of the bank's camt.054 for that file (1 % returned with AM04):
  every invoice paid or back to due, with its payment and events in the outbox.
The exported file is then checked against the official XSD (not timed).

    .venv/bin/python bench/payments_bench.py [--invoices 10000]

Targets (issue 11): export <= 10 s and import <= 10 s on 2 cores.
"""
from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from importlib.resources import files

import xmlschema
from bson.decimal128 import Decimal128

from billing import bank_simulator
from billing.adapters.documents import ALL_DOCUMENTS
from billing.config import PaymentSettings
from billing.service_layer import bank_import, sepa_export
from chassis.mongo import connect, ensure_indexes
from chassis.testing import settings_for

from support import infrastructure


def load(db, invoices: int) -> None:
    now = datetime.now(UTC)
    for first in range(0, invoices, 1000):
        ids = range(first, min(first + 1000, invoices))
        db.customers.insert_many([{"_id": i + 1, "name": f"Debtor {i + 1}", "email": f"d{i + 1}@example.com",
                                   "source_event": "bench", "recorded_at": now} for i in ids])
        db.billing_profiles.insert_many([{
            "_id": f"bp-{i:06d}", "customer_id": i + 1, "name": "Main", "payment_type": "postpaid", "resource": "EUR",
            "interval": "monthly", "billing_day": 1, "payment_terms_days": 14, "valid_from": now,
            "credit_balance": Decimal128("0"), "created_at": now} for i in ids])
        db.payment_instruments.insert_many([{
            "_id": i + 1, "method": "directDebit", "mandate_id": f"MANDATE-{i:06d}",
            "signed_on": datetime(2025, 1, 2, tzinfo=UTC), "iban": "DE02120300000000202051", "bic": "BYLADEM1001",
            "debtor_name": f"Debtor {i + 1}", "refreshed_at": now} for i in ids])
        db.invoices.insert_many([{
            "_id": f"inv-{i:06d}", "kind": "invoice", "number": f"INV-2026-{i:06d}", "customer_id": i + 1,
            "billing_profile_id": f"bp-{i:06d}", "status": "billing", "total": Decimal128(f"{10 + i % 90}.99"),
            "due_amount": Decimal128(f"{10 + i % 90}.99"), "currency": "EUR", "issued_at": now, "created_at": now}
            for i in ids])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    args = parser.parse_args()
    with infrastructure() as (mongo_uri, amqp_uri, _):
        settings = settings_for("billing", mongo_uri, amqp_uri, "bench_")
        db = connect(settings)
        db.client.drop_database(db.name)
        ensure_indexes(ALL_DOCUMENTS, db)
        config = PaymentSettings.from_settings(settings)
        load(db, args.invoices)

        started = time.perf_counter()
        report = sepa_export.export_sepa(config, datetime.now(UTC))
        export_s = time.perf_counter() - started
        content = sepa_export.file_content(report["fileId"])
        print(f"SEPA export: {report['transactions']} invoices, {len(content) / 1e6:.1f} MB "
              f"{report['version']} in {export_s:.2f} s (target <= 10 s)")

        returned = {e2e: "AM04" for n, (e2e, _) in enumerate(bank_simulator.transactions(content)) if n % 100 == 0}
        camt = bank_simulator.camt054(content, config.creditor.iban, returned)
        started = time.perf_counter()
        result = bank_import.import_bank_file(camt, config, datetime.now(UTC))
        import_s = time.perf_counter() - started
        print(f"camt.054 import: {result['counts']['matched']} matched ({len(returned)} returned), "
              f"{result['counts']['unmatched']} unmatched in {import_s:.2f} s (target <= 10 s)")
        print(f"closed invoices: {db.invoices.count_documents({'status': 'closed'})}, "
              f"outbox events: {db.outbox.count_documents({})}")

        started = time.perf_counter()
        xsd = xmlschema.XMLSchema(str(files("sepaxml") / "schemas" / f"{report['version']}.xsd"))
        xsd.validate(content.decode())
        print(f"XSD validation of the exported file: valid ({time.perf_counter() - started:.1f} s, not part of "
              f"the export)")
        print("(figures from a machine shared with other work; load average at the end: "
              f"{open('/proc/loadavg').read().split()[0]})")


if __name__ == "__main__":
    main()

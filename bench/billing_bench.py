"""Billing benchmark: a bill run of 10,000 profiles (20 usage lines + 2 recurring fees each) and invoice PDFs.

Starts its own mongod (temp dir) and RabbitMQ vhost, real catalog and billing workers, loads the
profiles, bills, usage items and subscription copies in bulk through billing's collections, then:
- measures the raw MongoDB bulk-write rate (insert_many of bill-item-sized documents) on the same mongod;
- starts the bill run through billing's RPC (a chassis.jobs job the worker's timer executes, as in production) and
  waits for it to finish: time, profiles/s, document writes/s and their ratio to the raw rate;
- renders invoice PDFs (WeasyPrint) from issued invoices: p50/p95;
- prints the billing worker's peak RSS (VmHWM) over the whole run.

    .venv/bin/python bench/billing_bench.py [--profiles 10000] [--lines 20] [--pdfs 40]

Targets (issue 10): run <= 30 s on 2 cores; PDF <= 300 ms each; worker peak RSS <= 300 MB.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128

from chassis.nameko_adapter import RpcClient
from chassis.testing import settings_for, start_platform

from support import infrastructure, peak_rss_mb, percentiles

JAN_1, FEB_1, MAR_1 = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3))
# Documents one billed profile writes: its invoice, two bill updates, the new inactive bill, two outbox
# events and its job step's record (counters and the job's progress are written once per batch).
WRITES_PER_PROFILE = 7
COUNTRIES = ["SI", "DE", "AT", "IT", "FR", "GB"]


def fee(code: str, amount: str) -> dict[str, Any]:
    return {"id": code, "code": code, "version": 1, "name": code.title(), "type": "recurring_fee", "bundleCode": "B",
            "quantity": "1", "amount": amount, "currency": "EUR", "interval": "month", "proration": "daily",
            "tax": "VAT", "glCode": "4100", "validFrom": None, "validTo": None, "status": "active"}


def load(db: Any, profiles: int, lines: int) -> float:
    started = time.perf_counter()
    rng = random.Random(10)
    now = datetime.now(UTC)
    chunk = 1000
    for first in range(0, profiles, chunk):
        ids = range(first, min(first + chunk, profiles))
        db.customers.insert_many([{"_id": i + 1, "name": f"Customer {i + 1}", "email": f"c{i + 1}@example.com",
                                   "country": rng.choice(COUNTRIES), "source_event": "bench", "recorded_at": now}
                                  for i in ids])
        db.billing_profiles.insert_many([{
            "_id": f"bp-{i:06d}", "customer_id": i + 1, "name": "Main", "payment_type": "postpaid", "resource": "EUR",
            "interval": "monthly", "billing_day": 1, "anchor_month": 1, "payment_terms_days": 14, "valid_from": JAN_1,
            "credit_balance": Decimal128("0"), "created_at": now} for i in ids])
        bills = []
        for i in ids:
            for offset, (status, start, end) in enumerate((("active", JAN_1, FEB_1), ("inactive", FEB_1, MAR_1))):
                bills.append({"_id": 2 * i + 1 + offset, "billing_profile_id": f"bp-{i:06d}", "customer_id": i + 1,
                              "status": status, "cycle_start": start, "cycle_end": end, "currency": "EUR",
                              "charged": Decimal128("0"), "items": lines if status == "active" else 0,
                              "bill_now": False, "created_at": now})
        db.bills.insert_many(bills)
        db.bill_items.insert_many([{
            "_id": f"usage:{i}:{k}", "bill_id": 2 * i + 1, "billing_profile_id": f"bp-{i:06d}", "kind": "usage",
            "description": "voice", "amount": Decimal128(str(Decimal(rng.randint(1, 99999)) / 10000)),
            "currency": "EUR", "balance_group_id": "bg", "resource": "EUR", "service_id": f"svc-{i}-{k % 4}",
            "service_identifier": f"3864{i:07d}", "units": Decimal128(str(rng.randint(1, 600))), "events": 3,
            "tax_code": "VAT", "gl_code": "4000", "at": JAN_1, "created_at": now}
            for i in ids for k in range(lines)], ordered=False)
        db.subscription_fees.insert_many([{
            "_id": f"sub-{i}", "customer_id": i + 1, "billing_profile_id": f"bp-{i:06d}", "balance_group_id": "bg",
            "plan_code": "MOBILE-S", "history": [{"at": JAN_1, "products": [fee("MOBILE-FEE", "19.99"),
                                                                             fee("TV-ADDON", "7.50")],
                                                  "cancelled": False, "event": f"e{i}"}],
            "one_time_billed": []} for i in ids])
    db.counters.insert_one({"_id": "bill", "value": 2 * profiles})
    return time.perf_counter() - started


def raw_bulk_rate(db: Any, documents: int) -> float:
    """Documents per second of plain insert_many into a scratch collection (the ceiling the run is held to)."""
    now = datetime.now(UTC)
    docs = [{"_id": f"raw-{n}", "bill_id": n, "billing_profile_id": "bp", "kind": "usage", "description": "voice",
             "amount": Decimal128("1.2345"), "currency": "EUR", "units": Decimal128("10"), "at": now}
            for n in range(documents)]
    started = time.perf_counter()
    for first in range(0, documents, 1000):
        db.raw_bench.insert_many(docs[first:first + 1000], ordered=False)
    elapsed = time.perf_counter() - started
    db.raw_bench.drop()
    return documents / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--pdfs", type=int, default=40)
    args = parser.parse_args()

    from billing.adapters.documents import ALL_DOCUMENTS
    from chassis.mongo import connect, ensure_indexes

    with infrastructure() as (mongo_uri, amqp, log_dir):
        prefix = "bench_"
        platform = None
        db = connect(settings_for("billing", mongo_uri, amqp, prefix))
        try:
            db.client.drop_database(db.name)
            ensure_indexes(ALL_DOCUMENTS, db)
            print(f"loading {args.profiles:,} profiles x {args.lines} usage lines + 2 recurring fees ...", flush=True)
            print(f"  loaded in {load(db, args.profiles, args.lines):.1f} s")
            raw = raw_bulk_rate(db, 100_000)
            print(f"raw MongoDB bulk write (insert_many, 1000 per call): {raw:,.0f} documents/s")

            platform = start_platform(["catalog", "billing"], mongo_uri, amqp, log_dir,
                                      {"MONGODB_DB_PREFIX": prefix, "LOG_LEVEL": "WARNING",
                                       "BILL_RUN_POLL_SECONDS": "0.2"})
            platform.run_job("catalog", "load-demo")
            rpc = RpcClient(amqp, timeout=60)
            started = time.perf_counter()
            run = rpc.call("billing", "start_bill_run", {"asOf": FEB_1.isoformat()})
            while run["status"] != "done":
                time.sleep(0.2)
                run = rpc.call("billing", "get_bill_run", run["id"])
            elapsed = time.perf_counter() - started
            rate = run["progress"]["processed"] / elapsed
            print(f"bill run of {run['progress']['processed']:,} profiles: {elapsed:.1f} s  ({rate:,.0f} profiles/s, "
                  f"{run['invoices']:,} invoices, {len(run['failures'])} failures)")
            writes = rate * WRITES_PER_PROFILE
            print(f"  document writes {writes:,.0f}/s = {writes / raw:.2f} of the raw bulk-write rate "
                  f"(+ {args.lines} items and 2 fee snapshots read per profile)")
            print(f"  peak RSS (VmHWM) billing worker {peak_rss_mb(platform['billing'].process.pid):6.1f} MB")
            numbers = sorted(int(i["number"].rsplit("-", 1)[1]) for i in db.invoices.find({}, {"number": 1}))
            assert numbers == list(range(1, len(numbers) + 1)), "invoice numbers are not gap-free"

            invoices = list(db.invoices.find({}, {"_id": 1, "customer_id": 1}).limit(args.pdfs + 3))
            for invoice in invoices[:3]:  # fonts load on the first PDF
                rpc.call("billing", "render_invoice", invoice["customer_id"], invoice["_id"], "pdf")
            pdf_ms = []
            for invoice in invoices[3:]:
                began = time.perf_counter()
                rendered = rpc.call("billing", "render_invoice", invoice["customer_id"], invoice["_id"], "pdf")
                pdf_ms.append((time.perf_counter() - began) * 1000)
                assert rendered["contentType"] == "application/pdf"
            print(f"invoice PDF through billing's RPC: {percentiles(pdf_ms)}")
            rss = peak_rss_mb(platform['billing'].process.pid)
            print(f"  peak RSS (VmHWM) billing worker after PDFs {rss:6.1f} MB")
            rpc.close()
            return 0
        finally:
            if platform is not None:
                platform.stop()
            db.client.drop_database(db.name)


if __name__ == "__main__":
    sys.exit(main())

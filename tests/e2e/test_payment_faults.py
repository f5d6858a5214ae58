"""Payment-collection faults with real processes: the billing worker killed with SIGKILL in the middle
of a collection run, then restarted; the local payment provider counts what it accepted."""
import os
import signal
import time
from datetime import UTC, datetime

import httpx
from bson.decimal128 import Decimal128

from chassis.nameko_adapter import RpcClient
from chassis.testing import start_platform

INVOICES = 40


def seed_card_invoices(db, count):
    now = datetime.now(UTC)
    db.billing_profiles.insert_many([{
        "_id": f"bp-{i}", "customer_id": i + 1, "name": "Main", "payment_type": "postpaid", "resource": "EUR",
        "interval": "monthly", "billing_day": 1, "payment_terms_days": 14, "valid_from": now,
        "credit_balance": Decimal128("0"), "created_at": now} for i in range(count)])
    db.invoices.insert_many([{
        "_id": f"inv-{i:04d}", "kind": "invoice", "number": f"INV-2026-{i:06d}", "customer_id": i + 1,
        "billing_profile_id": f"bp-{i}", "status": "billing", "total": Decimal128("10.00"),
        "due_amount": Decimal128("10.00"), "currency": "EUR", "issued_at": now, "created_at": now}
        for i in range(count)])
    db.payment_instruments.insert_many([{"_id": i + 1, "method": "creditCard", "token": f"tok_visa_{i}",
                                         "refreshed_at": now} for i in range(count)])


def accepted(provider_url):
    return httpx.get(f"{provider_url}/v1/charges", timeout=10).json()["charges"]


def test_a_worker_killed_mid_collection_is_resumed_by_its_successor_and_charges_no_invoice_twice(
        mongo_uri, amqp_uri, tmp_path):
    # Every charge takes 0.25 s at the provider, so the run is still going when the worker dies.
    provider = start_platform(["billing:payment-provider"], mongo_uri, amqp_uri, tmp_path,
                              {"BILLING_PROVIDER_DELAY_SECONDS": "0.25"})
    provider_url = provider["billing:payment-provider"].url
    # A short lease, so the successor takes the dead worker's job over within seconds.
    env = {"BILLING_PAYMENT_PROVIDER_URL": provider_url, "BILLING_JOB_LEASE_SECONDS": "2",
           "BILLING_JOB_POLL_SECONDS": "0.3"}
    first = start_platform(["billing"], mongo_uri, amqp_uri, tmp_path, env)
    db = first.database("billing")
    seed_card_invoices(db, INVOICES)
    rpc = RpcClient(first.env["AMQP_URI"], timeout=60)
    try:
        job = rpc.call("billing", "start_payment_collection")  # queued; the worker's timer runs it
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            seen = rpc.call("billing", "get_job", job["id"])  # the progress GET /api/v1/jobs/{id} shows
            if seen["progress"]["processed"] >= 5:
                break
            time.sleep(0.1)
        assert seen["status"] == "running" and seen["progress"]["total"] == INVOICES, seen
        os.kill(first["billing"].process.pid, signal.SIGKILL)
        first["billing"].process.wait(10)
        charged_before_restart = len(accepted(provider_url))
        assert 0 < charged_before_restart < INVOICES, "the kill did not land in the middle of the run"
        second = start_platform(["billing"], mongo_uri, amqp_uri, tmp_path,
                                {**env, "MONGODB_DB_PREFIX": first.env["MONGODB_DB_PREFIX"]})
        try:
            deadline = time.monotonic() + 120
            while (done := rpc.call("billing", "get_job", job["id"]))["status"] != "succeeded":
                assert time.monotonic() < deadline and done["status"] != "failed", done
                time.sleep(0.2)
            report = rpc.call("billing", "collect_payments")  # a new run finds nothing left to charge
        finally:
            second.stop()
        charges = accepted(provider_url)
    finally:
        rpc.close()
        first.stop()
        provider.stop()
    assert done["attempts"] == 2, "the successor finished the job the killed worker held"
    assert done["progress"] == {"processed": INVOICES, "failed": 0, "total": INVOICES}
    assert done["outcomes"] == {"approved": INVOICES} and done["report"]["approved"] == INVOICES
    assert report["invoices"] == 0
    keys = [c["idempotencyKey"] for c in charges]
    assert len(keys) == len(set(keys)) == INVOICES, "an invoice was charged twice (or not at all)"
    assert db.invoices.count_documents({"status": "closed"}) == INVOICES
    assert db.charge_attempts.count_documents({"state": {"$in": ["pending", "unanswered"]}}) == 0
    assert db.payments.count_documents({}) == INVOICES

"""Payment-collection faults with real processes: the billing worker killed with SIGKILL in the middle
of a collection run, then restarted; the local payment provider counts what it accepted."""
import os
import signal
import threading
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


def test_a_worker_killed_mid_collection_charges_no_invoice_twice_and_leaves_none_in_flight(
        mongo_uri, amqp_uri, tmp_path):
    # Every charge takes 0.25 s at the provider, so the run is still going when the worker dies.
    provider = start_platform(["billing:payment-provider"], mongo_uri, amqp_uri, tmp_path,
                              {"BILLING_PROVIDER_DELAY_SECONDS": "0.25"})
    provider_url = provider["billing:payment-provider"].url
    env = {"BILLING_PAYMENT_PROVIDER_URL": provider_url}
    first = start_platform(["billing"], mongo_uri, amqp_uri, tmp_path, env)
    db = first.database("billing")
    seed_card_invoices(db, INVOICES)
    rpc = RpcClient(first.env["AMQP_URI"], timeout=300)
    try:
        threading.Thread(target=lambda: _call_ignoring_failure(rpc), daemon=True).start()
        deadline = time.monotonic() + 120
        while len(accepted(provider_url)) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(first["billing"].process.pid, signal.SIGKILL)
        first["billing"].process.wait(10)
        charged_before_restart = len(accepted(provider_url))
        assert 0 < charged_before_restart < INVOICES, "the kill did not land in the middle of the run"
        second = start_platform(["billing"], mongo_uri, amqp_uri, tmp_path,
                                {**env, "MONGODB_DB_PREFIX": first.env["MONGODB_DB_PREFIX"]})
        again = RpcClient(second.env["AMQP_URI"], timeout=300)
        try:
            report = again.call("billing", "collect_payments")
        finally:
            again.close()
            second.stop()
        charges = accepted(provider_url)
    finally:
        rpc.close()
        first.stop()
        provider.stop()
    assert report["invoices"] > 0
    keys = [c["idempotencyKey"] for c in charges]
    assert len(keys) == len(set(keys)) == INVOICES, "an invoice was charged twice (or not at all)"
    assert db.invoices.count_documents({"status": "closed"}) == INVOICES
    assert db.charge_attempts.count_documents({"state": {"$in": ["pending", "unanswered"]}}) == 0
    assert db.payments.count_documents({}) == INVOICES


def _call_ignoring_failure(rpc):
    try:
        rpc.call("billing", "collect_payments")
    except Exception:  # the worker is killed under this call
        pass

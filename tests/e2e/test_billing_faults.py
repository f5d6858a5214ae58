"""Bill-run faults with real processes: a worker killed mid-run, the same run started twice at once."""
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from bson.decimal128 import Decimal128

from chassis.nameko_adapter import RpcClient
from chassis.testing import start_platform

# Four real processes, the demo catalog and bill runs: more than the default 300 s on a loaded machine.
pytestmark = pytest.mark.timeout(900)
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def seed(db, profiles, items=3):
    """Daily profiles whose active cycle ended at midnight today, a few usage items each (no tax)."""
    now = datetime.now(UTC)
    db.billing_profiles.insert_many([{
        "_id": f"bp-{i:05d}", "customer_id": i + 1, "name": "Main", "payment_type": "postpaid", "resource": "EUR",
        "interval": "daily", "billing_day": 1, "anchor_month": 1, "payment_terms_days": 14,
        "valid_from": TODAY - timedelta(days=1), "credit_balance": Decimal128("0"), "created_at": now}
        for i in range(profiles)])
    db.bills.insert_many([{
        "_id": 2 * i + 1 + later, "billing_profile_id": f"bp-{i:05d}", "customer_id": i + 1,
        "status": "inactive" if later else "active", "cycle_start": TODAY + timedelta(days=later - 1),
        "cycle_end": TODAY + timedelta(days=later), "currency": "EUR", "charged": Decimal128("0"), "items": 0,
        "bill_now": False, "created_at": now} for i in range(profiles) for later in (0, 1)])
    db.bill_items.insert_many([{
        "_id": f"u-{i}-{k}", "bill_id": 2 * i + 1, "billing_profile_id": f"bp-{i:05d}", "kind": "usage",
        "description": "data", "amount": Decimal128("1.25"), "currency": "EUR", "service_id": f"s{k}",
        "units": Decimal128("100"), "events": 1, "created_at": now} for i in range(profiles) for k in range(items)])
    db.counters.insert_one({"_id": "bill", "value": 2 * profiles})


def assert_billed_once_gap_free(db, profiles):
    invoices = list(db.invoices.find({}, {"number": 1, "bill_id": 1}))
    assert len(invoices) == profiles
    assert len({i["bill_id"] for i in invoices}) == profiles  # no bill invoiced twice
    assert sorted(int(i["number"].rsplit("-", 1)[1]) for i in invoices) == list(range(1, profiles + 1))
    assert db.bills.count_documents({"status": "billing"}) == profiles
    assert db.bills.count_documents({"status": "active"}) == profiles
    assert db.bills.count_documents({"status": "inactive"}) == profiles


@pytest.fixture
def workers(start_services):
    return start_services("billing", env={"BILL_RUN_LEASE_SECONDS": "3", "BILL_RUN_BATCH": "10",
                                          "BILL_RUN_POLL_SECONDS": "0.5"})


def test_a_worker_killed_mid_run_is_taken_over_and_nothing_is_billed_twice(workers, mongo_uri, amqp_uri,
                                                                           tmp_path):
    db = workers.database("billing")
    profiles = 600
    seed(db, profiles)
    rpc = RpcClient(workers.env["AMQP_URI"], timeout=60)
    run = rpc.call("billing", "start_bill_run", {"asOf": TODAY.isoformat()})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # The progress operators see (GET /api/v1/jobs/{jobId} asks billing's get_job), while the run goes on.
        seen = rpc.call("billing", "get_job", run["jobId"])
        if seen["progress"]["processed"] >= 10:
            break
        time.sleep(0.02)
    assert seen["status"] == "running" and seen["progress"]["total"] == profiles, seen
    workers["billing"].process.kill()  # kill -9, mid-run
    workers["billing"].process.wait()
    at_kill = db.jobs.find_one({"_id": run["jobId"]})
    assert 0 < at_kill["progress"]["processed"] < profiles and at_kill["status"] == "running", at_kill
    successor = start_platform(["billing"], mongo_uri, amqp_uri, tmp_path, {
        key: workers.env[key] for key in ("MONGODB_DB_PREFIX", "BILL_RUN_LEASE_SECONDS", "BILL_RUN_BATCH",
                                          "BILL_RUN_POLL_SECONDS", "AMQP_URI")})
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            done = rpc.call("billing", "get_bill_run", run["id"])
            if done["status"] == "done":
                break
            time.sleep(0.3)
        assert done["status"] == "done" and done["progress"] == {"processed": profiles, "total": profiles}
        job = rpc.call("billing", "get_job", run["jobId"])
        assert (job["status"], job["attempts"], job["outcomes"]) == ("succeeded", 2, {"billed": profiles})
        assert_billed_once_gap_free(db, profiles)
        assert db.outbox.count_documents({"type": "billing.bill_run_completed"}) == 1
    finally:
        rpc.close()
        successor.stop()


def test_the_same_run_started_twice_at_once_bills_once_and_the_other_reports_it(workers):
    db = workers.database("billing")
    profiles = 200
    seed(db, profiles)
    env = {**workers.env, "LOG_LEVEL": "WARNING"}
    jobs = [subprocess.Popen([sys.executable, "-m", "billing", "bill-run"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    reports = []
    for job in jobs:
        out, err = job.communicate(timeout=240)
        assert job.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert {r["id"] for r in reports} == {f"bill-run-{TODAY:%Y%m%dT%H%M%S}Z"}
    # One of them (or the worker's timer) executes the run; the other reports it running or done.
    assert {r["status"] for r in reports} <= {"running", "done"}
    deadline = time.monotonic() + 120
    while db.jobs.find_one({"kind": "bill-run"})["status"] != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert db.jobs.count_documents({}) == 1, "the same run started twice is one job"
    assert_billed_once_gap_free(db, profiles)

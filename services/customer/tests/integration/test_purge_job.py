"""The purge as a resumable job in real processes: killed part-way, the next run finishes it, and
every account is purged and announced exactly once."""
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

ACCOUNTS = 300


@pytest.fixture
def platform(start_services):
    platform = start_services(env={"JOB_LEASE_SECONDS": "1", "LOG_LEVEL": "WARNING"})
    platform.run_job("customer", "migrate")
    return platform


def seed_closed_accounts(db, count):
    past = datetime.now(UTC) - timedelta(days=1)
    db.customers.insert_many([{"_id": n, "status": "closed", "purge_after": past} for n in range(1, count + 1)])


def wait_for(check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := check()) is not None:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_killed_purge_is_finished_by_the_next_run_and_purges_each_account_once(platform):
    db = platform.database("customer")
    seed_closed_accounts(db, ACCOUNTS)
    first = subprocess.Popen([sys.executable, "-m", "customer", "purge-closed-accounts"], env=platform.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Progress is visible while the job runs; kill the process once it is part-way through.
        job = wait_for(lambda: db.jobs.find_one({"progress.processed": {"$gte": 20}}))
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        first.kill()
    killed = db.jobs.find_one({"_id": job["_id"]})
    assert killed["status"] == "running" and killed["progress"]["total"] == ACCOUNTS
    assert 20 <= killed["progress"]["processed"] < ACCOUNTS, "killed part-way"

    time.sleep(1.2)  # the killed run's lease (JOB_LEASE_SECONDS=1) expires
    out = platform.run_job("customer", "purge-closed-accounts")
    resumed = db.jobs.find_one({"_id": job["_id"]})
    assert (resumed["status"], resumed["attempts"], resumed["report"]) == ("succeeded", 2, {"purged": ACCOUNTS})
    assert resumed["progress"] == {"processed": ACCOUNTS, "failed": 0, "total": ACCOUNTS}
    assert "purged 0 closed account" in out, "the run's own job found nothing left to purge"
    assert db.customers.count_documents({}) == 0
    purged = [r["envelope"]["data"]["id"] for r in db.outbox.find({"type": "customer.purged"})]
    assert sorted(purged) == list(range(1, ACCOUNTS + 1)), "each account announced exactly once"

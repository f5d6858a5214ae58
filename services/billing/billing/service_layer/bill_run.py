"""The bill run: bill every profile whose cycle ended by `as_of`, as a resumable job.

A run is identified by its `as_of` (the same run started twice is one run: the second start reports
it running or done). Whoever holds the run's lease executes it in batches of `bill_profiles` (each
batch one transaction that also counts the run's progress); a crashed executor stops renewing the
lease and the next one (the worker's timer, or another `bill-run` job) resumes where it stopped:
billed profiles are no longer due, so nothing is billed twice. Hierarchy members are billed before
their owners (deepest level first), so a member's invoice reaches the owner's bill in time.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from billing.adapters.documents import Bill, BillRun
from billing.config import BillingConfig
from billing.domain.hierarchy import billing_levels
from billing.schemas import BillRunStartSchema
from billing.service_layer import hierarchy
from billing.service_layer.billing import bill_profiles
from billing.service_layer.catalog import Catalog, TaxCache
from chassis.clock import utc_now
from chassis.errors import NotFound, load_wire
from chassis.mongo import UnitOfWork, database, transaction

SOURCE = "billing"
PENDING, RUNNING, DONE = "pending", "running", "done"
log = logging.getLogger(__name__)
_start_in = BillRunStartSchema()


def run_id_for(as_of: datetime) -> str:
    return f"bill-run-{as_of.astimezone(UTC):%Y%m%dT%H%M%S}Z"


def start_bill_run(payload: dict[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Create the run for `asOf` (default: now) unless it exists. `started` says whether this call created it."""
    data = load_wire(_start_in, payload or {})
    as_of = (data["as_of"] or now or utc_now()).astimezone(UTC)
    as_of = as_of.replace(microsecond=as_of.microsecond // 1000 * 1000)
    run_id = run_id_for(as_of)
    db = database()
    total = db[Bill._get_collection_name()].count_documents({"status": "active", "cycle_end": {"$lte": as_of}})
    try:
        db[BillRun._get_collection_name()].insert_one({
            "_id": run_id, "as_of": as_of, "status": PENDING, "total": total, "processed": 0, "invoices": 0,
            "failures": [], "lease_owner": None, "lease_until": None, "created_at": utc_now()})
        started = True
    except DuplicateKeyError:
        started = False
    return {**get_bill_run(run_id), "started": started}


def get_bill_run(run_id: str) -> dict[str, Any]:
    run = database()[BillRun._get_collection_name()].find_one({"_id": run_id})
    if run is None:
        raise NotFound(f"bill run {run_id} does not exist")
    return _wire(run)


def list_bill_runs(limit: int = 20) -> list[dict[str, Any]]:
    return [_wire(r) for r in database()[BillRun._get_collection_name()].find().sort("created_at", -1).limit(limit)]


def _wire(run: dict[str, Any]) -> dict[str, Any]:
    return {"id": run["_id"], "kind": "bill_run", "asOf": run["as_of"].isoformat(), "status": run["status"],
            "progress": {"processed": run["processed"], "total": run["total"]}, "invoices": run["invoices"],
            "failures": run["failures"],
            "startedAt": run.get("started_at").isoformat() if run.get("started_at") else None,
            "finishedAt": run.get("finished_at").isoformat() if run.get("finished_at") else None}


def executor_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim(run_id: str, owner: str, lease: float) -> dict[str, Any] | None:
    now = utc_now()
    return database()[BillRun._get_collection_name()].find_one_and_update(
        {"_id": run_id, "status": {"$in": [PENDING, RUNNING]},
         "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}, {"lease_owner": owner}]},
        {"$set": {"status": RUNNING, "lease_owner": owner, "lease_until": now + timedelta(seconds=lease)},
         "$min": {"started_at": now}},
        return_document=ReturnDocument.AFTER)


def execute_bill_run(run_id: str, catalog: Catalog, config: BillingConfig | None = None,
                     owner: str | None = None) -> dict[str, Any]:
    """Execute (or resume) a run if its lease is free; returns the run as it stands afterwards."""
    config = config or BillingConfig.from_env()
    owner = owner or executor_id()
    run = _claim(run_id, owner, config.bill_run_lease_seconds)
    if run is None:
        return get_bill_run(run_id)  # done, or someone else holds the lease
    taxes = TaxCache(catalog)
    failed = {f["billingProfileId"] for f in run["failures"]}
    while True:
        due = _due_profiles(run["as_of"], failed)
        if not due:
            break
        for batch in due:
            outcomes = bill_profiles(batch, run["as_of"], taxes, run_id=run_id)
            failed |= {o.billing_profile_id for o in outcomes if o.status == "failed"}
            if _claim(run_id, owner, config.bill_run_lease_seconds) is None:
                log.warning("bill run lease lost", extra={"run": run_id})
                return get_bill_run(run_id)
    return _finish(run_id, owner)


def _due_profiles(as_of: datetime, failed: set[str]) -> list[list[str]]:
    """Batches of due profiles, deepest hierarchy level first; a batch never mixes levels."""
    config = BillingConfig.from_env()
    rows = database()[Bill._get_collection_name()].find(
        {"status": "active", "cycle_end": {"$lte": as_of}}, {"billing_profile_id": 1, "customer_id": 1})
    levels = billing_levels(hierarchy.owner_map())
    by_level: dict[int, list[str]] = {}
    for row in rows:
        if row["billing_profile_id"] not in failed:
            by_level.setdefault(levels.get(row["customer_id"], 0), []).append(row["billing_profile_id"])
    batches = []
    for level in sorted(by_level, reverse=True):
        ids = sorted(by_level[level])
        batches.extend(ids[i:i + config.bill_run_batch] for i in range(0, len(ids), config.bill_run_batch))
    return batches


def _finish(run_id: str, owner: str) -> dict[str, Any]:
    def close(uow: UnitOfWork) -> None:
        run = uow.collection(BillRun).find_one_and_update(
            {"_id": run_id, "status": RUNNING, "lease_owner": owner},
            {"$set": {"status": DONE, "finished_at": utc_now(), "lease_until": None}},
            return_document=ReturnDocument.AFTER, session=uow.session)
        if run is not None:
            uow.publish("billing.bill_run_completed", {
                "jobId": run_id, "asOf": run["as_of"].isoformat(), "processed": run["processed"],
                "failed": len(run["failures"]), "invoices": run["invoices"]}, subject=run_id)

    transaction(close, source=SOURCE)
    return get_bill_run(run_id)


def resume_bill_runs(catalog: Catalog, config: BillingConfig | None = None) -> list[str]:
    """Execute every run that is pending or whose executor stopped renewing its lease (the worker's timer)."""
    now = utc_now()
    runs = database()[BillRun._get_collection_name()].find(
        {"status": {"$in": [PENDING, RUNNING]}, "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]},
        {"_id": 1}).sort("created_at", 1)
    finished = []
    for run in list(runs):
        if execute_bill_run(run["_id"], catalog, config)["status"] == DONE:
            finished.append(run["_id"])
    return finished


def scheduled_bill_run(catalog: Catalog, now: datetime | None = None) -> dict[str, Any]:
    """The CronJob's run: every profile whose cycle ended by the start of today (UTC) — cycles turn at
    midnight, so the day's run is one run however often the job starts that day."""
    now = now or utc_now()
    as_of = datetime(now.year, now.month, now.day, tzinfo=UTC)
    run = start_bill_run({"asOf": as_of.isoformat()})
    return execute_bill_run(run["id"], catalog)

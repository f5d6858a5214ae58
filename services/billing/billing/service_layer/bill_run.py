"""The bill run: bill every profile whose cycle ended by `as_of`, as a resumable job (chassis.jobs).

A run is identified by its `as_of`: run `bill-run-20260201T000000Z` is job
`billing-bill-run-20260201T000000Z`, so the same run started twice is one job (the second start reports
it running or done). `GET /api/v1/bill-runs/{id}` is a view of that job, which `GET /api/v1/jobs/{jobId}`
shows as well.

Whoever holds the job's lease bills the due profiles in batches (`BILL_RUN_BATCH`): each batch is one
`run.steps` transaction holding the profiles' invoices (numbered gap-free), their bills, the steps'
records and the progress. A step is keyed by billing profile and the bill it bills
(`<profileId>:<billId>`), so a profile whose cycles ended twice by `as_of` is billed once per cycle and
never twice for one. A crashed worker stops renewing the lease and the next one (the worker's timer, or
another `bill-run` command) resumes where it stopped, leaving out the steps that are done. Hierarchy
members are billed before their owners (deepest level first), so a member's invoice reaches the owner's
bill in time. `billing.bill_run_completed` is published once, by a last step of its own.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from billing.adapters.documents import Bill
from billing.config import BillingConfig
from billing.domain.hierarchy import billing_levels
from billing.schemas import BillRunStartSchema
from billing.service_layer import hierarchy
from billing.service_layer.billing import Outcome, bill_batch
from billing.service_layer.catalog import Catalog, TaxCache
from billing.service_layer.jobs import BILL_RUN, SERVICE, as_of_param, store
from chassis.clock import utc_now
from chassis.errors import NotFound, load_wire
from chassis.jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, ItemFailed, JobRun, JobStore, Steps, execute
from chassis.mongo import JOBS, UnitOfWork, database

log = logging.getLogger(__name__)
_start_in = BillRunStartSchema()
# The run's status as the bill-run resource has always shown it.
STATUS = {QUEUED: "pending", RUNNING: "running", SUCCEEDED: "done", FAILED: "failed"}
COMPLETED_STEP = "completed"


def run_id_for(as_of: datetime) -> str:
    return f"bill-run-{as_of.astimezone(UTC):%Y%m%dT%H%M%S}Z"


def job_id_for(run_id: str) -> str:
    return run_id if run_id.startswith(f"{SERVICE}-") else f"{SERVICE}-{run_id}"


def run_id_of(job_id: str) -> str:
    return job_id.removeprefix(f"{SERVICE}-")


def start_bill_run(payload: dict[str, Any] | None = None, now: datetime | None = None,
                   jobs: JobStore | None = None) -> dict[str, Any]:
    """Create the run for `asOf` (default: now) unless it exists; a run that failed is queued again (it
    resumes after what it did). `started` says whether this call created or requeued it."""
    data = load_wire(_start_in, payload or {})
    as_of = (data["as_of"] or now or utc_now()).astimezone(UTC)
    as_of = as_of.replace(microsecond=as_of.microsecond // 1000 * 1000)
    total = database()[Bill._get_collection_name()].count_documents({"status": "active", "cycle_end": {"$lte": as_of}})
    jobs = jobs or store()
    job, started = jobs.create_once(BILL_RUN, {"asOf": as_of.isoformat()}, job_id_for(run_id_for(as_of)), total=total)
    if job["status"] == FAILED and jobs.requeue(job["_id"]):
        job, started = jobs.get(job["_id"]), True
    return {**bill_run_view(job), "started": started}


def get_bill_run(run_id: str, jobs: JobStore | None = None) -> dict[str, Any]:
    """A run by its id (`bill-run-…`) or its job's id (`billing-bill-run-…`)."""
    try:
        job = (jobs or store()).get(job_id_for(run_id))
    except NotFound:
        job = None
    if job is None or job["kind"] != BILL_RUN:
        raise NotFound(f"bill run {run_id} does not exist")
    return bill_run_view(job)


def list_bill_runs(limit: int = 20, jobs: JobStore | None = None) -> list[dict[str, Any]]:
    return [bill_run_view(job) for job in (jobs or store()).listing(kind=BILL_RUN, limit=limit)[0]]


def bill_run_view(job: dict[str, Any]) -> dict[str, Any]:
    """The bill-run resource (contracts/http/gateway.d/billing.yaml, BillRun) of a bill-run job."""

    def instant(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    progress = job["progress"]
    return {"id": run_id_of(job["_id"]), "jobId": job["_id"], "kind": "bill_run", "asOf": job["params"]["asOf"],
            "status": STATUS[job["status"]],
            "progress": {"processed": progress["processed"], "total": progress["total"] or 0},
            "invoices": (job.get("outcomes") or {}).get("billed", 0),
            "failures": [{"billingProfileId": profile_of(f["item"]), "reason": f["reason"]} for f in job["failures"]],
            "error": job["error"], "startedAt": instant(job["started_at"]), "finishedAt": instant(job["finished_at"])}


def profile_of(step_key: str) -> str:
    return step_key.rpartition(":")[0] or step_key


def bill_run_steps(catalog: Catalog, config: BillingConfig | None = None) -> Steps:
    """What a worker does with a bill-run job (see the module docstring)."""
    batch_size = (config or BillingConfig.from_env()).bill_run_batch

    def steps(run: JobRun) -> dict[str, Any]:
        as_of, taxes = as_of_param(run.params), TaxCache(catalog)
        # Billing a profile may leave a next cycle that also ended by `as_of`: look again until none is due.
        while batches := _due_batches(as_of, run.done_keys(), batch_size):
            run.set_total(run.progress["processed"] + sum(len(batch) for batch in batches))
            for batch in batches:
                run.steps(batch, lambda uow, keys: _bill(uow, keys, as_of, taxes, run_id_of(run.id)),
                          outcome=lambda result: result["status"])
        run.step(COMPLETED_STEP, lambda uow: _announce(uow, run.id, as_of), counted=False)
        return _report(run.store.get(run.id))

    return steps


def _bill(uow: UnitOfWork, keys: list[str], as_of: datetime, taxes: TaxCache, run_id: str) -> dict[str, Any]:
    by_profile = {profile_of(key): key for key in keys}
    outcomes: list[Outcome] = bill_batch(uow, list(by_profile), as_of, taxes, run_id)
    return {by_profile[o.billing_profile_id]: ItemFailed(o.reason or "failed") if o.status == "failed"
            else {"status": o.status, "invoiceId": o.invoice_id} for o in outcomes}


def _due_batches(as_of: datetime, done: set[str], size: int) -> list[list[str]]:
    """Step keys of the due profiles' active bills not done yet, in batches, deepest hierarchy level
    first; a batch never mixes levels."""
    rows = database()[Bill._get_collection_name()].find(
        {"status": "active", "cycle_end": {"$lte": as_of}}, {"billing_profile_id": 1, "customer_id": 1})
    levels = billing_levels(hierarchy.owner_map())
    by_level: dict[int, list[str]] = {}
    for row in rows:
        key = f"{row['billing_profile_id']}:{row['_id']}"
        if key not in done:
            by_level.setdefault(levels.get(row["customer_id"], 0), []).append(key)
    batches: list[list[str]] = []
    for level in sorted(by_level, reverse=True):
        keys = sorted(by_level[level])
        batches.extend(keys[i:i + size] for i in range(0, len(keys), size))
    return batches


def _announce(uow: UnitOfWork, job_id: str, as_of: datetime) -> str:
    job = uow.collection(JOBS).find_one({"_id": job_id}, session=uow.session)
    assert job is not None, "announced by the job itself, as its last step"
    report = _report(job)
    uow.publish("billing.bill_run_completed", {
        "jobId": job_id, "runId": run_id_of(job_id), "asOf": as_of.isoformat(), "processed": report["processed"],
        "failed": report["failed"], "invoices": report["invoices"]}, subject=job_id)
    return "published"


def _report(job: dict[str, Any]) -> dict[str, Any]:
    outcomes = job.get("outcomes") or {}
    return {"runId": run_id_of(job["_id"]), "asOf": job["params"]["asOf"], "processed": job["progress"]["processed"],
            "failed": job["progress"]["failed"], "invoices": outcomes.get("billed", 0),
            "notDue": outcomes.get("not_due", 0)}


def execute_bill_run(run_id: str, catalog: Catalog, config: BillingConfig | None = None,
                     owner: str | None = None) -> dict[str, Any]:
    """Execute (or resume) a run if its lease is free; the run as it stands afterwards."""
    job = execute(store(config), job_id_for(run_id), bill_run_steps(catalog, config), owner)
    return bill_run_view(job)


def scheduled_bill_run(catalog: Catalog, now: datetime | None = None,
                       config: BillingConfig | None = None) -> dict[str, Any]:
    """The CronJob's run: every profile whose cycle ended by the start of today (UTC) — cycles turn at
    midnight, so the day's run is one run however often the job starts that day."""
    now = now or utc_now()
    as_of = datetime(now.year, now.month, now.day, tzinfo=UTC)
    run = start_bill_run({"asOf": as_of.isoformat()}, jobs=store(config))
    return execute_bill_run(run["id"], catalog, config)

"""Billing's long jobs on the chassis' resumable-job primitive (chassis.jobs, decision 0011).

Bill runs, payment collection, SEPA export and bank-file imports are jobs in billing's `jobs` collection with ids
`billing-…`, so `GET /api/v1/jobs/{id}` shows their progress. One lease for all of them
(`BillingConfig.job_lease_seconds`); the worker's timer resumes queued jobs and jobs whose worker
died (`resume`), and the CronJobs' commands do the same before they start a job of their own.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from billing.config import BillingConfig
from chassis.errors import Conflict
from chassis.jobs import FAILED, JobStore, Steps, resume_jobs

SERVICE = "billing"
BILL_RUN, COLLECT_PAYMENTS, SEPA_EXPORT, BANK_IMPORT = "bill-run", "collect-payments", "sepa-export", "bank-import"


def store(config: BillingConfig | None = None) -> JobStore:
    return JobStore(SERVICE, lease_seconds=(config or BillingConfig.from_env()).job_lease_seconds)


def resume(handlers: Mapping[str, Steps], config: BillingConfig | None = None) -> list[dict[str, Any]]:
    """Run every queued job and every job a crashed worker left (its lease expired); the finished jobs."""
    return resume_jobs(SERVICE, handlers, store=store(config))


def as_of_param(params: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(params["asOf"]).astimezone(UTC)


def report_of(job: Mapping[str, Any]) -> dict[str, Any]:
    """A finished job's report for a caller that waited for it; a failed job is a Conflict naming it."""
    if job["status"] == FAILED:
        raise Conflict(f"job {job['_id']} failed: {job['error']}; see GET /api/v1/jobs/{job['_id']}",
                       {"jobId": job["_id"]})
    if job["report"] is None:
        # Only a job id chosen by the caller can be held by someone else; ours are new each time.
        raise Conflict(f"job {job['_id']} is {job['status']} in another worker", {"jobId": job["_id"]})
    return {**job["report"], "jobId": job["_id"]}

"""Scheduled jobs (`python -m customer <job>`), run by cron / Kubernetes CronJobs."""
from __future__ import annotations

import logging

from chassis.settings import Settings
from customer import bootstrap
from customer.service_layer import customers

log = logging.getLogger(__name__)


def purge_closed_accounts(settings: Settings) -> int:
    """Delete accounts closed longer than the retention period (CUSTOMER_RETENTION_DAYS,
    applied when the account is closed); each purge emits `customer.purged`. A resumable job
    (GET /api/v1/jobs/{id}); a run a crash cut short is finished by the next run."""
    job = customers.purge_closed_accounts(bootstrap.transactions(), lease_seconds=settings.job_lease_seconds)
    purged = (job["report"] or {}).get("purged", 0)
    log.info("purged closed customer accounts", extra={"purged": purged, "job": job["_id"]})
    print(f"customer: purged {purged} closed account(s) past their retention period (job {job['_id']}, "
          f"{job['status']})")
    if job["status"] != "succeeded":
        reason = job["error"] or "another run holds it"
        raise SystemExit(f"customer: purge job {job['_id']} is {job['status']}: {reason}")
    return purged

"""Scheduled jobs (`python -m customer <job>`), run by cron / Kubernetes CronJobs."""
from __future__ import annotations

import logging

from chassis.settings import Settings
from customer.service_layer import customers

log = logging.getLogger(__name__)


def purge_closed_accounts(settings: Settings) -> int:
    """Delete accounts closed longer than the retention period (CUSTOMER_RETENTION_DAYS,
    applied when the account is closed); each purge emits `customer.purged`."""
    purged = customers.purge_closed_accounts()
    log.info("purged closed customer accounts", extra={"purged": purged})
    print(f"customer: purged {purged} closed account(s) past their retention period")
    return purged

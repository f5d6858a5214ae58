"""Billing's own settings (the shared ones are chassis.settings.Settings), read in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class BillingConfig:
    # A bill run's lease: a worker that stops renewing it (crashed) is taken over after this long.
    bill_run_lease_seconds: float = 30.0
    # Profiles billed per transaction in a run (numbers are allocated per batch, gap-free).
    bill_run_batch: int = 100
    # How often the worker looks for runs to start or take over.
    bill_run_poll_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> BillingConfig:
        return cls(bill_run_lease_seconds=float(os.environ.get("BILL_RUN_LEASE_SECONDS", cls.bill_run_lease_seconds)),
                   bill_run_batch=int(os.environ.get("BILL_RUN_BATCH", cls.bill_run_batch)),
                   bill_run_poll_seconds=float(os.environ.get("BILL_RUN_POLL_SECONDS", cls.bill_run_poll_seconds)))

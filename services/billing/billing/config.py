"""Billing's own settings (the shared ones are chassis.settings.Settings), read in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from billing.domain.sepa import Creditor, Pain008Version, check_creditor_id
from chassis.manifest import default_port
from chassis.settings import Settings


def _first_set(*names: str) -> str | None:
    return next((os.environ[name] for name in names if os.environ.get(name)), None)


@dataclass(frozen=True)
class BillingConfig:
    # The lease of billing's jobs (bill runs, payment collection, SEPA export; chassis.jobs): a worker
    # that stops renewing it (crashed) is taken over after this long.
    job_lease_seconds: float = 30.0
    # Profiles billed per transaction in a run (numbers are allocated per batch, gap-free).
    bill_run_batch: int = 100
    # How often the worker looks for queued jobs to start and for crashed workers' jobs to take over.
    job_poll_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> BillingConfig:
        # BILL_RUN_LEASE_SECONDS and BILL_RUN_POLL_SECONDS are the older names (from when only bill runs were jobs).
        lease = _first_set("BILLING_JOB_LEASE_SECONDS", "BILL_RUN_LEASE_SECONDS")
        poll = _first_set("BILLING_JOB_POLL_SECONDS", "BILL_RUN_POLL_SECONDS")
        return cls(job_lease_seconds=float(lease or cls.job_lease_seconds),
                   bill_run_batch=int(os.environ.get("BILL_RUN_BATCH") or cls.bill_run_batch),
                   job_poll_seconds=float(poll or cls.job_poll_seconds))

# Development creditor (the EPC's example identifier and a test IBAN): production sets its own.
DEV_CREDITOR = Creditor(name="Monetization Demo Operator", iban="DE89370400440532013000", bic="COBADEFFXXX",
                        creditor_id="DE98ZZZ09999999999")


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """`1h,1d,3d` -> delays before the 2nd, 3rd, 4th attempt; after the last one collection stops retrying."""
    units = {"m": "minutes", "h": "hours", "d": "days", "s": "seconds"}
    delays = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part[-1] not in units or not part[:-1].isdigit():
            raise ValueError(f"retry schedule entries look like 30m, 6h or 3d, not {part!r}")
        delays.append(timedelta(**{units[part[-1]]: int(part[:-1])}))
    return tuple(delays)


@dataclass(frozen=True)
class PaymentSettings:
    provider_url: str
    provider_timeout: float
    provider_port: int
    retry_schedule: tuple[timedelta, ...]
    creditor: Creditor
    pain008_version: Pain008Version
    collection_lead_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentSettings:
        get = settings.service_setting
        port = int(get("PAYMENT_PROVIDER_PORT", str(default_port("billing", "payment-provider"))))
        creditor = Creditor(name=get("SEPA_CREDITOR_NAME", DEV_CREDITOR.name),
                            iban=get("SEPA_CREDITOR_IBAN", DEV_CREDITOR.iban).replace(" ", "").upper(),
                            bic=get("SEPA_CREDITOR_BIC", DEV_CREDITOR.bic).upper(),
                            creditor_id=check_creditor_id(get("SEPA_CREDITOR_ID", DEV_CREDITOR.creditor_id)))
        return cls(provider_url=get("PAYMENT_PROVIDER_URL", f"http://127.0.0.1:{port}").rstrip("/"),
                   provider_timeout=float(get("PAYMENT_PROVIDER_TIMEOUT_SECONDS", "10")),
                   provider_port=port,
                   retry_schedule=parse_schedule(get("PAYMENT_RETRY_SCHEDULE", "1d,3d,7d")),
                   creditor=creditor,
                   pain008_version=Pain008Version(get("SEPA_PAIN008_VERSION", Pain008Version.V08.value)),
                   collection_lead_days=int(get("SEPA_LEAD_DAYS", "2")))

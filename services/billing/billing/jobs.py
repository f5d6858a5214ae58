"""Command-line jobs (`python -m billing <job>`): what the chart's CronJobs and operators run.

Each command first finishes the jobs of its kind that a crashed run left (their lease expired), then
runs its own job to the end and prints it as one JSON line (the last line of its output). The jobs are
readable meanwhile through `GET /api/v1/jobs/{id}`.
"""
from __future__ import annotations

import json

from billing import bootstrap
from billing.service_layer import bill_run, collection, jobs, sepa_export
from chassis.clock import utc_now
from chassis.nameko_adapter import RpcClient
from chassis.settings import Settings


def bill_run_command(settings: Settings) -> None:
    """The scheduled bill run: every profile whose cycle ended by midnight UTC today."""
    billing = bootstrap.config()
    rpc = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout)
    try:
        catalog = bootstrap.catalog(rpc)
        jobs.resume({jobs.BILL_RUN: bill_run.bill_run_steps(catalog, billing)}, billing)
        print(json.dumps(bill_run.scheduled_bill_run(catalog, config=billing)), flush=True)
    finally:
        rpc.close()


def collect_payments(settings: Settings) -> None:
    billing, payments = bootstrap.config(), bootstrap.payment_settings(settings)
    provider = bootstrap.provider(payments)
    jobs.resume({jobs.COLLECT_PAYMENTS: collection.collection_steps(provider, payments)}, billing)
    print(json.dumps(collection.collect_card_payments(provider, payments, utc_now(), bootstrap.jobs(billing))),
          flush=True)


def export_sepa(settings: Settings) -> None:
    billing, payments = bootstrap.config(), bootstrap.payment_settings(settings)
    jobs.resume({jobs.SEPA_EXPORT: sepa_export.export_steps(payments)}, billing)
    print(json.dumps(sepa_export.export_sepa(payments, utc_now(), bootstrap.jobs(billing))), flush=True)

"""Composition root of the billing processes (worker, CronJob commands): the one place that picks the
adapters the use cases run on — the catalog over RPC, the payment provider over HTTP, billing's settings
and its job store — and the handlers of billing's jobs (chassis.jobs), so that the worker's timer, the
RPC methods and the commands run the same bill run, collection, SEPA export and bank import."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from billing.adapters.catalog import RpcCatalog
from billing.adapters.payment_provider import HttpPaymentProvider, PaymentProvider
from billing.config import BillingConfig, PaymentSettings
from billing.service_layer import jobs as billing_jobs
from billing.service_layer.bank_import import import_steps
from billing.service_layer.bill_run import bill_run_steps
from billing.service_layer.catalog import Catalog
from billing.service_layer.collection import collection_steps
from billing.service_layer.sepa_export import export_steps
from chassis.jobs import JobRun, JobStore, Steps
from chassis.nameko_adapter import RpcClient
from chassis.settings import Settings


def config() -> BillingConfig:
    return BillingConfig.from_env()


def payment_settings(settings: Settings) -> PaymentSettings:
    return PaymentSettings.from_settings(settings)


def catalog(rpc: RpcClient) -> Catalog:
    return RpcCatalog(rpc)


def provider(payments: PaymentSettings) -> PaymentProvider:
    return HttpPaymentProvider(payments.provider_url, payments.provider_timeout)


def jobs(billing: BillingConfig) -> JobStore:
    return billing_jobs.store(billing)


def bill_run_handlers(catalog: Catalog, billing: BillingConfig) -> dict[str, Steps]:
    return {billing_jobs.BILL_RUN: bill_run_steps(catalog, billing)}


def payment_job_handlers(payments: Callable[[], PaymentSettings]) -> dict[str, Steps]:
    """What a worker does with each kind of payment job. The settings are read when a job runs, so a
    payment setting at fault fails those jobs (naming it) and never the bill runs."""

    def collect(run: JobRun) -> Any:
        settings = payments()
        return collection_steps(provider(settings), settings)(run)

    return {billing_jobs.COLLECT_PAYMENTS: collect,
            billing_jobs.SEPA_EXPORT: lambda run: export_steps(payments())(run),
            billing_jobs.BANK_IMPORT: lambda run: import_steps(payments())(run)}

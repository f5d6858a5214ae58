"""Composition root of the billing processes (worker, CronJob commands): the one place that picks the
adapters the use cases run on — the catalog over RPC, the payment provider over HTTP, billing's settings
and its job store — and the handlers of billing's jobs (chassis.jobs), so that the worker's timer, the
RPC methods and the commands run the same bill run, collection, SEPA export and bank import."""
from __future__ import annotations

from billing.adapters.catalog import RpcCatalog
from billing.adapters.payment_provider import HttpPaymentProvider, PaymentProvider
from billing.config import BillingConfig, PaymentSettings
from billing.service_layer import jobs as billing_jobs
from billing.service_layer.bank_import import import_steps
from billing.service_layer.bill_run import bill_run_steps
from billing.service_layer.catalog import Catalog
from billing.service_layer.collection import collection_steps
from billing.service_layer.sepa_export import export_steps
from chassis.jobs import JobStore, Steps
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


def job_handlers(catalog: Catalog, payments: PaymentSettings, billing: BillingConfig) -> dict[str, Steps]:
    """What a worker does with each kind of billing job."""
    return {billing_jobs.BILL_RUN: bill_run_steps(catalog, billing),
            billing_jobs.COLLECT_PAYMENTS: collection_steps(provider(payments), payments),
            billing_jobs.SEPA_EXPORT: export_steps(payments),
            billing_jobs.BANK_IMPORT: import_steps(payments)}

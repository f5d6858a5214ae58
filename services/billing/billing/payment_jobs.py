"""Command-line jobs (`python -m billing <job>`): what the chart's CronJobs and operators run."""
from __future__ import annotations

import json

from billing.adapters.payment_provider import HttpPaymentProvider
from billing.config import PaymentSettings
from billing.service_layer import collection, sepa_export
from chassis.clock import utc_now
from chassis.settings import Settings


def collect_payments(settings: Settings) -> None:
    config = PaymentSettings.from_settings(settings)
    provider = HttpPaymentProvider(config.provider_url, config.provider_timeout)
    print(json.dumps(collection.collect_card_payments(provider, config, utc_now())), flush=True)


def export_sepa(settings: Settings) -> None:
    print(json.dumps(sepa_export.export_sepa(PaymentSettings.from_settings(settings), utc_now())), flush=True)

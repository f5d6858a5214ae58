"""Fixtures for payments: invoices as billing issues them, customers' payment instruments, and the
local payment provider as a real process on a free port."""
import json
import subprocess
import sys
import urllib.request
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.adapters.documents import ALL_DOCUMENTS, BillingCustomer, BillingProfile
from billing.adapters.payment_provider import HttpPaymentProvider
from billing.config import PaymentSettings
from billing.domain.lines import Totals
from billing.service_layer import instruments
from billing.service_layer.invoices import Issue, store_issued
from chassis import localinfra
from chassis.clock import utc_now
from chassis.mongo import ensure_indexes, transaction
from chassis.settings import Settings


@pytest.fixture
def billing_db(service_db):
    db = service_db("billing")
    ensure_indexes(ALL_DOCUMENTS, db)
    return db


@pytest.fixture
def issue_invoice(billing_db):
    """An invoice issued through billing's own issuing path (numbered, announced, credit balance applied)."""

    def issue(customer_id=7, amount="100.00", profile=None, currency="EUR"):
        profile_id = profile or f"profile-{customer_id}"
        if not BillingProfile.objects(id=profile_id).first():
            BillingProfile(id=profile_id, customer_id=customer_id, name="Main", payment_type="postpaid",
                           resource=currency, interval="monthly", billing_day=1,
                           valid_from=datetime(2025, 1, 1, tzinfo=UTC), credit_balance=Decimal(0)).save()
        raw_profile = billing_db.billing_profiles.find_one({"_id": profile_id})
        total = Decimal(amount)
        issued = Issue(profile=raw_profile, customer=None, bill_id=None, period=None, lines=[],
                       totals=Totals(net=total, tax=Decimal(0), total=total), issued_at=utc_now())
        transaction(lambda uow: store_issued(uow, [issued]), source="billing")
        return issued.invoice_id
    return issue


@pytest.fixture
def customer_paying(billing_db):
    """Give a customer billing's copy of its payment information (card token or SEPA mandate)."""
    def pay_with(customer_id, method, **details):
        BillingCustomer(id=customer_id, name=details.pop("name", f"Customer {customer_id}"),
                        email=f"c{customer_id}@example.com", source_event="test").save()
        info = {"method": method}
        if method == "creditCard":
            info["creditCard"] = {"holderName": "Card Holder", "token": details["token"]}
        if method == "directDebit":
            info["directDebit"] = {"mandateId": details.get("mandateId"), "iban": "DE02120300000000202051",
                                   "bic": "BYLADEM1001",
                                   "signedOn": details.get("signedOn", date(2025, 1, 10).isoformat())}
        instruments.store_instrument(customer_id, info)
    return pay_with


@pytest.fixture
def events(billing_db):
    def of_type(event_type):
        return [doc["envelope"]["data"] for doc in billing_db.outbox.find({"type": event_type}).sort("created_at")]
    return of_type


class LocalProvider:
    def __init__(self, port, process):
        self.port, self.process = port, process
        self.url = f"http://127.0.0.1:{port}"

    def accepted(self):
        with urllib.request.urlopen(f"{self.url}/v1/charges", timeout=10) as response:
            return json.loads(response.read())["charges"]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


def start_provider(tmp_path, port=None, **env):
    port = port or localinfra.free_port()
    log = open(tmp_path / f"provider-{port}.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "billing", "payment-provider"], stdout=log,
                               stderr=subprocess.STDOUT, env={**localinfra_env(), "BILLING_PAYMENT_PROVIDER_PORT":
                                                              str(port), **env})
    localinfra.wait_http([f"http://127.0.0.1:{port}/health/live"], timeout=60, alive=process)
    return LocalProvider(port, process)


def localinfra_env():
    import os
    return {**os.environ, "LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The local payment provider process ("tok_slow" tokens answer after 3 s)."""
    started = start_provider(tmp_path_factory.mktemp("provider"), BILLING_PROVIDER_SLOW_SECONDS="3")
    yield started
    started.stop()


@pytest.fixture
def payment_settings(provider):
    base = PaymentSettings.from_settings(Settings.from_env("billing"))
    return replace(base, provider_url=provider.url, provider_timeout=1.0)


@pytest.fixture
def http_provider(payment_settings):
    return HttpPaymentProvider(payment_settings.provider_url, payment_settings.provider_timeout)

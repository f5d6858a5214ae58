"""The payments part of the billing worker: thin RPC methods and event handlers (mixed into BillingService)."""
from __future__ import annotations

import base64
from typing import Any

from billing import bootstrap
from billing.adapters.payment_provider import PaymentProvider
from billing.config import PaymentSettings
from billing.service_layer import bank_import, charges, collection, instruments, payments, sepa_export
from chassis.clock import utc_now
from chassis.envelope import CloudEvent
from chassis.errors import NotFound, ValidationFailed
from chassis.jobs import JobStore, to_wire
from chassis.nameko_adapter import RpcClient, cloudevent_handler, rpc


class PaymentsRpc:
    """Needs the worker's `services` (RemoteServices) and `settings`."""

    services: RpcClient

    def _payment_settings(self) -> PaymentSettings:
        return bootstrap.payment_settings(self.settings)  # type: ignore[attr-defined]

    def _provider(self) -> PaymentProvider:
        return bootstrap.provider(self._payment_settings())

    def _jobs(self) -> JobStore:
        return bootstrap.jobs(bootstrap.config())

    def _fetch_payment_info(self, customer_id: int) -> dict[str, Any] | None:
        try:
            return self.services.call("customer", "get_payment_info", customer_id)
        except NotFound:
            return None

    @cloudevent_handler("customer.created")
    def on_customer_created_payment_info(self, event: CloudEvent) -> None:
        instruments.record_created(event.data, self._fetch_payment_info)

    @cloudevent_handler("customer.updated")
    def on_customer_updated(self, event: CloudEvent) -> None:
        if "paymentInfo" in event.data.get("changed", []):
            instruments.refresh(event.data["id"], self._fetch_payment_info)

    @rpc
    def record_offline_payment(self, customer_id: int, invoice_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return payments.record_offline_payment(customer_id, invoice_id, payload)

    @rpc
    def list_payments(self, customer_id: int, invoice_id: str) -> list[dict[str, Any]]:
        return payments.list_payments(customer_id, invoice_id)

    @rpc
    def get_credit_balance(self, profile_id: str) -> dict[str, Any]:
        return payments.get_credit_balance(profile_id)

    @rpc
    def pay_invoice(self, customer_id: int, invoice_id: str, token: str, idempotency_key: str) -> dict[str, Any]:
        return charges.pay_invoice(self._provider(), self._payment_settings().retry_schedule, customer_id,
                                   invoice_id, token, idempotency_key)

    @rpc
    def collect_payments(self) -> dict[str, Any]:
        """A collection job run to its end; its report (with `jobId`)."""
        return collection.collect_card_payments(self._provider(), self._payment_settings(), utc_now(),
                                                self._jobs())

    @rpc
    def start_payment_collection(self) -> dict[str, Any]:
        """A queued collection job that the worker's timer runs; the caller watches the job."""
        return to_wire(collection.start_collection(utc_now(), self._jobs()))

    @rpc
    def export_sepa(self) -> dict[str, Any]:
        """A SEPA export job run to its end; its report (with `jobId`)."""
        return sepa_export.export_sepa(self._payment_settings(), utc_now(), self._jobs())

    @rpc
    def start_sepa_export(self) -> dict[str, Any]:
        """A queued SEPA export job that the worker's timer runs; the caller watches the job."""
        return to_wire(sepa_export.start_export(utc_now(), self._jobs()))

    @rpc
    def list_sepa_files(self, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        return sepa_export.list_files(offset, limit)

    @rpc
    def get_sepa_file(self, file_id: str) -> dict[str, Any]:
        return sepa_export.get_file(file_id)

    @rpc
    def get_sepa_file_content(self, file_id: str) -> str:
        """The pain.008 XML, base64 (RPC payloads are JSON)."""
        return base64.b64encode(sepa_export.file_content(file_id)).decode()

    @rpc
    def import_bank_file(self, content_base64: str) -> dict[str, Any]:
        """A bank-file import job run to its end; its report (with `jobId`)."""
        return bank_import.import_bank_file(_decoded(content_base64), self._payment_settings(), utc_now(),
                                            self._jobs())

    @rpc
    def start_bank_import(self, content_base64: str) -> dict[str, Any]:
        """Check the file and queue its import job for the worker's timer; the caller watches the job."""
        return to_wire(bank_import.start_import(_decoded(content_base64), self._payment_settings(), utc_now(),
                                                self._jobs()))


def _decoded(content_base64: str) -> bytes:
    try:
        return base64.b64decode(content_base64, validate=True)
    except ValueError as exc:
        raise ValidationFailed("the bank file must be sent base64-encoded", {"file": "not base64"}) from exc

"""The billing worker: thin RPC methods and event handlers over the use cases."""
from __future__ import annotations

from typing import Any

from billing import bootstrap
from billing.adapters.documents import ALL_DOCUMENTS
from billing.entrypoints.payments_rpc import PaymentsRpc
from billing.service_layer import (
    bill_run,
    billing,
    bills,
    customers,
    hierarchy,
    invoices,
    jobs,
    profiles,
    rendering,
    subscriptions,
)
from billing.service_layer.catalog import Catalog, TaxCache
from chassis.clock import utc_now
from chassis.envelope import CloudEvent
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, RemoteServices, WorkerBase, cloudevent_handler, rpc, timer

CONFIG = bootstrap.config()


def _instant(value: str | None) -> Any:
    from datetime import datetime

    from chassis.errors import ValidationFailed

    if value is None:
        return utc_now()
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed("not an instant", {"asOf": "must be an ISO 8601 date-time"}) from exc
    if at.tzinfo is None:
        raise ValidationFailed("instant without time zone", {"asOf": "must carry a time zone (UTC)"})
    return at


class BillingService(PaymentsRpc, WorkerBase):
    name = "billing"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))
    services = RemoteServices()

    @property
    def catalog(self) -> Catalog:
        return bootstrap.catalog(self.services)

    # -- events ---------------------------------------------------------------------------

    @cloudevent_handler("customer.created")
    def on_customer_created(self, event: CloudEvent) -> None:
        customers.record_customer("billing.on_customer_created", event)

    @cloudevent_handler("customer.purged")
    def on_customer_purged(self, event: CloudEvent) -> None:
        customers.purge_customer("billing.on_customer_purged", event)

    @cloudevent_handler("subscription.created")
    def on_subscription_created(self, event: CloudEvent) -> None:
        subscriptions.record_subscription("billing.on_subscription_created", event)

    @cloudevent_handler("subscription.changed")
    def on_subscription_changed(self, event: CloudEvent) -> None:
        subscriptions.record_subscription("billing.on_subscription_changed", event)

    @cloudevent_handler("subscription.cancelled")
    def on_subscription_cancelled(self, event: CloudEvent) -> None:
        subscriptions.record_subscription("billing.on_subscription_cancelled", event)

    @cloudevent_handler("usage.charged")
    def on_usage_charged(self, event: CloudEvent) -> None:
        bills.record_usage_charged("billing.on_usage_charged", event)

    @cloudevent_handler("balance.adjusted")
    def on_balance_adjusted(self, event: CloudEvent) -> None:
        bills.record_adjusted("billing.on_balance_adjusted", event)

    @cloudevent_handler("usage.adjusted")
    def on_usage_adjusted(self, event: CloudEvent) -> None:
        bills.record_adjusted("billing.on_usage_adjusted", event)

    # -- jobs: bill runs, payment collection, SEPA export ------------------------------------

    @timer(CONFIG.job_poll_seconds)
    def run_bill_runs(self) -> None:
        """Run the bill runs asked for through the API and take over the runs of workers that died."""
        jobs.resume(bootstrap.bill_run_handlers(self.catalog, CONFIG), CONFIG)

    @timer(CONFIG.job_poll_seconds)
    def run_payment_jobs(self) -> None:
        """The same for collections, SEPA exports and bank imports (a timer of their own, so a long
        collection never holds a bill run back)."""
        jobs.resume(bootstrap.payment_job_handlers(self._payment_settings), CONFIG)

    @rpc
    def start_bill_run(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        return bill_run.start_bill_run(payload, jobs=bootstrap.jobs(CONFIG))

    @rpc
    def get_bill_run(self, run_id: str) -> dict[str, Any]:
        return bill_run.get_bill_run(run_id)

    @rpc
    def list_bill_runs(self) -> list[dict[str, Any]]:
        return bill_run.list_bill_runs()

    # -- customers, profiles ------------------------------------------------------------------

    @rpc
    def get_customer(self, customer_id: int) -> dict[str, Any]:
        return customers.get_customer(customer_id)

    @rpc
    def create_billing_profile(self, payload: dict[str, Any]) -> dict[str, Any]:
        return profiles.create_billing_profile(payload, self.catalog)

    @rpc
    def get_billing_profile(self, profile_id: str) -> dict[str, Any]:
        return profiles.get_billing_profile(profile_id)

    @rpc
    def get_profile_view(self, profile_id: str) -> dict[str, Any]:
        return profiles.profile_view(profile_id)

    @rpc
    def list_billing_profiles(self, customer_id: int) -> list[dict[str, Any]]:
        return profiles.list_billing_profiles(customer_id)

    @rpc
    def delete_billing_profile(self, profile_id: str) -> bool:
        return profiles.delete_billing_profile(profile_id)

    # -- bills ----------------------------------------------------------------------------

    @rpc
    def list_bills(self, profile_id: str) -> list[dict[str, Any]]:
        return bills.list_bills(profile_id)

    @rpc
    def get_bill(self, bill_id: int) -> dict[str, Any]:
        return bills.get_bill(bill_id)

    @rpc
    def adjust_bill(self, bill_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        return bills.adjust_bill(bill_id, payload, self.catalog)

    @rpc
    def adjust_bill_item(self, bill_id: int, item_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return bills.adjust_bill(bill_id, payload, self.catalog, item_id=item_id)

    @rpc
    def run_billing(self, profile_id: str, as_of: str | None = None) -> dict[str, Any]:
        """Run billing for one profile (operator): bills its cycle if it ended by `as_of` (default now)."""
        profiles.get_billing_profile(profile_id)
        [outcome] = billing.bill_profiles([profile_id], _instant(as_of), TaxCache(self.catalog))
        return {"billingProfileId": profile_id, "status": outcome.status, "invoiceId": outcome.invoice_id,
                "reason": outcome.reason}

    @rpc
    def bill_now(self, profile_id: str) -> dict[str, Any]:
        return billing.bill_now(profile_id, utc_now(), TaxCache(self.catalog))

    @rpc
    def preview_invoice(self, profile_id: str, details: bool = False) -> dict[str, Any]:
        return billing.preview(profile_id, TaxCache(self.catalog), details)

    # -- invoices -------------------------------------------------------------------------

    @rpc
    def count_unpaid_invoices(self, customer_id: int) -> int:
        return invoices.count_unpaid_invoices(customer_id)

    @rpc
    def list_invoices(self, customer_id: int, status: str | None = None, offset: int = 0,
                      limit: int = 50) -> dict[str, Any]:
        return invoices.list_invoices(customer_id, status, offset, limit)

    @rpc
    def get_invoice(self, customer_id: int, invoice_id: str) -> dict[str, Any]:
        return invoices.get_invoice(customer_id, invoice_id)

    @rpc
    def render_invoice(self, customer_id: int, invoice_id: str, fmt: str = "pdf") -> dict[str, Any]:
        return rendering.render_invoice(customer_id, invoice_id, fmt)

    @rpc
    def issue_note(self, customer_id: int, invoice_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return invoices.issue_note(customer_id, invoice_id, payload, self.catalog)

    # -- hierarchy ------------------------------------------------------------------------

    @rpc
    def create_hierarchy_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        return hierarchy.create_hierarchy_group(payload)

    @rpc
    def get_hierarchy_group(self, group_id: str) -> dict[str, Any]:
        return hierarchy.get_hierarchy_group(group_id)

    @rpc
    def find_hierarchy_groups(self, owner_name: str | None = None, owner_customer_id: int | None = None,
                              member_customer_id: int | None = None) -> list[dict[str, Any]]:
        return hierarchy.find_hierarchy_groups(owner_name, owner_customer_id, member_customer_id)

    @rpc
    def update_hierarchy_group(self, group_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        return hierarchy.update_hierarchy_group(group_id, patch)

    @rpc
    def cancel_hierarchy_group(self, group_id: str) -> dict[str, Any]:
        return hierarchy.cancel_hierarchy_group(group_id)

    @rpc
    def join_hierarchy_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        return hierarchy.join_hierarchy_group(payload)

    @rpc
    def update_hierarchy_membership(self, member_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        return hierarchy.update_membership(member_id, patch)

    @rpc
    def leave_hierarchy_group(self, member_id: str) -> bool:
        return hierarchy.leave_hierarchy_group(member_id)

"""The selfcare worker: the operators' portal-user actions over RPC (called by the
gateway) and the clean-up when a customer is purged."""
from __future__ import annotations

from typing import Any

from chassis.envelope import CloudEvent
from chassis.idempotency import apply_once
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, RemoteServices, WorkerBase, cloudevent_handler, rpc
from selfcare import bootstrap
from selfcare.adapters.documents import ALL_DOCUMENTS
from selfcare.service_layer import users


class SelfcareService(WorkerBase):
    name = "selfcare"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))
    services = RemoteServices()

    def _links(self) -> users.LinkSettings:
        return bootstrap.link_settings(self.settings)

    @rpc
    def get_portal_user(self, customer_id: int) -> dict[str, Any]:
        return users.get_user(customer_id)

    @rpc
    def create_portal_user(self, customer_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        return users.create_user(customer_id, payload, self.services)

    @rpc
    def update_portal_user(self, customer_id: int, patch: dict[str, Any]) -> dict[str, Any]:
        return users.update_user(customer_id, patch)

    @rpc
    def delete_portal_user(self, customer_id: int) -> dict[str, Any]:
        return users.delete_user(customer_id)

    @rpc
    def request_verification_email(self, customer_id: int) -> dict[str, Any]:
        return users.request_verification_email(customer_id, self._links())

    @rpc
    def request_password_update(self, customer_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        return users.request_password_update(customer_id, payload, self._links())

    @cloudevent_handler("customer.purged")
    def on_customer_purged(self, event: CloudEvent) -> None:
        apply_once("selfcare.on_customer_purged", event, lambda uow: users.forget(uow, int(event.data["id"])))

"""The gateway worker: background work of the operators' side (the onboarding recovery sweep)."""
from __future__ import annotations

from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, RemoteServices, WorkerBase, timer
from gateway.adapters.documents import ALL_DOCUMENTS
from gateway.adapters.sagas import SagaStore
from gateway.bootstrap import GatewaySettings, process_owner
from gateway.service_layer import onboarding

SETTINGS = GatewaySettings.from_env()


class GatewayService(WorkerBase):
    name = "gateway"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))
    services = RemoteServices()

    @timer(SETTINGS.onboarding_recovery_seconds)
    def recover_onboardings(self) -> None:
        """Compensate onboardings whose API process died mid-saga (their lease ran out)."""
        onboarding.recover_stale(self.services, SagaStore(lease_seconds=SETTINGS.onboarding_lease_seconds),
                                 process_owner("worker"))

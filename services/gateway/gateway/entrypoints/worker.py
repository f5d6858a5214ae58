"""The gateway worker: background work of the operators' side (the onboarding recovery sweep)."""
from __future__ import annotations

import os
import socket

from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, RemoteServices, WorkerBase, timer
from chassis.settings import Settings
from gateway.adapters.documents import ALL_DOCUMENTS
from gateway.adapters.sagas import SagaStore
from gateway.service_layer import onboarding

_settings = Settings.from_env("gateway")
RECOVERY_SECONDS = float(_settings.service_setting("ONBOARDING_RECOVERY_SECONDS", "10"))
LEASE_SECONDS = float(_settings.service_setting("ONBOARDING_LEASE_SECONDS", "60"))


class GatewayService(WorkerBase):
    name = "gateway"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))
    services = RemoteServices()

    @timer(RECOVERY_SECONDS)
    def recover_onboardings(self) -> None:
        """Compensate onboardings whose API process died mid-saga (their lease ran out)."""
        onboarding.recover_stale(self.services, SagaStore(lease_seconds=LEASE_SECONDS),
                                 f"worker:{socket.gethostname()}:{os.getpid()}")

"""Composition root of the gateway's processes: its settings read once, and the RPC client, auth, stores and
caches built once and handed to the handlers (`gateway.dependencies`) or the worker."""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from chassis.contracts import http_spec
from chassis.mongo import connect, ensure_indexes
from chassis.nameko_adapter import RpcClient
from chassis.settings import Settings
from chassis.versions import ExpiringCache, VersionCache, catalog_loader
from gateway import dependencies
from gateway.adapters.documents import ALL_DOCUMENTS
from gateway.adapters.sagas import SagaStore
from gateway.service_layer.auth import AuthConfig, ensure_initial_admin

log = logging.getLogger(__name__)
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


@dataclass(frozen=True)
class GatewaySettings:
    """Every gateway-specific variable (GATEWAY_*), read in one place."""

    base: Settings
    onboarding_lease_seconds: float
    onboarding_recovery_seconds: float

    @classmethod
    def from_env(cls) -> GatewaySettings:
        base = Settings.from_env("gateway")
        return cls(base, float(base.service_setting("ONBOARDING_LEASE_SECONDS", "60")),
                   float(base.service_setting("ONBOARDING_RECOVERY_SECONDS", "10")))


def process_owner(kind: str) -> str:
    """Who holds a saga's lease: this process."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def build_api(settings: GatewaySettings | None = None) -> Settings:
    """Everything the API handlers use, built once; returns the base settings for the HTTP app."""
    settings = settings or GatewaySettings.from_env()
    auth = AuthConfig.from_settings(settings.base)
    connect(settings.base)
    ensure_indexes(ALL_DOCUMENTS)
    if ensure_initial_admin(auth):
        log.info("initial admin ready", extra={"username": auth.admin_username})
    rpc = RpcClient(settings.base.amqp_uri, timeout=settings.base.rpc_timeout)
    dependencies.install(
        rpc=rpc, auth=auth, required_roles=operation_roles(http_spec("gateway")),
        sagas=SagaStore(lease_seconds=settings.onboarding_lease_seconds),
        # Plan versions never change: each is asked from the catalog once per process.
        plans=VersionCache(catalog_loader(rpc)), owner=process_owner("api"),
        # Onboarding reads only a resource's kind (monetary or unit), which never changes: one RPC a minute.
        resources=ExpiringCache(ttl=60))
    return settings.base


def operation_roles(spec: dict) -> dict[str, list[str]]:
    """operationId -> `x-roles` for the operations that narrow the default role rule."""
    return {
        operation["operationId"]: operation["x-roles"]
        for path in spec.get("paths", {}).values()
        for method, operation in path.items()
        if method in HTTP_METHODS and "x-roles" in operation
    }

"""The operators' HTTP process (connexion on uvicorn): composition root of the gateway API."""
from __future__ import annotations

import logging
from typing import Any

import connexion
from connexion.middleware import MiddlewarePosition

from chassis.contracts import http_spec
from chassis.http import build_app
from chassis.mongo import connect, ensure_indexes
from chassis.nameko_adapter import RpcClient
from chassis.settings import Settings
from gateway import dependencies
from gateway.adapters.documents import ALL_DOCUMENTS
from gateway.console.app import with_console
from gateway.entrypoints.audit_trail import AuditTrail, DropSecurityContext
from gateway.service_layer.auth import AuthConfig, ensure_initial_admin

log = logging.getLogger(__name__)
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def create_app() -> Any:
    """The operators' API, with the console under /console (gateway.console)."""
    return with_console(create_api())


def create_api() -> connexion.AsyncApp:
    settings = Settings.from_env("gateway")
    dependencies.auth = AuthConfig.from_settings(settings)
    connect(settings)
    ensure_indexes(ALL_DOCUMENTS)
    if ensure_initial_admin(dependencies.auth):
        log.info("initial admin ready", extra={"username": dependencies.auth.admin_username})
    dependencies.required_roles = operation_roles(http_spec("gateway"))
    dependencies.rpc = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout)
    app = build_app(settings, ["gateway"])
    app.add_middleware(AuditTrail, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(DropSecurityContext, position=MiddlewarePosition.BEFORE_VALIDATION)
    return app


def operation_roles(spec: dict) -> dict[str, list[str]]:
    """operationId -> `x-roles` for the operations that narrow the default role rule."""
    return {
        operation["operationId"]: operation["x-roles"]
        for path in spec.get("paths", {}).values()
        for method, operation in path.items()
        if method in HTTP_METHODS and "x-roles" in operation
    }

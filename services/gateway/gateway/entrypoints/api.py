"""The operators' HTTP process (connexion on uvicorn): the app around what gateway.bootstrap builds."""
from __future__ import annotations

from typing import Any

import connexion
from connexion.middleware import MiddlewarePosition

from chassis.http import build_app
from gateway import bootstrap
from gateway.console.app import with_console
from gateway.entrypoints.audit_trail import AuditTrail, DropSecurityContext


def create_app() -> Any:
    """The operators' API, with the console under /console (gateway.console)."""
    return with_console(create_api())


def create_api() -> connexion.AsyncApp:
    settings = bootstrap.build_api()
    app = build_app(settings, ["gateway"])
    app.add_middleware(AuditTrail, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(DropSecurityContext, position=MiddlewarePosition.BEFORE_VALIDATION)
    return app

"""The operators' HTTP process (connexion on uvicorn): composition root of the gateway API."""
from __future__ import annotations

import connexion

from chassis.http import build_app
from chassis.mongo import connect
from chassis.nameko_adapter import RpcClient
from chassis.settings import Settings
from gateway import dependencies


def create_app() -> connexion.AsyncApp:
    settings = Settings.from_env("gateway")
    connect(settings)
    dependencies.rpc = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout)
    return build_app(settings, ["gateway"])

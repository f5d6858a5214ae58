"""/api/v1/onboardings: the onboarding saga over HTTP."""
from __future__ import annotations

import functools
import os
import socket
from typing import Any

from connexion import request

from chassis.http import json_response
from chassis.settings import Settings
from gateway import dependencies
from gateway.adapters.sagas import SagaStore
from gateway.service_layer import onboarding

OWNER = f"api:{socket.gethostname()}:{os.getpid()}"


@functools.cache
def sagas() -> SagaStore:
    settings = Settings.from_env("gateway")
    return SagaStore(lease_seconds=float(settings.service_setting("ONBOARDING_LEASE_SECONDS", "60")))


def create(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    # connexion validates header parameters but does not pass them to handlers.
    idempotency_key = request.headers.get("Idempotency-Key")
    summary, status, replayed = onboarding.onboard(dependencies.rpc, sagas(), body, idempotency_key, OWNER)
    headers = {"Location": f"/api/v1/onboardings/{summary['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(summary, status, headers)


def get(onboarding_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(onboarding.get_onboarding(sagas(), onboarding_id))

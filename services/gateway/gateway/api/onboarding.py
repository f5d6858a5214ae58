"""/api/v1/onboardings: the onboarding saga over HTTP."""
from __future__ import annotations

from typing import Any

from connexion import request

from chassis.http import json_response
from gateway import dependencies
from gateway.service_layer import onboarding


def create(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    # connexion validates header parameters but does not pass them to handlers.
    idempotency_key = request.headers.get("Idempotency-Key")
    summary, status, replayed = onboarding.onboard(dependencies.rpc, dependencies.sagas, body, idempotency_key,
                                                      dependencies.owner, dependencies.plans, dependencies.resources)
    headers = {"Location": f"/api/v1/onboardings/{summary['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(summary, status, headers)


def get(onboarding_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(onboarding.get_onboarding(dependencies.sagas, onboarding_id))

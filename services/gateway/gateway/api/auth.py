"""/api/v1/auth/token, operator users, and the bearer check of every other operation."""
from __future__ import annotations

from typing import Any

from connexion import request

from chassis.errors import Forbidden, TooManyRequests, Unauthorized
from chassis.http import json_response
from gateway import dependencies
from gateway.domain.auth import permitted
from gateway.service_layer import audit
from gateway.service_layer import auth as users


def bearer_info(token: str, request: Any = None) -> dict[str, Any] | None:
    """Referenced by `x-bearerInfoFunc` in gateway.yaml: who is calling, and may they."""
    operator = users.verify_token(dependencies.auth, token)
    if operator is None:
        return None
    method = request.scope["method"] if request is not None else "GET"
    operation = (request.scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")
                 if request is not None else None)
    if not permitted(operator["role"], method, dependencies.required_roles.get(operation or "")):
        audit.record_refusal(actor=operator["sub"], role=operator["role"], operation=operation or "unknown",
                             method=method, path=request.scope["path"] if request is not None else "", status=403)
        raise Forbidden(f"role {operator['role']!r} may not call {operation or method}")
    audit.note(actor=operator["sub"], role=operator["role"], operation=operation)
    return operator


def issue_token(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    client = request.scope.get("client") or ("unknown", 0)
    username = body.get("username")
    try:
        token = users.issue_token(dependencies.auth, username, body.get("password"), address=client[0])
    except (Unauthorized, TooManyRequests) as refused:
        audit.record_refusal(actor=str(username)[:64], role="", operation="gateway.api.auth.issue_token",
                             method="POST", path="/api/v1/auth/token", status=refused.status,
                             target=f"user/{str(username)[:64]}", detail={"address": client[0]})
        raise
    return json_response(token, 200, {"Cache-Control": "no-store"})


def list_users() -> tuple[Any, int, dict[str, str]]:
    found = users.list_users()
    return json_response(found, 200, {"X-Total-Count": str(len(found)), "X-Result-Count": str(len(found))})


def create_user(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    created = users.create_user(body)
    audit.note(target=f"user/{created['username']}", before=None, after=created)
    return json_response(created, 201, {"Location": f"/api/v1/users/{created['username']}"})


def update_user(username: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    before = users.get_user(username)
    after = users.update_user(username, body, audit.actor() or "")
    audit.note(target=f"user/{username}", before=before, after=after)
    return json_response(after)


def delete_user(username: str) -> tuple[Any, int, dict[str, str]]:
    before = users.delete_user(username, audit.actor() or "")
    audit.note(target=f"user/{username}", before=before, after=None)
    return None, 204, {}

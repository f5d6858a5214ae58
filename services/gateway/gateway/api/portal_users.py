"""/api/v1/customers/{customerId}/portalUser: the customer's self-care portal user
(owned by the selfcare service; every change audited, passwords never)."""
from __future__ import annotations

from typing import Any

from chassis.http import json_response
from gateway import dependencies
from gateway.service_layer import audit


def _call(method: str, *args: Any) -> Any:
    return dependencies.rpc.call("selfcare", method, *args)


def _target(customer_id: int) -> str:
    return f"customer/{customer_id}/portalUser"


def get(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_portal_user", customer_id))


def create(customer_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    created = _call("create_portal_user", customer_id, body)
    audit.note(target=_target(customer_id), before=None, after=created)
    return json_response(created, 201, {"Location": f"/api/v1/customers/{customer_id}/portalUser"})


def update(customer_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    before = _call("get_portal_user", customer_id)
    after = _call("update_portal_user", customer_id, body)
    audit.note(target=_target(customer_id), before=before, after=after)
    return json_response(after)


def delete(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    before = _call("delete_portal_user", customer_id)
    audit.note(target=_target(customer_id), before=before, after=None)
    return None, 204, {}


def request_verification_email(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    sent = _call("request_verification_email", customer_id)
    audit.note(target=f"{_target(customer_id)}/verificationEmail", before=None, after=sent)
    return json_response(sent, 202)


def request_password_update(customer_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    requested = _call("request_password_update", customer_id, body)
    audit.note(target=f"{_target(customer_id)}/passwordUpdate", before=None, after=requested)
    return json_response(requested, 202)

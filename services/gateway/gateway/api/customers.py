"""/api/v1/customers"""
from __future__ import annotations

from typing import Any

from chassis.http import json_response
from gateway import dependencies


def create(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    customer = dependencies.rpc.call("customer", "create_customer", body)
    return json_response(customer, 201, {"Location": f"/api/v1/customers/{customer['id']}"})


def get(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    return json_response(dependencies.rpc.call("customer", "get_customer", customer_id))

"""/api/v1/customers/{customerId}/...: balance groups, subscriptions (TMF637 product inventory), services and
sharing groups; /api/v1/sharing-groups: the member's search by the owner's full name.

Every path names the customer, and rating answers NotFound for another customer's ids, so an operator
cannot change one customer's inventory through another's URL.
"""
from __future__ import annotations

from typing import Any

from chassis.http import json_response
from gateway import dependencies
from gateway.service_layer import audit, inventory

Response = tuple[Any, int, dict[str, str]]


def _rating(method: str, *args: Any) -> Any:
    return dependencies.rpc.call("rating", method, *args)


def _listed(items: list[Any]) -> Response:
    return json_response(items, 200, {"X-Total-Count": str(len(items)), "X-Result-Count": str(len(items))})


def _created(target: str, after: dict[str, Any]) -> Response:
    audit.note(target=target, before=None, after=after)
    return json_response(after, 201, {"Location": f"/api/v1/{target}"})


def _changed(target: str, before: Any, after: Any) -> Response:
    audit.note(target=target, before=before, after=after)
    return json_response(after)


# Balance groups

def list_balance_groups(customer_id: int) -> Response:
    inventory.customer(dependencies.rpc, customer_id)
    return _listed(_rating("list_balance_groups", customer_id))


def create_balance_group(customer_id: int, body: dict[str, Any]) -> Response:
    group = inventory.create_balance_group(dependencies.rpc, customer_id, body)
    return _created(f"customers/{customer_id}/balance-groups/{group['id']}", group)


def edit_balance_group(customer_id: int, group_id: str, body: dict[str, Any]) -> Response:
    before = _rating("get_balance_group", group_id, customer_id)
    after = inventory.edit_balance_group(dependencies.rpc, customer_id, group_id, body)
    return _changed(f"customers/{customer_id}/balance-groups/{group_id}", before, after)


# Subscriptions

def _subscription_target(customer_id: int, subscription_id: str) -> str:
    return f"customers/{customer_id}/subscriptions/{subscription_id}"


def list_subscriptions(customer_id: int) -> Response:
    inventory.customer(dependencies.rpc, customer_id)
    return _listed(_rating("list_subscriptions", customer_id))


def get_subscription(customer_id: int, subscription_id: str) -> Response:
    return json_response(_rating("get_subscription", subscription_id, customer_id))


def create_subscription(customer_id: int, body: dict[str, Any]) -> Response:
    subscription = inventory.add_subscription(dependencies.rpc, customer_id, body)
    return _created(_subscription_target(customer_id, subscription["id"]), subscription)


def _subscription_change(customer_id: int, subscription_id: str, change: Any) -> Response:
    before = _rating("get_subscription", subscription_id, customer_id)
    return _changed(_subscription_target(customer_id, subscription_id), before, change())


def add_bundle(customer_id: int, subscription_id: str, body: dict[str, Any]) -> Response:
    return _subscription_change(customer_id, subscription_id, lambda: inventory.add_bundle(
        dependencies.rpc, customer_id, subscription_id, body))


def use_vouchers(customer_id: int, subscription_id: str, body: dict[str, Any]) -> Response:
    return _subscription_change(customer_id, subscription_id, lambda: inventory.use_vouchers(
        dependencies.rpc, customer_id, subscription_id, body))


def edit_product(customer_id: int, subscription_id: str, product_id: str, body: dict[str, Any]) -> Response:
    return _subscription_change(customer_id, subscription_id, lambda: _rating(
        "edit_product", customer_id, subscription_id, product_id, body))


def cancel_product(customer_id: int, subscription_id: str, product_id: str) -> Response:
    return _subscription_change(customer_id, subscription_id, lambda: _rating(
        "cancel_product", customer_id, subscription_id, product_id))


def preview_plan_transition(customer_id: int, subscription_id: str, body: dict[str, Any]) -> Response:
    return json_response(inventory.preview_transition(dependencies.rpc, customer_id, subscription_id, body))


def transition_plan(customer_id: int, subscription_id: str, body: dict[str, Any]) -> Response:
    return _subscription_change(customer_id, subscription_id, lambda: inventory.transition(
        dependencies.rpc, customer_id, subscription_id, body))


def cancel_subscription(customer_id: int, subscription_id: str, body: dict[str, Any]) -> Response:
    return _subscription_change(customer_id, subscription_id, lambda: _rating(
        "cancel_subscription", subscription_id, body["reason"], customer_id))


# Services

def list_services(customer_id: int, subscription_id: str | None = None, status: str | None = None) -> Response:
    inventory.customer(dependencies.rpc, customer_id)
    return _listed(_rating("list_services", customer_id, subscription_id, status))


def get_service(customer_id: int, service_id: str) -> Response:
    return json_response(_rating("get_service", customer_id, service_id))


def edit_service(customer_id: int, service_id: str, body: dict[str, Any]) -> Response:
    before = _rating("get_service", customer_id, service_id)
    after = _rating("edit_service", customer_id, service_id, body)
    return _changed(f"customers/{customer_id}/services/{service_id}", before, after)


# Sharing

def list_sharing_groups(customer_id: int) -> Response:
    """The groups the customer owns and those it is a member of."""
    inventory.customer(dependencies.rpc, customer_id)
    owned = _rating("list_sharing_groups", [customer_id])
    joined = _rating("list_sharing_groups", None, customer_id)
    return _listed(owned + joined)


def create_sharing_group(customer_id: int, body: dict[str, Any]) -> Response:
    group = inventory.create_sharing_group(dependencies.rpc, customer_id, body)
    return _created(f"customers/{customer_id}/sharing-groups/{group['id']}", group)


def edit_sharing_group(customer_id: int, group_id: str, body: dict[str, Any]) -> Response:
    after = _rating("edit_sharing_group", customer_id, group_id, body)
    return _changed(f"customers/{customer_id}/sharing-groups/{group_id}", None, after)


def cancel_sharing_group(customer_id: int, group_id: str) -> Response:
    after = _rating("cancel_sharing_group", customer_id, group_id)
    return _changed(f"customers/{customer_id}/sharing-groups/{group_id}", None, after)


def find_sharing_groups(owner_name: str) -> Response:
    return _listed(inventory.find_sharing_groups(dependencies.rpc, owner_name))


def join_sharing_group(customer_id: int, body: dict[str, Any]) -> Response:
    member = inventory.join_sharing_group(dependencies.rpc, customer_id, body)
    return _created(f"customers/{customer_id}/sharing-memberships/{member['id']}", member)


def edit_membership(customer_id: int, member_id: str, body: dict[str, Any]) -> Response:
    after = _rating("edit_membership", customer_id, member_id, body)
    return _changed(f"customers/{customer_id}/sharing-memberships/{member_id}", None, after)


def remove_membership(customer_id: int, member_id: str) -> Response:
    _rating("remove_membership", customer_id, member_id)
    audit.note(target=f"customers/{customer_id}/sharing-memberships/{member_id}", before=None, after=None)
    return None, 204, {}

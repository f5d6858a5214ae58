"""The details page's group sections: balance groups (add, linked to a billing profile), sharing
(add sponsorship as owner or member, edit, cancel, remove) and hierarchy (add as owner or member,
edit, cancel, remove). Sharing groups live in rating, hierarchy groups in billing; both through the API."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.console import forms, local_time
from gateway.console.api_client import ApiProblem
from gateway.console.local_time import operator_zone
from gateway.console.web import Page, read_section, route

CUSTOMERS = "/api/v1/customers"
HIERARCHY = "/api/v1/hierarchy-groups"
PERIOD = ("status", "validFrom", "validTo")
SHARING_OWNER = ("name", "subscriptionId", "policy", *PERIOD)
HIERARCHY_OWNER = ("name", "billingProfileId", *PERIOD)


def _mine(groups: list[dict[str, Any]], customer_id: int) -> list[dict[str, Any]]:
    """Each group with the customer's role in it and, for a member, its membership."""
    shown = []
    for group in groups:
        membership = next((m for m in group.get("members") or [] if m.get("customerId") == customer_id), None)
        owner = group.get("ownerCustomerId") == customer_id
        shown.append({**group, "role": "owner" if owner else "member", "membership": None if owner else membership})
    return shown


async def _owner_names(page: Page, groups: list[dict[str, Any]]) -> None:
    """Rating lists a customer's sharing groups without their owners' names; the page shows them."""
    names: dict[int, str] = {}
    for group in groups:
        owner = group.get("ownerCustomerId")
        if group.get("ownerName") or not owner:
            continue
        if owner not in names:
            found, _ = await read_section(page, f"{CUSTOMERS}/{owner}")
            names[owner] = (found or {}).get("name") or f"#{owner}"
        group["ownerName"] = names[owner]


async def load(page: Page, customer_id: int) -> dict[str, Any]:
    sharing, sharing_error = await read_section(page, f"{CUSTOMERS}/{customer_id}/sharing-groups")
    owned, hierarchy_error = await read_section(page, HIERARCHY, ownerCustomerId=customer_id)
    joined, joined_error = await read_section(page, HIERARCHY, memberCustomerId=customer_id)
    policies, _ = await read_section(page, "/api/v1/catalog/sharing-policies", limit=1000)
    await _owner_names(page, sharing or [])
    return {"sharing_groups": _mine(sharing or [], customer_id), "sharing_error": sharing_error,
            "hierarchy_groups": _mine((owned or []) + (joined or []), customer_id),
            "hierarchy_error": hierarchy_error or joined_error, "sharing_policies": policies or []}


def _body(pairs: Any, tz: str, keep: tuple[str, ...]) -> dict[str, Any]:
    body = forms.unflatten(pairs)
    return local_time.instants({k: v for k, v in body.items() if k in keep}, tz, "validFrom", "validTo")


async def _change(request: Request, page: Page, method: str, path: str, body: Any, form_name: str) -> Response:
    from gateway.console.pages.customers import change

    return await change(request, page, method, path, body, form_name)


async def _pick_a_group(request: Request, page: Page, form_name: str) -> Response:
    """Member mode needs a picked group (it is part of the API path, so the API cannot name it)."""
    from gateway.console.pages.customers import _details

    form = await request.form()
    return await _details(page, request.path_params["customer_id"], status_code=400, failed=form_name,
                          errors={"groupId": "Find the owner and pick one of their groups."}, values=dict(form.items()))


# -- balance groups ------------------------------------------------------------------------------

@route("/customers/{customer_id:int}/balance-groups", methods=("POST",))
async def add_balance_group(request: Request, page: Page) -> Response:
    body = _body((await request.form()).multi_items(), operator_zone(request), ("name", "billingProfileId", "validFrom",
                                                                        "validTo"))
    return await _change(request, page, "POST", f"{CUSTOMERS}/{request.path_params['customer_id']}/balance-groups",
                         body, "balance-groups:new")


# -- sharing ---------------------------------------------------------------------------------------

@route("/customers/{customer_id:int}/sharing", methods=("POST",))
async def add_sponsorship(request: Request, page: Page) -> Response:
    """Add sponsorship: owner mode creates a group sharing one of the customer's subscriptions; member
    mode joins a group found by its owner's full name."""
    form = await request.form()
    customer_id = request.path_params["customer_id"]
    if form.get("_mode") == "member":
        group_id = str(form.get("groupId") or "").strip()
        if not group_id:
            return await _pick_a_group(request, page, "sharing:new")
        return await _change(request, page, "POST", f"{CUSTOMERS}/{customer_id}/sharing-memberships",
                             {"groupId": group_id}, "sharing:new")
    body = _body(form.multi_items(), operator_zone(request), SHARING_OWNER)
    return await _change(request, page, "POST", f"{CUSTOMERS}/{customer_id}/sharing-groups", body, "sharing:new")


@route("/customers/{customer_id:int}/sharing-groups/{group_id:str}", methods=("POST",))
async def edit_sharing_group(request: Request, page: Page) -> Response:
    body = _body((await request.form()).multi_items(), operator_zone(request), PERIOD)
    path = f"{CUSTOMERS}/{request.path_params['customer_id']}/sharing-groups/{request.path_params['group_id']}"
    return await _change(request, page, "PATCH", path, body, f"sharing:{request.path_params['group_id']}")


@route("/customers/{customer_id:int}/sharing-groups/{group_id:str}/cancel", methods=("POST",))
async def cancel_sharing_group(request: Request, page: Page) -> Response:
    path = f"{CUSTOMERS}/{request.path_params['customer_id']}/sharing-groups/{request.path_params['group_id']}/cancel"
    return await _change(request, page, "POST", path, None, f"sharing:{request.path_params['group_id']}")


@route("/customers/{customer_id:int}/sharing-memberships/{member_id:str}", methods=("POST",))
async def edit_sharing_membership(request: Request, page: Page) -> Response:
    body = _body((await request.form()).multi_items(), operator_zone(request), PERIOD)
    path = f"{CUSTOMERS}/{request.path_params['customer_id']}/sharing-memberships/{request.path_params['member_id']}"
    return await _change(request, page, "PATCH", path, body, f"sharing:{request.path_params['member_id']}")


@route("/customers/{customer_id:int}/sharing-memberships/{member_id:str}/remove", methods=("POST",))
async def remove_sharing_membership(request: Request, page: Page) -> Response:
    path = f"{CUSTOMERS}/{request.path_params['customer_id']}/sharing-memberships/{request.path_params['member_id']}"
    return await _change(request, page, "DELETE", path, None, f"sharing:{request.path_params['member_id']}")


# -- hierarchy -------------------------------------------------------------------------------------

async def _hierarchy_group(page: Page, customer_id: int, group_id: str, role: str) -> dict[str, Any]:
    """The group, when the customer of the page is its owner (or a member): the hierarchy API is not
    scoped by customer, so the console does not let one customer's page change another's group."""
    group = await page.api.get(f"{HIERARCHY}/{group_id}")
    members = {m["id"]: m for m in group.get("members") or [] if m.get("customerId") == customer_id}
    if (role == "owner" and group.get("ownerCustomerId") != customer_id) or (role == "member" and not members):
        raise ApiProblem(404, "Not found", f"customer {customer_id} is no {role} of hierarchy group {group_id}")
    return {**group, "mine": members}


@route("/customers/{customer_id:int}/hierarchy", methods=("POST",))
async def add_hierarchy(request: Request, page: Page) -> Response:
    """Add hierarchy: owner mode creates a group paid through one of the customer's billing profiles;
    member mode joins a group found by its owner's full name."""
    form = await request.form()
    customer_id = request.path_params["customer_id"]
    if form.get("_mode") == "member":
        group_id = str(form.get("groupId") or "").strip()
        if not group_id:
            return await _pick_a_group(request, page, "hierarchy:new")
        return await _change(request, page, "POST", f"{HIERARCHY}/{group_id}/members", {"customerId": customer_id},
                             "hierarchy:new")
    body = {**_body(form.multi_items(), operator_zone(request), HIERARCHY_OWNER), "ownerCustomerId": customer_id}
    return await _change(request, page, "POST", HIERARCHY, body, "hierarchy:new")


@route("/customers/{customer_id:int}/hierarchy-groups/{group_id:str}", methods=("POST",))
async def edit_hierarchy_group(request: Request, page: Page) -> Response:
    customer_id, group_id = request.path_params["customer_id"], request.path_params["group_id"]
    await _hierarchy_group(page, customer_id, group_id, "owner")
    body = _body((await request.form()).multi_items(), operator_zone(request), PERIOD)
    return await _change(request, page, "PATCH", f"{HIERARCHY}/{group_id}", body, f"hierarchy:{group_id}")


@route("/customers/{customer_id:int}/hierarchy-groups/{group_id:str}/cancel", methods=("POST",))
async def cancel_hierarchy_group(request: Request, page: Page) -> Response:
    customer_id, group_id = request.path_params["customer_id"], request.path_params["group_id"]
    await _hierarchy_group(page, customer_id, group_id, "owner")
    return await _change(request, page, "POST", f"{HIERARCHY}/{group_id}/cancel", None, f"hierarchy:{group_id}")


@route("/customers/{customer_id:int}/hierarchy-groups/{group_id:str}/members/{member_id:str}", methods=("POST",))
async def edit_hierarchy_membership(request: Request, page: Page) -> Response:
    customer_id, group_id, member_id = (request.path_params[k] for k in ("customer_id", "group_id", "member_id"))
    if member_id not in (await _hierarchy_group(page, customer_id, group_id, "member"))["mine"]:
        raise ApiProblem(404, "Not found", f"hierarchy group {group_id} has no member {member_id} of this customer")
    body = _body((await request.form()).multi_items(), operator_zone(request), PERIOD)
    return await _change(request, page, "PATCH", f"{HIERARCHY}/{group_id}/members/{member_id}", body,
                         f"hierarchy:{member_id}")


@route("/customers/{customer_id:int}/hierarchy-groups/{group_id:str}/members/{member_id:str}/remove",
       methods=("POST",))
async def remove_hierarchy_membership(request: Request, page: Page) -> Response:
    customer_id, group_id, member_id = (request.path_params[k] for k in ("customer_id", "group_id", "member_id"))
    if member_id not in (await _hierarchy_group(page, customer_id, group_id, "member"))["mine"]:
        raise ApiProblem(404, "Not found", f"hierarchy group {group_id} has no member {member_id} of this customer")
    return await _change(request, page, "DELETE", f"{HIERARCHY}/{group_id}/members/{member_id}", None,
                         f"hierarchy:{member_id}")

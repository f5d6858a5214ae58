"""The details page's sections that other services bring: subscriptions and services (rating's
inventory), balances and usage (rating), and the reads the billing sections share (billing
profiles, bills, invoices; their pages and actions are in pages/billing.py). Each section is loaded
on its own: one failing service shows its error in its section and the rest of the page still works."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.console import forms
from gateway.console.web import Page, read_section, route

BASE = "/api/v1/customers"


async def load(page: Page, customer_id: int) -> dict[str, Any]:
    """Everything the money sections show, keyed for the template; `<name>_error` when a read failed."""
    root = f"{BASE}/{customer_id}"
    reads = {"subscriptions": (f"{root}/subscriptions", {}), "services": (f"{root}/services", {}),
             "balance_groups": (f"{root}/balance-groups", {}), "balances": (f"{root}/balances", {}),
             "usage": (f"{root}/usage", {"limit": 20}), "profiles": (f"{root}/billing-profiles", {}),
             "invoices": (f"{root}/invoices", {"limit": 50}), "portal_user": (f"{root}/portalUser", {}),
             "notifications": (f"{root}/notifications", {"limit": 20})}
    found: dict[str, Any] = {}
    for name, (path, query) in reads.items():
        found[name], found[f"{name}_error"] = await read_section(page, path, **query)
    if found["portal_user_error"] and "no portal user" in found["portal_user_error"].lower():
        found["portal_user_error"] = None
    found["bills"] = {}
    for profile in found.get("profiles") or []:
        found["bills"][profile["id"]], _ = await read_section(page, f"/api/v1/billing-profiles/{profile['id']}/bills")
    return found


async def _change(request: Request, page: Page, method: str, path: str, body: Any, form_name: str) -> Response:
    from gateway.console.pages.customers import change

    return await change(request, page, method, path, body, form_name)


# -- user information: the customer's self-care portal user ---------------------------------------

PORTAL_ACTIONS = {  # action -> (method, path under /portalUser, whether the form is the body)
    "create": ("POST", "", True), "edit": ("PATCH", "", True), "delete": ("DELETE", "", False),
    "enable": ("PATCH", "", False), "disable": ("PATCH", "", False),
    "verification": ("POST", "/verificationEmail", False), "password": ("POST", "/passwordUpdate", True),
}


@route("/customers/{customer_id:int}/portal-user/{action:str}", methods=("POST",))
async def portal_user(request: Request, page: Page) -> Response:
    action = request.path_params["action"]
    if action not in PORTAL_ACTIONS:
        return page.render("error.html", 404, title="Not found", detail=f"No user action {action!r}.")
    method, suffix, with_form = PORTAL_ACTIONS[action]
    body: Any = forms.unflatten((await request.form()).multi_items()) if with_form else None
    if action in ("enable", "disable"):
        body = {"enabled": action == "enable"}
    path = f"{BASE}/{request.path_params['customer_id']}/portalUser{suffix}"
    return await _change(request, page, method, path, body, "user")

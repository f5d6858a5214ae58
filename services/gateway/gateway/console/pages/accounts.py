"""The details page's sections that other services bring: subscriptions and services (rating's
inventory), balances and usage (rating), billing profiles, bills and invoices (billing), offline
payments (payments). Each section is loaded on its own: one failing service shows its error in its
section and the rest of the page still works."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.console import forms
from gateway.console.api_client import ApiProblem
from gateway.console.formatting import zone
from gateway.console.web import Page, route

BASE = "/api/v1/customers"


async def _section(page: Page, path: str, **query: Any) -> tuple[Any, str | None]:
    try:
        return await page.api.get(path, **query), None
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        return None, str(problem)


async def load(page: Page, customer_id: int) -> dict[str, Any]:
    """Everything the money sections show, keyed for the template; `<name>_error` when a read failed."""
    root = f"{BASE}/{customer_id}"
    reads = {"subscriptions": (f"{root}/subscriptions", {}), "services": (f"{root}/services", {}),
             "balance_groups": (f"{root}/balance-groups", {}), "balances": (f"{root}/balances", {}),
             "usage": (f"{root}/usage", {"limit": 20}), "profiles": (f"{root}/billing-profiles", {}),
             "invoices": (f"{root}/invoices", {"limit": 50}), "portal_user": (f"{root}/portalUser", {})}
    found: dict[str, Any] = {}
    for name, (path, query) in reads.items():
        found[name], found[f"{name}_error"] = await _section(page, path, **query)
    if found["portal_user_error"] and "no portal user" in found["portal_user_error"].lower():
        found["portal_user_error"] = None
    found["bills"] = {}
    for profile in found.get("profiles") or []:
        found["bills"][profile["id"]], _ = await _section(page, f"/api/v1/billing-profiles/{profile['id']}/bills")
    return found


def _local_instant(value: str | None, tz: str) -> str | None:
    """A datetime-local input (the operator's zone) as an ISO instant."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone(tz)).isoformat()
    except ValueError:
        return value  # the API names the bad field


async def _change(request: Request, page: Page, method: str, path: str, body: Any, form_name: str) -> Response:
    from gateway.console.pages.customers import change

    return await change(request, page, method, path, body, form_name)


@route("/customers/{customer_id:int}/billing-profiles/{profile_id:str}/run", methods=("POST",))
async def run_billing(request: Request, page: Page) -> Response:
    """Run billing for one profile: the button shows a loading state until the outcome is in."""
    outcome = await page.api.call("POST", f"/api/v1/billing-profiles/{request.path_params['profile_id']}/run-billing",
                                  body={})
    result = outcome.json()
    return page.redirect(f"/console/customers/{request.path_params['customer_id']}"
                         f"?billing={result.get('status', '')}#billing")


@route("/customers/{customer_id:int}/invoices/{invoice_id:str}.{kind:str}")
async def invoice_document(request: Request, page: Page) -> Response:
    """The invoice as PDF, HTML or JSON, straight from the API."""
    kind = request.path_params["kind"]
    if kind not in ("pdf", "html", "json"):
        return page.render("error.html", 404, title="Not found", detail=f"No invoice format {kind!r}.")
    path = f"{BASE}/{request.path_params['customer_id']}/invoices/{request.path_params['invoice_id']}"
    answer = await page.api.call("GET", path, query={"format": kind})
    headers = {k: v for k, v in answer.headers.items() if k in ("content-type", "content-disposition")}
    return Response(answer.body, status_code=200, headers=headers)


@route("/customers/{customer_id:int}/invoices/{invoice_id:str}/payments", methods=("POST",))
async def record_payment(request: Request, page: Page) -> Response:
    """Wallet offline payment; the form's payment id makes a retried submit record it once."""
    form = await request.form()
    body = forms.unflatten(form.multi_items())
    body.setdefault("id", str(uuid.uuid4()))
    body["paidAt"] = _local_instant(body.get("paidAt"), request.cookies.get("console_tz") or "UTC")
    path = f"{BASE}/{request.path_params['customer_id']}/invoices/{request.path_params['invoice_id']}/payments"
    return await _change(request, page, "POST", path, {k: v for k, v in body.items() if v is not None},
                         f"payment:{request.path_params['invoice_id']}")


# -- bill runs: billing of every due profile, with its progress ----------------------------------

@route("/bill-runs")
async def bill_runs(request: Request, page: Page) -> Response:
    runs, _ = await page.api.page("/api/v1/bill-runs")
    return page.render("billing/runs.html", section="billing", runs=runs)


@route("/bill-runs", methods=("POST",))
async def start_bill_run(request: Request, page: Page) -> Response:
    run = (await page.api.call("POST", "/api/v1/bill-runs", body={})).json()
    return page.redirect(f"/console/bill-runs/{run['id']}")


@route("/bill-runs/{run_id:str}")
async def bill_run(request: Request, page: Page) -> Response:
    """The run's progress; while it runs, htmx asks for the `progress` fragment again every second."""
    run = await page.api.get(f"/api/v1/bill-runs/{request.path_params['run_id']}")
    template = "billing/run_progress.html" if page.htmx else "billing/run.html"
    return page.render(template, section="billing", run=run)


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

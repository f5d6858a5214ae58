"""Create new: the six-section onboarding page (account, payment, sharing and hierarchy,
subscription, summary, submit), sent to POST /api/v1/onboardings with an Idempotency-Key."""
from __future__ import annotations

import uuid
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from gateway.console import forms
from gateway.console.api_client import ApiProblem
from gateway.console.pages.customers import PAYMENT_METHODS, customer_types
from gateway.console.web import Page, form_errors, route

PAYMENT_TYPES = (("postpaid", "Postpaid"), ("prepaid", "Prepaid"))
INTERVALS = (("monthly", "Monthly"), ("weekly", "Weekly"), ("daily", "Daily"), ("yearly", "Yearly"))
VALIDITY_UNITS = (("day", "days"), ("week", "weeks"), ("month", "months"), ("year", "years"),
                  ("unlimited", "unlimited"))
DEFAULTS = {"paymentInfo.method": "invoice", "subscription.paymentType": "postpaid", "subscription.interval": "monthly",
            "subscription.billingDay": "1", "account.customerType": "regular", "subscription.resource": "EUR"}
# A submit that meets the same key still running waits for it (a double click, a retry): never a second customer.
IN_PROGRESS_RETRIES = 40


async def _catalog(page: Page) -> dict[str, Any]:
    api = page.api
    plans, _ = await api.page("/api/v1/catalog/plans", status="active", limit=1000)
    resources, _ = await api.page("/api/v1/catalog/resources", limit=1000)
    return {
        "customer_types": await customer_types(page),
        "attributes": await api.get("/api/v1/catalog/custom-attributes", entity="customer", limit=1000),
        "resources": [(r["code"], r.get("name") or r["code"]) for r in resources if r.get("kind") == "monetary"],
        "plans": [(p["code"], f"{p.get('name') or p['code']} (v{p['version']})") for p in plans],
    }


async def _offer(page: Page, code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    try:
        return await page.api.get(f"/api/v1/catalog/plans/{code}/offer")
    except ApiProblem as problem:
        if problem.status in (404, 409):
            return None
        raise


def _render(page: Page, catalog: dict[str, Any], offer: dict[str, Any] | None, values: dict[str, str],
            errors: dict[str, str] | None = None, summary: dict[str, Any] | None = None, status: int = 200) -> Response:
    return page.render("onboarding/wizard.html", status, section="customers", offer=offer, values=values,
                       errors=errors or {}, summary=summary, payment_methods=PAYMENT_METHODS,
                       payment_types=PAYMENT_TYPES, intervals=INTERVALS, validity_units=VALIDITY_UNITS, **catalog)


def _attribute_types(catalog: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["type"] for a in catalog["attributes"]}


@route("/customers/new")
async def new_customer(request: Request, page: Page) -> Response:
    catalog = await _catalog(page)
    values = {**DEFAULTS, "idempotency_key": uuid.uuid4().hex, **dict(request.query_params.items())}
    if "subscription.plan.code" not in request.query_params and catalog["plans"]:
        values["subscription.plan.code"] = catalog["plans"][0][0]
    return _render(page, catalog, await _offer(page, values.get("subscription.plan.code")), values)


@route("/customers/new/plan")
async def plan_products(request: Request, page: Page) -> Response:
    """Fragment: the chosen plan's bundles and products (htmx, when the plan picker changes)."""
    offer = await _offer(page, request.query_params.get("subscription.plan.code"))
    return page.render("onboarding/plan_products.html", offer=offer, values={}, errors={},
                       validity_units=VALIDITY_UNITS)


@route("/customers/new", methods=("POST",))
async def submit(request: Request, page: Page) -> Response:
    form = await request.form()
    values = {key: str(value) for key, value in form.multi_items()}
    catalog = await _catalog(page)
    offer = await _offer(page, values.get("subscription.plan.code"))
    body = forms.onboarding_body(form.multi_items(), _attribute_types(catalog))
    if values.get("step") != "submit":  # "Review" (or another plan chosen without scripts): show the summary
        return _render(page, catalog, offer, values, summary=body)
    try:
        summary = await _onboard(page, body, values.get("idempotency_key") or uuid.uuid4().hex)
    except ApiProblem as problem:
        if problem.status >= 500 and problem.status != 503:
            raise
        errors = form_errors(problem)
        if problem.problem.get("failedStep"):
            errors["_form"] = f"{problem.detail} Nothing was kept: the completed steps were undone."
        return _render(page, catalog, offer, values, errors, summary=body, status=problem.status)
    return page.redirect(f"/console/customers/{summary['customer']['id']}?onboarded={summary['id']}")


async def _onboard(page: Page, body: dict[str, Any], key: str) -> dict[str, Any]:
    for _ in range(IN_PROGRESS_RETRIES):
        response = await page.api.request("POST", "/api/v1/onboardings", body=body, headers={"Idempotency-Key": key})
        if response.ok:
            return response.json()
        problem = ApiProblem.from_response(response)
        if response.status != 409 or "in progress" not in problem.detail:
            raise problem
        await anyio.sleep(0.5)
    raise problem

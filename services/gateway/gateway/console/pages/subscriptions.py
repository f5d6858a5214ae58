"""The details page's subscriptions, services, balances and usage, with their actions (seed "Subscriptions",
"Balances", "Usage", "Services").

Small actions are forms on the details page itself (use voucher, edit or cancel a product, cancel the
subscription, edit a service, create or adjust a balance, adjust a usage event); actions with more to
choose have their own page under the customer: add subscription, add bundle, plan transition (its
proration preview is shown before it can be confirmed) and create event (the chosen service type's
fields as inputs). Each action is one request to the operators' API; its field errors come back next to
the inputs of the same name.
"""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.console import forms
from gateway.console.api_client import ApiProblem
from gateway.console.local_time import now_input, operator_zone, to_input, to_instant
from gateway.console.pages.onboarding import VALIDITY_UNITS
from gateway.console.subscription_forms import (
    digest,
    event_body,
    input_errors,
    usage_cell,
)
from gateway.console.web import Page, form_errors, route

BASE = "/api/v1/customers"
SERVICE_STATUSES = (("active", "Active"), ("suspended", "Suspended"), ("terminated", "Terminated"))
BALANCE_VALIDITIES = (("cycle", "Current billing cycle"), ("until", "Until a date"), ("infinite", "No end"))


# -- what the details page's sections need besides the API reads of accounts.load ---------------------

async def _catalog(page: Page, path: str) -> list[dict[str, Any]]:
    """A catalog list for a form's choices; an unavailable catalog leaves the choice empty, not the page."""
    try:
        items, _ = await page.api.page(path, limit=1000)
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        return []
    return items


async def load(page: Page, customer: dict[str, Any], sections: dict[str, Any]) -> dict[str, Any]:
    """Choices of the sections' forms and the usage table's rows, cell by cell in the operator's zone."""
    tz = operator_zone(page.request)
    resources = await _catalog(page, "/api/v1/catalog/resources")
    taxes = await _catalog(page, "/api/v1/catalog/taxes")
    service_types = await _catalog(page, "/api/v1/catalog/service-types")
    field_types = {f["name"]: f["type"] for t in service_types for f in t.get("fields") or []}
    profiles = sections.get("profiles") or []
    usage = sections.get("usage") or {}
    columns = usage.get("columns") or []
    rows = [{"event": event, "cells": [usage_cell(event, c["name"], field_types, tz, customer.get("country"))
                                       for c in columns]}
            for event in usage.get("items") or []]
    return {"currency": profiles[0]["resource"] if profiles else "EUR",
            "resource_choices": [(r["code"], f"{r.get('name') or r['code']} ({r['code']})") for r in resources],
            "tax_choices": [(t["code"], f"{t.get('name') or t['code']} ({t['code']}, {t.get('rate')} %)")
                            for t in taxes],
            "usage_columns": columns, "usage_rows": rows, "usage_total": usage.get("total", 0),
            "service_statuses": SERVICE_STATUSES, "balance_validities": BALANCE_VALIDITIES,
            "validity_units": VALIDITY_UNITS, "local_input": lambda value: to_input(value, tz, seconds=True)}


# -- helpers ------------------------------------------------------------------------------------------


def _path(request: Request, *parts: str) -> str:
    return "/".join([BASE, str(request.path_params["customer_id"]), *parts])


def _details_url(request: Request, anchor: str) -> str:
    return f"/console/customers/{request.path_params['customer_id']}#{anchor}"


def _errors(problem: ApiProblem) -> dict[str, str]:
    return input_errors(form_errors(problem))


def _not_allowed(page: Page) -> Response | None:
    """Pages of changes are for roles that may change (the API refuses the rest anyway)."""
    if page.operator.can_change:
        return None
    return page.render("error.html", 403, title="Not allowed", detail="Your role can read, not change.")


async def _on_details(request: Request, page: Page, method: str, path: str, body: Any, form_name: str) -> Response:
    """A change from a form of the details page: back to its section, or the page again with the errors
    at the form named `form_name` (the details page's own rule, pages/customers.py)."""
    from gateway.console.pages.customers import change

    return await change(request, page, method, path, body, form_name)


async def _send(page: Page, method: str, path: str, body: Any) -> tuple[Any, ApiProblem | None]:
    """One change; a problem the operator can correct (400, 409) comes back instead of an error page."""
    try:
        return (await page.api.call(method, path, body=body)).json(), None
    except ApiProblem as problem:
        if problem.status not in (400, 409, 422):
            raise
        return None, problem


def _tax(form: Any, body: dict[str, Any], taxes: list[dict[str, Any]]) -> None:
    """"With tax" switched on: the tax, its supplier and GL code (the catalog's when left empty); else none."""
    if form.get("_withTax") != "on":
        body.pop("tax", None)
        return
    tax = body.setdefault("tax", {})
    known = next((t for t in taxes if t["code"] == tax.get("code")), None)
    if known:
        tax.setdefault("supplier", known.get("supplier"))
        tax.setdefault("glCode", known.get("glCode"))


# -- subscriptions: small actions on the details page ---------------------------------------------------

@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/vouchers", methods=("POST",))
async def use_vouchers(request: Request, page: Page) -> Response:
    sid = request.path_params["subscription_id"]
    body = {"codes": forms.codes((await request.form()).get("codes"))}
    return await _on_details(request, page, "POST", _path(request, "subscriptions", sid, "vouchers"), body,
                             f"subscriptions:voucher:{sid}")


@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/products/{product_id:str}",
       methods=("POST",))
async def edit_product(request: Request, page: Page) -> Response:
    sid, pid = request.path_params["subscription_id"], request.path_params["product_id"]
    body = forms.unflatten((await request.form()).multi_items())
    validity = body.pop("validity", {}) or {}
    if validity.get("unit"):
        body["validity"] = {"unit": validity["unit"], **(
            {"count": validity["count"]} if validity.get("count") and validity["unit"] != "unlimited" else {})}
    return await _on_details(request, page, "PATCH", _path(request, "subscriptions", sid, "products", pid), body,
                             f"subscriptions:product:{pid}")


@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/products/{product_id:str}/cancel",
       methods=("POST",))
async def cancel_product(request: Request, page: Page) -> Response:
    sid, pid = request.path_params["subscription_id"], request.path_params["product_id"]
    return await _on_details(request, page, "POST", _path(request, "subscriptions", sid, "products", pid, "cancel"),
                             None, f"subscriptions:product:{pid}")


@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/cancel", methods=("POST",))
async def cancel_subscription(request: Request, page: Page) -> Response:
    sid = request.path_params["subscription_id"]
    body = forms.unflatten((await request.form()).multi_items())
    return await _on_details(request, page, "POST", _path(request, "subscriptions", sid, "cancel"), body,
                             f"subscriptions:cancel:{sid}")


# -- add subscription ---------------------------------------------------------------------------------

async def _plans(page: Page) -> list[tuple[str, str]]:
    plans, _ = await page.api.page("/api/v1/catalog/plans", status="active", limit=1000)
    return [(p["code"], f"{p.get('name') or p['code']} (v{p['version']})") for p in plans]


async def _offer(page: Page, kind: str, code: str | None, version: Any = None) -> dict[str, Any] | None:
    if not code:
        return None
    try:
        return await page.api.get(f"/api/v1/catalog/{kind}/{code}/offer", version=version)
    except ApiProblem as problem:
        if problem.status in (400, 404, 409):
            return None
        raise


async def _customer(page: Page, request: Request) -> dict[str, Any]:
    return await page.api.get(_path(request))


async def _subscription_form(request: Request, page: Page, values: dict[str, str], errors: dict[str, str] | None = None,
                             status: int = 200) -> Response:
    customer = await _customer(page, request)
    groups = await page.api.get(_path(request, "balance-groups"))
    plans = await _plans(page)
    values.setdefault("plan.code", plans[0][0] if plans else "")
    if groups:
        values.setdefault("balanceGroupId", groups[0]["id"])
    return page.render("subscriptions/new.html", status, section="customers", customer=customer,
                       balance_groups=[(g["id"], g.get("name") or g["id"]) for g in groups], plans=plans,
                       offer=await _offer(page, "plans", values.get("plan.code")), values=values,
                       errors=errors or {}, validity_units=VALIDITY_UNITS)


@route("/customers/{customer_id:int}/subscriptions/new")
async def new_subscription(request: Request, page: Page) -> Response:
    return _not_allowed(page) or await _subscription_form(request, page, dict(request.query_params.items()))


@route("/customers/{customer_id:int}/subscriptions/plan-products")
async def plan_products(request: Request, page: Page) -> Response:
    """Fragment: the chosen plan's bundles and products (htmx, when the plan picker changes)."""
    offer = await _offer(page, "plans", request.query_params.get("plan.code"))
    return page.render("subscriptions/offer_products.html", offer=offer, prefix="plan.",
                       values={}, errors={}, validity_units=VALIDITY_UNITS)


def _choice_body(pairs: list[tuple[str, Any]], tz: str, products_at: tuple[str, ...]) -> dict[str, Any]:
    """The body of a purchase form: product rows as choices, instants from the operator's zone (`unflatten`
    already makes promoCodes a list)."""
    body = forms.unflatten(pairs)
    holder = body
    for key in products_at[:-1]:
        holder = holder.get(key) or {}
    if products_at[-1] in holder:
        holder[products_at[-1]] = forms.product_choices(holder[products_at[-1]])
    for name in ("validFrom", "validTo"):
        if name in body:
            body[name] = to_instant(body[name], tz)
    return body


@route("/customers/{customer_id:int}/subscriptions/new", methods=("POST",))
async def add_subscription(request: Request, page: Page) -> Response:
    form = await request.form()
    values = {key: str(value) for key, value in form.multi_items()}
    if values.get("step") == "plan":  # another plan chosen without scripts: show its products
        return await _subscription_form(request, page, values)
    body = _choice_body(form.multi_items(), operator_zone(request), ("plan", "products"))
    _, problem = await _send(page, "POST", _path(request, "subscriptions"), body)
    if problem:
        return await _subscription_form(request, page, values, _errors(problem), problem.status)
    return page.redirect(_details_url(request, "subscriptions"))


# -- add bundle (an add-on of the subscription's plan) ---------------------------------------------------

async def _bundle_form(request: Request, page: Page, values: dict[str, str], errors: dict[str, str] | None = None,
                       status: int = 200) -> Response:
    customer = await _customer(page, request)
    sid = request.path_params["subscription_id"]
    subscription = await page.api.get(_path(request, "subscriptions", sid))
    plan = await _offer(page, "plans", subscription["planCode"], subscription["planVersion"]) or {}
    add_ons = [offer for ref in plan.get("addOns") or []
               if (offer := await _offer(page, "bundles", ref["code"], ref.get("version")))]
    values.setdefault("bundle.code", add_ons[0]["code"] if add_ons else "")
    chosen = next((b for b in add_ons if b["code"] == values.get("bundle.code")), None)
    return page.render("subscriptions/bundle.html", status, section="customers", customer=customer,
                       subscription=subscription, bundle=chosen,
                       add_ons=[(b["code"], f"{b['name']} (v{b['version']})") for b in add_ons],
                       values=values, errors=errors or {}, validity_units=VALIDITY_UNITS)


@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/bundles/new")
async def new_bundle(request: Request, page: Page) -> Response:
    return _not_allowed(page) or await _bundle_form(request, page, dict(request.query_params.items()))


@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/bundles/products")
async def bundle_products(request: Request, page: Page) -> Response:
    """Fragment: the chosen add-on's products (htmx, when the bundle picker changes)."""
    bundle = await _offer(page, "bundles", request.query_params.get("bundle.code"))
    return page.render("subscriptions/bundle_products.html", bundle=bundle, values={}, errors={},
                       validity_units=VALIDITY_UNITS)


@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/bundles/new", methods=("POST",))
async def add_bundle(request: Request, page: Page) -> Response:
    form = await request.form()
    values = {key: str(value) for key, value in form.multi_items()}
    if values.get("step") == "bundle":
        return await _bundle_form(request, page, values)
    body = _choice_body(form.multi_items(), operator_zone(request), ("products",))
    sid = request.path_params["subscription_id"]
    _, problem = await _send(page, "POST", _path(request, "subscriptions", sid, "bundles"), body)
    if problem:
        return await _bundle_form(request, page, values, _errors(problem), problem.status)
    return page.redirect(_details_url(request, "subscriptions"))


# -- plan transition: preview first, then confirm what was previewed --------------------------------------

async def _transition_form(request: Request, page: Page, values: dict[str, str], errors: dict[str, str] | None = None,
                           status: int = 200, preview: dict[str, Any] | None = None) -> Response:
    customer = await _customer(page, request)
    subscription = await page.api.get(_path(request, "subscriptions", request.path_params["subscription_id"]))
    plans = await _plans(page)
    others = [p for p in plans if p[0] != subscription["planCode"]] or plans
    values.setdefault("plan.code", others[0][0] if others else "")
    return page.render("subscriptions/transition.html", status, section="customers", customer=customer,
                       subscription=subscription, plans=plans,
                       offer=await _offer(page, "plans", values.get("plan.code")), values=values,
                       errors=errors or {}, preview=preview, validity_units=VALIDITY_UNITS)


@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/transition")
async def new_transition(request: Request, page: Page) -> Response:
    return _not_allowed(page) or await _transition_form(request, page, dict(request.query_params.items()))


@route("/customers/{customer_id:int}/subscriptions/{subscription_id:str}/transition", methods=("POST",))
async def transition(request: Request, page: Page) -> Response:
    """`step=preview` asks the API what would be credited and charged and shows it with a Confirm button;
    `step=confirm` applies it only if the form still says what was previewed (else it previews again)."""
    form = await request.form()
    values = {key: str(value) for key, value in form.multi_items() if key != "_previewed"}
    if values.get("step") == "plan":
        return await _transition_form(request, page, values)
    body = _choice_body(form.multi_items(), operator_zone(request), ("plan", "products"))
    root = _path(request, "subscriptions", request.path_params["subscription_id"], "plan-transition")
    if values.get("step") == "confirm" and form.get("_previewed") == digest(body):
        _, problem = await _send(page, "POST", root, body)
        if not problem:
            return page.redirect(_details_url(request, "subscriptions"))
        return await _transition_form(request, page, values, _errors(problem), problem.status)
    preview, problem = await _send(page, "POST", f"{root}/preview", body)
    if problem:
        return await _transition_form(request, page, values, _errors(problem), problem.status)
    errors = {"_form": "The choices changed after the preview: check this preview and confirm again."} \
        if values.get("step") == "confirm" else {}
    values["_previewed"] = digest(body)
    return await _transition_form(request, page, values, errors, preview=preview)


# -- services -------------------------------------------------------------------------------------------

@route("/customers/{customer_id:int}/services/{service_id:str}", methods=("POST",))
async def edit_service(request: Request, page: Page) -> Response:
    form = await request.form()
    tz = operator_zone(request)
    body = forms.unflatten(form.multi_items())
    for name in ("devices", "eventGenerators"):
        body[name] = forms.codes(form.get(name))  # emptied: none left
    for name in ("validFrom", "validTo"):
        if name in body:
            body[name] = to_instant(body[name], tz)
    if not form.get("validTo"):
        body["validTo"] = None  # an emptied end: valid until further notice
    sid = request.path_params["service_id"]
    return await _on_details(request, page, "PATCH", _path(request, "services", sid), body, f"services:{sid}")


# -- balances -------------------------------------------------------------------------------------------

@route("/customers/{customer_id:int}/balances", methods=("POST",))
async def create_balance(request: Request, page: Page) -> Response:
    form = await request.form()
    body = forms.unflatten(form.multi_items(), {"priority": "integer"})
    validity = body.get("validity") or {}
    if validity.get("kind") == "until":
        validity["validTo"] = to_instant(validity.get("validTo"), operator_zone(request))
    else:
        validity.pop("validTo", None)
    return await _on_details(request, page, "POST", _path(request, "balances"), body, "balances")


@route("/customers/{customer_id:int}/balances/{balance_id:str}/adjustments", methods=("POST",))
async def adjust_balance(request: Request, page: Page) -> Response:
    form = await request.form()
    body = forms.unflatten(form.multi_items())
    _tax(form, body, await _catalog(page, "/api/v1/catalog/taxes"))
    bid = request.path_params["balance_id"]
    return await _on_details(request, page, "POST", _path(request, "balances", bid, "adjustments"), body,
                             f"balances:adjust:{bid}")


# -- usage ----------------------------------------------------------------------------------------------

@route("/customers/{customer_id:int}/usage.csv")
async def export_usage(request: Request, page: Page) -> Response:
    """Every usage event as the API's CSV (the service types' fields as columns), streamed."""
    path = _path(request, "usage")
    await page.api.get(path, limit=1)  # a problem is a page, before the download starts
    return StreamingResponse(page.api.stream(path), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="usage.csv"'})


@route("/customers/{customer_id:int}/usage/{event_id:str}/adjustments", methods=("POST",))
async def adjust_usage(request: Request, page: Page) -> Response:
    form = await request.form()
    body = forms.unflatten(form.multi_items())
    _tax(form, body, await _catalog(page, "/api/v1/catalog/taxes"))
    eid = request.path_params["event_id"]
    return await _on_details(request, page, "POST", _path(request, "usage", eid, "adjustments"), body,
                             f"usage:adjust:{eid}")


async def _event_form(request: Request, page: Page, values: dict[str, str], errors: dict[str, str] | None = None,
                      status: int = 200) -> Response:
    customer = await _customer(page, request)
    services = [s for s in await page.api.get(_path(request, "services")) if s["status"] == "active"]
    values.setdefault("serviceId", services[0]["id"] if services else "")
    values.setdefault("startTime", now_input(operator_zone(request), seconds=True))
    context = await _event_fields(request, page, values.get("serviceId"), services)
    return page.render("subscriptions/event.html", status, section="customers", customer=customer,
                       services=[(s["id"], f"{s['serviceType']} {s['identifier']}") for s in services],
                       values=values, errors=errors or {}, **context)


async def _event_fields(request: Request, page: Page, service_id: str | None,
                        services: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The chosen service, its service type's fields (the start time is the event's own) and its unit."""
    if services is None:
        services = await page.api.get(_path(request, "services"))
    service = next((s for s in services if s["id"] == service_id), None)
    if service is None:
        return {"service": None, "fields": [], "unit": ""}
    kind = await page.api.get(f"/api/v1/catalog/service-types/{service['serviceType']}")
    subscription = await page.api.get(_path(request, "subscriptions", service["subscriptionId"]))
    product: dict[str, Any] = next((
        p for p in subscription.get("products") or []
        if p.get("serviceId") == service["id"] and p.get("status") == "active" and p.get("purchased")), {})
    return {"service": service, "unit": product.get("resource") or "",
            "fields": [f for f in kind.get("fields") or [] if f["name"] != "startTime"]}


@route("/customers/{customer_id:int}/usage/new")
async def new_event(request: Request, page: Page) -> Response:
    return _not_allowed(page) or await _event_form(request, page, dict(request.query_params.items()))


@route("/customers/{customer_id:int}/usage/new/fields")
async def event_fields(request: Request, page: Page) -> Response:
    """Fragment: the chosen service's fields (htmx, when the service picker changes)."""
    context = await _event_fields(request, page, request.query_params.get("serviceId"))
    return page.render("subscriptions/event_fields.html", values={}, errors={}, **context)


@route("/customers/{customer_id:int}/usage/new", methods=("POST",))
async def create_event(request: Request, page: Page) -> Response:
    form = await request.form()
    values = {key: str(value) for key, value in form.multi_items()}
    if values.get("step") == "service":
        return await _event_form(request, page, values)
    context = await _event_fields(request, page, values.get("serviceId"))
    body = event_body(values, {f["name"]: f["type"] for f in context["fields"]}, operator_zone(request))
    event, problem = await _send(page, "POST", _path(request, "usage"), body)
    if problem:
        return await _event_form(request, page, values, _errors(problem), problem.status)
    return page.redirect(_details_url(request, "usage") if event["status"] == "rated"
                         else f"/console/customers/{request.path_params['customer_id']}?usage=rejected#usage")

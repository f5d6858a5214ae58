"""Customers: the list (filter, pages, CSV, print, copy) and the details page's sections
that exist today: account information, contacts and payment information."""
from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.console import forms
from gateway.console.api_client import ApiProblem
from gateway.console.web import Page, form_errors, route

FILTERS = ("name", "email", "address", "city", "country", "status", "customerType", "paymentMethod")
PAGE_SIZES = (20, 50, 100)
STATUSES = (("active", "Active"), ("inactive", "Inactive"), ("closed", "Closed"))
PAYMENT_METHODS = (("invoice", "Invoice"), ("creditCard", "Credit card"), ("directDebit", "Direct debit"))
CONTACT_TAGS = ("primary", "billing", "technical", "legal", "other")
BASE = "/api/v1/customers"


def _filters(request: Request) -> dict[str, str]:
    return {name: request.query_params[name].strip() for name in FILTERS if request.query_params.get(name, "").strip()}


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


async def customer_types(page: Page) -> list[tuple[str, str]]:
    types, _ = await page.api.page("/api/v1/catalog/customer-types", limit=1000)
    return [(t["code"], t.get("name") or t["code"]) for t in types]


@route("/customers")
async def list_customers(request: Request, page: Page) -> Response:
    filters = _filters(request)
    limit = _int(request.query_params.get("limit"), PAGE_SIZES[0])
    offset = _int(request.query_params.get("offset"), 0)
    errors: dict[str, str] = {}
    try:
        rows, total = await page.api.page(BASE, **filters, offset=offset, limit=limit)
    except ApiProblem as problem:
        if problem.status != 400:
            raise
        rows, total, errors = [], 0, form_errors(problem)
    query = urlencode(filters)
    return page.render(
        "customers/list.html", section="customers", rows=rows, total=total, offset=offset, limit=limit,
        filters=filters, values=filters, errors=errors, query=query,
        filter_open=bool(filters) or request.query_params.get("filter") == "open",
        customer_types=await customer_types(page), statuses=STATUSES, payment_methods=PAYMENT_METHODS,
        page_sizes=PAGE_SIZES, csv_url=f"/console/customers.csv?{query}" if query else "/console/customers.csv")


@route("/customers.csv")
async def export_customers(request: Request, page: Page) -> Response:
    filters = _filters(request)
    await page.api.page(BASE, **filters, limit=1)  # bad filters answer as a page, before the download starts
    return StreamingResponse(page.api.stream(BASE, query=filters), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="customers.csv"'})


GROUP_SEARCH = {"sharing": "/api/v1/sharing-groups", "hierarchy": "/api/v1/hierarchy-groups"}


@route("/customers/owners")
async def find_owner(request: Request, page: Page) -> Response:
    """Onboarding's sharing and hierarchy sections: the groups whose owner's full name matches."""
    # The search box is named `_owner.<group>` inside the onboarding form (never sent to the API).
    name = next((v for k, v in request.query_params.items() if k.startswith("_owner.") or k == "name"), "").strip()
    group = request.query_params.get("group", "sharing")
    groups = []
    if len(name) >= 2 and group in GROUP_SEARCH:
        groups = await page.api.get(GROUP_SEARCH[group], ownerName=name)
    return page.render("customers/owners.html", groups=groups, name=name, group=group)


# -- details -------------------------------------------------------------------------------------------

async def _details(page: Page, customer_id: int, **context: Any) -> Response:
    customer = await page.api.get(f"{BASE}/{customer_id}")
    attributes = await page.api.get("/api/v1/catalog/custom-attributes", entity="customer", limit=1000)
    context.setdefault("errors", {})
    context.setdefault("values", {})
    payment = customer.get("paymentInfo") or {}
    payment_values = forms.flatten({"paymentInfo": payment})
    if payment and not payment.get("billingAddressIsCustomerAddress", True):
        payment_values["billingAddressDiffers"] = "on"
    from gateway.console.pages import accounts, billing, groups, subscriptions

    sections = await accounts.load(page, customer_id)
    sections.update(await subscriptions.load(page, customer, sections))
    sections.update(await billing.load(page, customer_id, sections))
    sections.update(await groups.load(page, customer_id))
    return page.render("customers/details.html", context.pop("status_code", 200), section="customers",
                       new_id=str(uuid.uuid4()), **sections,
                       customer=customer, attributes=attributes, customer_types=await customer_types(page),
                       payment_values=payment_values, contact_values=forms.flatten,
                       contact_tags=CONTACT_TAGS, payment_methods=PAYMENT_METHODS, **context)


@route("/customers/{customer_id:int}")
async def details(request: Request, page: Page) -> Response:
    return await _details(page, request.path_params["customer_id"])


async def change(request: Request, page: Page, method: str, path: str, body: Any, form_name: str) -> Response:
    """Send one change to the API; on a problem show the details page again with the errors at the form."""
    customer_id = request.path_params["customer_id"]
    try:
        await page.api.call(method, path, body=body)
    except ApiProblem as problem:
        if problem.status not in (400, 409, 422):
            raise
        form = await request.form()
        return await _details(page, customer_id, status_code=problem.status, failed=form_name,
                              errors=form_errors(problem), values=dict(form.items()))
    anchor = "invoices" if form_name.startswith("payment:") else form_name.split(":")[0]
    return page.redirect(f"/console/customers/{customer_id}#{anchor}")


@route("/customers/{customer_id:int}/account", methods=("POST",))
async def edit_account(request: Request, page: Page) -> Response:
    form = await request.form()
    attributes = await page.api.get("/api/v1/catalog/custom-attributes", entity="customer", limit=1000)
    types = {f"customAttributes.{a['name']}": a["type"] for a in attributes}
    body = forms.unflatten(form.multi_items(), types)
    body.setdefault("customAttributes", {})
    return await change(request, page, "PATCH", f"{BASE}/{request.path_params['customer_id']}", body, "account")


@route("/customers/{customer_id:int}/close", methods=("POST",))
async def close_account(request: Request, page: Page) -> Response:
    return await change(request, page, "POST", f"{BASE}/{request.path_params['customer_id']}/close", None, "account")


@route("/customers/{customer_id:int}/contacts", methods=("POST",))
async def add_contact(request: Request, page: Page) -> Response:
    body = forms.unflatten((await request.form()).multi_items())
    return await change(request, page, "POST", f"{BASE}/{request.path_params['customer_id']}/contacts", body,
                         "contacts:new")


@route("/customers/{customer_id:int}/contacts/{tag}", methods=("POST",))
async def edit_contact(request: Request, page: Page) -> Response:
    body = forms.unflatten((await request.form()).multi_items())
    for optional in ("organization", "zip"):
        body.setdefault(optional, None)  # an emptied optional field is cleared, not left as it was
    path = f"{BASE}/{request.path_params['customer_id']}/contacts/{request.path_params['tag']}"
    return await change(request, page, "PATCH", path, body, f"contacts:{request.path_params['tag']}")


@route("/customers/{customer_id:int}/contacts/{tag}/delete", methods=("POST",))
async def delete_contact(request: Request, page: Page) -> Response:
    path = f"{BASE}/{request.path_params['customer_id']}/contacts/{request.path_params['tag']}"
    return await change(request, page, "DELETE", path, None, "contacts")


@route("/customers/{customer_id:int}/payment", methods=("POST",))
async def edit_payment(request: Request, page: Page) -> Response:
    body = forms.payment_info_body((await request.form()).multi_items())
    return await change(request, page, "PUT", f"{BASE}/{request.path_params['customer_id']}/paymentInfo", body,
                         "payment")

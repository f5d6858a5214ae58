"""Billing on the details page and its own pages: billing profiles (add, Run billing with live
progress, Bill now, Preview invoice with and without details), bills (Info with their items,
adjustments of a bill or an item), invoices (CSV, Details as PDF / HTML / JSON, Wallet offline
payment) and the bill runs of every due profile."""
from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.console import forms, local_time
from gateway.console.api_client import ApiProblem
from gateway.console.local_time import operator_zone
from gateway.console.web import Page, form_errors, read_section, route, templates

CUSTOMERS = "/api/v1/customers"
PROFILES = "/api/v1/billing-profiles"
# One click of Run billing catches a profile up cycle by cycle; this many at most, so a mistyped
# "as of" years ahead cannot keep the browser busy for long (a second click goes on).
MAX_CYCLES_PER_RUN = 24
FIELD_ERRORS = (400, 409, 422)
PAYMENT_METHODS = (("transfer", "Bank transfer"), ("cash", "Cash"), ("creditCard", "Credit card"))
INTERVALS = ("daily", "weekly", "monthly", "quarterly", "yearly")
# Edit forms show an instant from the API in the operator's zone (datetime-local inputs).
templates.env.filters["local_input"] = local_time.to_input


async def load(page: Page, customer_id: int, found: dict[str, Any]) -> dict[str, Any]:
    """What the billing sections need besides the profiles, bills and invoices already read: each
    profile's view (pending due, credit balance, event generators), the catalog's monetary resources
    and taxes for the forms, and the invoices by id for the bills tables."""
    views: dict[str, Any] = {}
    for profile in found.get("profiles") or []:
        views[profile["id"]], _ = await read_section(page, f"{PROFILES}/{profile['id']}")
    resources, _ = await read_section(page, "/api/v1/catalog/resources", limit=1000)
    return {"profile_views": views,
            "monetary_resources": [r for r in resources or [] if r.get("kind") == "monetary"],
            "invoices_by_id": {i["id"]: i for i in found.get("invoices") or []},
            "intervals": INTERVALS, "now_local": local_time.now_input(operator_zone(page.request))}


async def _details_change(request: Request, page: Page, method: str, path: str, body: Any,
                          form_name: str) -> Response:
    """A change made from the details page (errors shown at its form there)."""
    from gateway.console.pages.customers import change

    return await change(request, page, method, path, body, form_name)


async def _submit(request: Request, page: Page, method: str, path: str, body: Any, done: str,
                  again: Callable[[dict[str, str], dict[str, str], int], Awaitable[Response]]) -> Response:
    """A change made from one of this module's pages: `done` after it, or the page `again` with the errors."""
    try:
        await page.api.call(method, path, body=body)
    except ApiProblem as problem:
        if problem.status not in FIELD_ERRORS:
            raise
        form = await request.form()
        values = {key: value for key, value in form.items() if isinstance(value, str)}  # no file inputs here
        return await again(form_errors(problem), values, problem.status)
    return page.redirect(done)


def _own(customer_id: int, thing: dict[str, Any], what: str) -> None:
    """A bill or invoice is shown under its own customer only (the URL names the customer)."""
    if thing.get("customerId") != customer_id:
        raise ApiProblem(404, "Not found", f"customer {customer_id} has no {what} {thing.get('id')}")


async def _own_profile(page: Page, customer_id: int, profile_id: str) -> None:
    """Billing acts on the profile of the customer whose page it was started from, and no other's."""
    profiles = await page.api.get(f"{CUSTOMERS}/{customer_id}/billing-profiles")
    if profile_id not in {p["id"] for p in profiles}:
        raise ApiProblem(404, "Not found", f"customer {customer_id} has no billing profile {profile_id}")


# -- billing profiles ----------------------------------------------------------------------------

@route("/customers/{customer_id:int}/billing-profiles", methods=("POST",))
async def add_profile(request: Request, page: Page) -> Response:
    body = forms.unflatten((await request.form()).multi_items(), {"paymentTermsDays": "integer"})
    body = local_time.instants(body, operator_zone(request), "validFrom", "validTo")
    customer_id = request.path_params["customer_id"]
    return await _details_change(request, page, "POST", f"{CUSTOMERS}/{customer_id}/billing-profiles", body,
                                 "billing:new")


@route("/customers/{customer_id:int}/billing-profiles/{profile_id:str}/run", methods=("POST",))
async def run_billing(request: Request, page: Page) -> Response:
    """Run billing for one profile as of an instant: each call of the API bills one ended cycle, so the
    console calls it again until the profile is not due. With htmx each cycle is one request and the
    page shows each billed cycle as it comes (the fragment asks for the next step itself); without
    JavaScript the whole catch-up runs in this request."""
    customer_id, profile_id = request.path_params["customer_id"], request.path_params["profile_id"]
    form = await request.form()
    as_of = (str(form.get("_asOfInstant") or "")
             or local_time.to_instant(str(form.get("asOf") or ""), operator_zone(request)))
    billed = [i for i in str(form.get("_billed") or "").split(",") if i]
    await _own_profile(page, customer_id, profile_id)
    path = f"{PROFILES}/{profile_id}/run-billing"
    body = {"asOf": as_of} if as_of else {}
    while True:
        try:
            outcome = (await page.api.call("POST", path, body=body)).json()
        except ApiProblem as problem:
            if problem.status not in FIELD_ERRORS:
                raise
            outcome = {"status": "failed", "reason": "; ".join(form_errors(problem).values())}
        if outcome["status"] == "billed":
            billed.append(outcome["invoiceId"])
        finished = outcome["status"] != "billed" or len(billed) >= MAX_CYCLES_PER_RUN
        if page.htmx or finished:
            break
    if not page.htmx:
        summary = f"billed {len(billed)} cycle(s)" if billed else outcome["status"]
        if outcome["status"] == "failed":
            summary += f" (failed: {outcome.get('reason')})"
        return page.redirect(f"/console/customers/{customer_id}?billing={quote(summary)}#profile-{profile_id}")
    customer = await page.api.get(f"{CUSTOMERS}/{customer_id}")
    context: dict[str, Any] = {
        "customer": customer, "profile_id": profile_id, "as_of": as_of, "outcome": outcome, "billed": billed,
        "billed_invoices": [await page.api.get(f"{CUSTOMERS}/{customer_id}/invoices/{i}") for i in billed],
        "finished": finished, "capped": len(billed) >= MAX_CYCLES_PER_RUN}
    if finished:  # the bills and invoices tables are swapped in anew (htmx out-of-band)
        from gateway.console.pages.accounts import load as load_money

        found = await load_money(page, customer_id)
        found.update(await load(page, customer_id, found))
        context.update(found, p={"id": profile_id}, oob=True)
    return page.render("billing/run_step.html", **context)


@route("/customers/{customer_id:int}/billing-profiles/{profile_id:str}/bill-now", methods=("POST",))
async def bill_now(request: Request, page: Page) -> Response:
    """Move the active bill's items to a new bill that is billed at once; the details page then shows its invoice."""
    customer_id, profile_id = request.path_params["customer_id"], request.path_params["profile_id"]
    await _own_profile(page, customer_id, profile_id)
    try:
        done = (await page.api.call("POST", f"{PROFILES}/{profile_id}/bill-now")).json()
    except ApiProblem as problem:
        if problem.status not in FIELD_ERRORS:
            raise
        from gateway.console.pages.customers import _details

        return await _details(page, customer_id, status_code=problem.status, failed=f"billing:{profile_id}",
                              errors=form_errors(problem))
    number = done["invoice"]["number"]
    return page.redirect(f"/console/customers/{customer_id}?billed_now={number}#invoices")


@route("/customers/{customer_id:int}/billing-profiles/{profile_id:str}/preview")
async def preview_invoice(request: Request, page: Page) -> Response:
    """The invoice the next billing would issue (a test billing: it changes nothing); with details the
    usage events of the active bill too (heavier)."""
    customer_id, profile_id = request.path_params["customer_id"], request.path_params["profile_id"]
    details = request.query_params.get("details") == "true"
    customer = await page.api.get(f"{CUSTOMERS}/{customer_id}")
    profile = await page.api.get(f"{PROFILES}/{profile_id}")
    _own(customer_id, profile, "billing profile")
    preview = await page.api.get(f"{PROFILES}/{profile_id}/invoice-preview", details=str(details).lower())
    return page.render("billing/preview.html", section="customers", customer=customer, profile=profile,
                       preview=preview, details=details)


# -- bills: Info (items) and adjustments ---------------------------------------------------------

async def _bill_page(page: Page, customer_id: int, bill_id: int, status_code: int = 200,
                     **context: Any) -> Response:
    customer = await page.api.get(f"{CUSTOMERS}/{customer_id}")
    bill = await page.api.get(f"/api/v1/bills/{bill_id}")
    _own(customer_id, bill, "bill")
    groups, _ = await read_section(page, f"{CUSTOMERS}/{customer_id}/balance-groups")
    taxes, _ = await read_section(page, "/api/v1/catalog/taxes", limit=1000)
    invoice = None
    if bill.get("invoiceId"):
        invoice, _ = await read_section(page, f"{CUSTOMERS}/{customer_id}/invoices/{bill['invoiceId']}")
    return page.render("billing/bill.html", status_code, section="customers", customer=customer, bill=bill,
                       invoice=invoice, balance_groups=groups or [], taxes=taxes or [], **context)


@route("/customers/{customer_id:int}/bills/{bill_id:int}")
async def bill_info(request: Request, page: Page) -> Response:
    return await _bill_page(page, request.path_params["customer_id"], request.path_params["bill_id"])


def _adjustment_body(pairs: Any) -> dict[str, Any]:
    """An adjustment's body; the tax only when "with tax" is on (its inputs are sent only then)."""
    body = forms.unflatten(pairs)
    if not body.get("tax"):
        body.pop("tax", None)
    return body


@route("/customers/{customer_id:int}/bills/{bill_id:int}/adjustments", methods=("POST",))
async def adjust_bill(request: Request, page: Page) -> Response:
    customer_id, bill_id = request.path_params["customer_id"], request.path_params["bill_id"]
    _own(customer_id, await page.api.get(f"/api/v1/bills/{bill_id}"), "bill")
    body = _adjustment_body((await request.form()).multi_items())

    async def again(errors: dict[str, str], values: dict[str, str], status: int) -> Response:
        return await _bill_page(page, customer_id, bill_id, status, failed="bill", errors=errors, values=values)

    return await _submit(request, page, "POST", f"/api/v1/bills/{bill_id}/adjustments", body,
                         f"/console/customers/{customer_id}/bills/{bill_id}#items", again)


@route("/customers/{customer_id:int}/bills/{bill_id:int}/items/{item_id:str}/adjustments", methods=("POST",))
async def adjust_item(request: Request, page: Page) -> Response:
    customer_id, bill_id, item_id = (request.path_params[k] for k in ("customer_id", "bill_id", "item_id"))
    _own(customer_id, await page.api.get(f"/api/v1/bills/{bill_id}"), "bill")
    body = _adjustment_body((await request.form()).multi_items())

    async def again(errors: dict[str, str], values: dict[str, str], status: int) -> Response:
        return await _bill_page(page, customer_id, bill_id, status, failed=f"item:{item_id}", errors=errors,
                                values=values)

    return await _submit(request, page, "POST", f"/api/v1/bills/{bill_id}/items/{item_id}/adjustments", body,
                         f"/console/customers/{customer_id}/bills/{bill_id}#items", again)


# -- invoices: CSV, details and documents, wallet offline payment ----------------------------------

@route("/customers/{customer_id:int}/invoices.csv")
async def invoices_csv(request: Request, page: Page) -> Response:
    path = f"{CUSTOMERS}/{request.path_params['customer_id']}/invoices"
    await page.api.page(path, limit=1)  # a problem answers as a page, before the download starts
    name = f"invoices-{request.path_params['customer_id']}.csv"
    return StreamingResponse(page.api.stream(path), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _invoice_page(page: Page, customer_id: int, invoice_id: str, status_code: int = 200,
                        **context: Any) -> Response:
    customer = await page.api.get(f"{CUSTOMERS}/{customer_id}")
    invoice = await page.api.get(f"{CUSTOMERS}/{customer_id}/invoices/{invoice_id}")
    payments, payments_error = await read_section(page, f"{CUSTOMERS}/{customer_id}/invoices/{invoice_id}/payments")
    context.setdefault("values", {"direction": "charge", "amount": invoice["dueAmount"], "method": "transfer",
                                  "id": str(uuid.uuid4())})
    return page.render("billing/invoice.html", status_code, section="customers", customer=customer,
                       invoice=invoice, payments=payments or [], payments_error=payments_error,
                       payment_methods=PAYMENT_METHODS, **context)


@route("/customers/{customer_id:int}/invoices/{invoice_id:str}/details")
async def invoice_details(request: Request, page: Page) -> Response:
    """Details: the invoice from its template, to save as PDF, HTML or JSON; its payments; the Wallet."""
    return await _invoice_page(page, request.path_params["customer_id"], request.path_params["invoice_id"])


@route("/customers/{customer_id:int}/invoices/{invoice_id:str}.{kind:str}")
async def invoice_document(request: Request, page: Page) -> Response:
    """The invoice as PDF, HTML or JSON, straight from the API; `?download=<number>` saves it as a file."""
    kind = request.path_params["kind"]
    if kind not in ("pdf", "html", "json"):
        return page.render("error.html", 404, title="Not found", detail=f"No invoice format {kind!r}.")
    path = f"{CUSTOMERS}/{request.path_params['customer_id']}/invoices/{request.path_params['invoice_id']}"
    answer = await page.api.call("GET", path, query={"format": kind})
    headers = {k: v for k, v in answer.headers.items() if k in ("content-type", "content-disposition")}
    if request.query_params.get("download"):  # the invoice number names the file (only safe characters)
        name = re.sub(r"[^A-Za-z0-9_-]", "", request.query_params["download"]) or request.path_params["invoice_id"]
        headers["content-disposition"] = f'attachment; filename="{name}.{kind}"'
    return Response(answer.body, status_code=200, headers=headers)


@route("/customers/{customer_id:int}/invoices/{invoice_id:str}/payments", methods=("POST",))
async def record_payment(request: Request, page: Page) -> Response:
    """Wallet offline payment (a charge or a refund); the form's payment id makes a retried submit record it once."""
    customer_id, invoice_id = request.path_params["customer_id"], request.path_params["invoice_id"]
    body = forms.unflatten((await request.form()).multi_items())
    body.setdefault("id", str(uuid.uuid4()))
    body = local_time.instants(body, operator_zone(request), "paidAt")

    async def again(errors: dict[str, str], values: dict[str, str], status: int) -> Response:
        return await _invoice_page(page, customer_id, invoice_id, status, failed="wallet", errors=errors,
                                   values=values)

    return await _submit(request, page, "POST", f"{CUSTOMERS}/{customer_id}/invoices/{invoice_id}/payments", body,
                         f"/console/customers/{customer_id}/invoices/{invoice_id}/details?paid=1", again)


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

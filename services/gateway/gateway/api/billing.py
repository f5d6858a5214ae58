"""/api/v1 billing: profiles, bills and adjustments, runs, invoices and their documents, hierarchy groups."""
from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from typing import Any

from connexion import request
from starlette.responses import Response, StreamingResponse

from chassis.http import json_response
from gateway import dependencies
from gateway.service_layer import audit

INVOICE_CSV = ("number", "kind", "status", "issuedAt", "dueDate", "amount", "taxAmount", "dueAmount", "currency",
               "billId", "references")
CSV_PAGE = 500
DOCUMENT_TYPES = {"application/pdf": "pdf", "text/html": "html"}


def _call(method: str, *args: Any) -> Any:
    return dependencies.rpc.call("billing", method, *args)


def _created(result: Any, target: str, location: str | None = None) -> tuple[Any, int, dict[str, str]]:
    audit.note(target=target, before=None, after=result)
    return json_response(result, 201, {"Location": location} if location else None)


# -- profiles --------------------------------------------------------------------------------

def list_profiles(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("list_billing_profiles", customer_id))


def create_profile(customer_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    dependencies.rpc.call("customer", "get_customer", customer_id)  # 404 for a customer that does not exist
    profile = _call("create_billing_profile", {**body, "customerId": customer_id})
    return _created(profile, f"billing-profile/{profile['id']}", f"/api/v1/billing-profiles/{profile['id']}")


def get_profile(profile_id: str) -> tuple[Any, int, dict[str, str]]:
    view = _call("get_profile_view", profile_id)
    # The customer's payment information (null until the customer has given some).
    owner = dependencies.rpc.call("customer", "get_customer", view["customerId"])
    view["paymentInformation"] = owner.get("paymentInfo")
    return json_response(view)


# -- bills -----------------------------------------------------------------------------------

def list_bills(profile_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("list_bills", profile_id))


def get_bill(bill_id: int) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_bill", bill_id))


def adjust_bill(bill_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _created(_call("adjust_bill", bill_id, body), f"bill/{bill_id}")


def adjust_bill_item(bill_id: int, item_id: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _created(_call("adjust_bill_item", bill_id, item_id, body), f"bill/{bill_id}/items/{item_id}")


def run_billing(profile_id: str, body: dict[str, Any] | None = None) -> tuple[Any, int, dict[str, str]]:
    outcome = _call("run_billing", profile_id, (body or {}).get("asOf"))
    audit.note(target=f"billing-profile/{profile_id}", before=None, after=outcome)
    return json_response(outcome)


def bill_now(profile_id: str) -> tuple[Any, int, dict[str, str]]:
    done = _call("bill_now", profile_id)
    return _created(done, f"billing-profile/{profile_id}", f"/api/v1/bills/{done['bill']['id']}")


def preview_invoice(profile_id: str, details: bool = False) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("preview_invoice", profile_id, details))


# -- bill runs -------------------------------------------------------------------------------

def list_bill_runs() -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("list_bill_runs"))


def start_bill_run(body: dict[str, Any] | None = None) -> tuple[Any, int, dict[str, str]]:
    run = _call("start_bill_run", body or {})
    audit.note(target=f"bill-run/{run['id']}", before=None, after=run)
    return json_response(run, 202, {"Location": f"/api/v1/bill-runs/{run['id']}"})


def get_bill_run(run_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_bill_run", run_id))


# -- invoices --------------------------------------------------------------------------------

def list_invoices(customer_id: int, status: str | None = None, offset: int = 0, limit: int = 50) -> Any:
    if "text/csv" in request.headers.get("accept", ""):
        return StreamingResponse(_csv(customer_id, status), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="invoices-{customer_id}.csv"'})
    page = _call("list_invoices", customer_id, status, offset, limit)
    return json_response(page["items"], 200, {"X-Total-Count": str(page["total"]),
                                              "X-Result-Count": str(len(page["items"]))})


def _csv(customer_id: int, status: str | None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(INVOICE_CSV)
    offset = 0
    while True:
        page = _call("list_invoices", customer_id, status, offset, CSV_PAGE)
        writer.writerows([invoice.get(column) for column in INVOICE_CSV] for invoice in page["items"])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        offset += CSV_PAGE
        if offset >= page["total"]:
            return


def get_invoice(customer_id: int, invoice_id: str) -> Any:
    # `format` shadows a builtin, so connexion does not pass it by name: read it from the query.
    accept = request.headers.get("accept", "")
    wanted = request.query_params.get("format") or next(
        (kind for media, kind in DOCUMENT_TYPES.items() if media in accept), "json")
    if wanted == "json":
        return json_response(_call("get_invoice", customer_id, invoice_id))
    document = _call("render_invoice", customer_id, invoice_id, wanted)
    if wanted == "pdf":
        return Response(base64.b64decode(document["body"]), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{document["number"]}.pdf"'})
    return Response(document["body"], media_type=document["contentType"])


def issue_note(customer_id: int, invoice_id: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    note = _call("issue_note", customer_id, invoice_id, body)
    return _created(note, f"invoice/{note['id']}", f"/api/v1/customers/{customer_id}/invoices/{note['id']}")


# -- hierarchy groups ------------------------------------------------------------------------

def find_hierarchy_groups(owner_name: str | None = None, owner_customer_id: int | None = None,
                          member_customer_id: int | None = None) -> tuple[Any, int, dict[str, str]]:
    # connexion passes the query's camelCase names in snake case (pythonic_params): a camelCase
    # argument here would never be filled, and every group would be found.
    return json_response(_call("find_hierarchy_groups", owner_name, owner_customer_id, member_customer_id))


def create_hierarchy_group(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    group = _call("create_hierarchy_group", body)
    return _created(group, f"hierarchy-group/{group['id']}", f"/api/v1/hierarchy-groups/{group['id']}")


def get_hierarchy_group(group_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_hierarchy_group", group_id))


def _group_change(group_id: str, method: str, *args: Any) -> tuple[Any, int, dict[str, str]]:
    before = _call("get_hierarchy_group", group_id)
    after = _call(method, group_id, *args)
    audit.note(target=f"hierarchy-group/{group_id}", before=before, after=after)
    return json_response(after)


def update_hierarchy_group(group_id: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _group_change(group_id, "update_hierarchy_group", body)


def cancel_hierarchy_group(group_id: str) -> tuple[Any, int, dict[str, str]]:
    return _group_change(group_id, "cancel_hierarchy_group")


def join_hierarchy_group(group_id: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    member = _call("join_hierarchy_group", {**body, "groupId": group_id})
    return _created(member, f"hierarchy-group/{group_id}/members/{member['id']}")


def _member(group_id: str, member_id: str) -> dict[str, Any]:
    from chassis.errors import NotFound

    found = next((m for m in _call("get_hierarchy_group", group_id)["members"] if m["id"] == member_id), None)
    if found is None:
        raise NotFound(f"hierarchy group {group_id} has no member {member_id}")
    return found


def update_hierarchy_member(group_id: str, member_id: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    before = _member(group_id, member_id)
    after = _call("update_hierarchy_membership", member_id, body)
    audit.note(target=f"hierarchy-group/{group_id}/members/{member_id}", before=before, after=after)
    return json_response(after)


def leave_hierarchy_group(group_id: str, member_id: str) -> tuple[Any, int, dict[str, str]]:
    before = _member(group_id, member_id)
    _call("leave_hierarchy_group", member_id)
    audit.note(target=f"hierarchy-group/{group_id}/members/{member_id}", before=before, after=None)
    return None, 204, {}

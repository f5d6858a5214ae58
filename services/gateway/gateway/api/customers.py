"""/api/v1/customers: the list (JSON or CSV), one account, contacts, payment info, closing."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from connexion import request
from starlette.responses import StreamingResponse

from chassis.http import json_response
from gateway import dependencies
from gateway.service_layer import audit

CSV_HEADER = ("id", "name", "email", "subscriptions", "services")
EXPORT_PAGE = 2000


def _call(method: str, *args: Any) -> Any:
    return dependencies.rpc.call("customer", method, *args)


def _filters(**given: Any) -> dict[str, Any]:
    wire = {"customer_type": "customerType", "payment_method": "paymentMethod"}
    return {wire.get(key, key): value for key, value in given.items() if value not in (None, "")}


def list_customers(name: str | None = None, email: str | None = None, address: str | None = None,
                   city: str | None = None, country: str | None = None, status: str | None = None,
                   customer_type: str | None = None, payment_method: str | None = None,
                   offset: int = 0, limit: int = 20) -> Any:
    filters = _filters(name=name, email=email, address=address, city=city, country=country, status=status,
                       customer_type=customer_type, payment_method=payment_method)
    if "text/csv" in request.headers.get("accept", ""):
        _call("export_page", filters, 0, 1)  # bad filters fail here as a 400, before streaming starts
        return StreamingResponse(_csv(filters), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="customers.csv"'})
    page = _call("search_customers", filters, offset, limit)
    return json_response(page["items"], 200, {"X-Total-Count": str(page["total"]),
                                              "X-Result-Count": str(len(page["items"]))})


def _csv(filters: dict[str, Any]) -> Iterator[str]:
    """One export page in memory at a time, whatever the number of customers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    after: int | None = 0
    while after is not None:
        page = _call("export_page", filters, after, EXPORT_PAGE)
        writer.writerows(row for row in page["rows"])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        after = page["nextAfterId"]


def create(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    customer = _call("create_customer", body)
    audit.note(target=f"customer/{customer['id']}", before=None, after=customer)
    return json_response(customer, 201, {"Location": f"/api/v1/customers/{customer['id']}"})


def get(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_customer", customer_id))


def update(customer_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    return _audited(customer_id, "update_account", body)


def close(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    return _audited(customer_id, "close_customer")


def _audited(customer_id: int, method: str, *args: Any, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    before = _call("get_customer", customer_id)
    after = _call(method, customer_id, *args)
    audit.note(target=f"customer/{customer_id}", before=before, after=after)
    return json_response(after, status)


def list_contacts(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    contacts = _call("list_contacts", customer_id)
    return json_response(contacts, 200, {"X-Total-Count": str(len(contacts)), "X-Result-Count": str(len(contacts))})


def add_contact(customer_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    contact = _call("add_contact", customer_id, body)
    audit.note(target=f"customer/{customer_id}/contacts/{contact['tag']}", before=None, after=contact)
    return json_response(contact, 201, {"Location": f"/api/v1/customers/{customer_id}/contacts/{contact['tag']}"})


def _contact(customer_id: int, tag: str) -> dict[str, Any] | None:
    return next((c for c in _call("list_contacts", customer_id) if c["tag"] == tag), None)


def update_contact(customer_id: int, tag: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    before = _contact(customer_id, tag)
    contact = _call("update_contact", customer_id, tag, body)
    audit.note(target=f"customer/{customer_id}/contacts/{tag}", before=before, after=contact)
    return json_response(contact)


def delete_contact(customer_id: int, tag: str) -> tuple[Any, int, dict[str, str]]:
    before = _contact(customer_id, tag)
    _call("delete_contact", customer_id, tag)
    audit.note(target=f"customer/{customer_id}/contacts/{tag}", before=before, after=None)
    return None, 204, {}


def get_payment_info(customer_id: int) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("get_payment_info", customer_id))


def set_payment_info(customer_id: int, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    before = _call("get_customer", customer_id)["paymentInfo"]
    after = _call("set_payment_info", customer_id, body)
    audit.note(target=f"customer/{customer_id}/paymentInfo", before=before, after=after)
    return json_response(after)

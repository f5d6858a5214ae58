"""Balances, usage and real-time charging (rating). Paths name the customer; rating answers NotFound or names
the field for another customer's balance, event or service, so one customer's URL never reaches another's."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connexion import request
from starlette.responses import StreamingResponse

from chassis.http import json_response
from gateway import dependencies
from gateway.service_layer import audit

Response = tuple[Any, int, dict[str, str]]
EXPORT_PAGE = 1000


def _rating(method: str, *args: Any) -> Any:
    return dependencies.rpc.call("rating", method, *args)


def _charging(method: str, *args: Any) -> Any:
    """Real-time charging is answered by rating's charging process (`python -m rating charging`, RPC service
    `rating_charging`; decision 0407), in batches."""
    return dependencies.rpc.call("rating_charging", method, *args)


# Balances

def list_balances(customer_id: int, balance_group_id: str | None = None, as_of: str | None = None) -> Response:
    return json_response(_rating("list_balances", customer_id, balance_group_id, as_of))


def create_balance(customer_id: int, body: dict[str, Any]) -> Response:
    balance = _rating("create_balance", {**body, "customerId": customer_id})
    target = f"customers/{customer_id}/balances/{balance['id']}"
    audit.note(target=target, before=None, after=balance)
    return json_response(balance, 201, {"Location": f"/api/v1/customers/{customer_id}/balances"})


def adjust_balance(customer_id: int, balance_id: str, body: dict[str, Any]) -> Response:
    balance = _rating("adjust_balance", {**body, "customerId": customer_id, "balanceId": balance_id})
    audit.note(target=f"customers/{customer_id}/balances/{balance_id}", before={"adjustment": body}, after=balance)
    return json_response(balance)


# Usage

def _filters(**given: Any) -> dict[str, Any]:
    return {key: value for key, value in given.items() if value not in (None, "")}


def list_usage(customer_id: int, service_id: str | None = None, from_: str | None = None, to: str | None = None,
               status: str | None = None, offset: int = 0, limit: int = 50) -> Any:
    filters = _filters(serviceId=service_id, to=to, status=status, **{"from": from_})
    if "text/csv" in request.headers.get("accept", ""):
        first = _rating("list_usage", customer_id, {**filters, "offset": 0, "limit": 1})  # 400 before streaming
        return StreamingResponse(_csv(customer_id, filters, first["columns"]), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="usage.csv"'})
    page = _rating("list_usage", customer_id, {**filters, "offset": offset, "limit": limit})
    return json_response(page, 200, {"X-Total-Count": str(page["total"])})


def _shown(value: Any) -> str:
    """Instants as the console shows them (the seed's `29/09/2020, 11:57`), anything else as is."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return datetime.fromisoformat(value).strftime("%d/%m/%Y, %H:%M")
        except ValueError:
            return value
    return "" if value is None else str(value)


def csv_row(item: dict[str, Any], columns: list[dict[str, str]]) -> list[str]:
    values = {**item["fields"], "eventId": item["eventId"], "createdAt": item["createdAt"],
              "amount": item.get("amount")}
    return [_shown(values.get(column["name"])) for column in columns]


def _csv(customer_id: int, filters: dict[str, Any], columns: list[dict[str, str]]) -> Iterator[str]:
    """One page in memory at a time. Columns come from the first page: the service types' fields."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    offset = 0
    while True:
        page = _rating("list_usage", customer_id, {**filters, "offset": offset, "limit": EXPORT_PAGE})
        if offset == 0:
            columns = page["columns"]
            writer.writerow([c["title"] for c in columns])
        writer.writerows(csv_row(item, columns) for item in page["items"])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        offset += EXPORT_PAGE
        if offset >= page["total"]:
            return


def create_usage_event(customer_id: int, body: dict[str, Any]) -> Response:
    event = _rating("create_usage_event", {**body, "customerId": customer_id})
    audit.note(target=f"customers/{customer_id}/usage/{event['eventId']}", before=None, after=event)
    return json_response(event, 201, {"Location": f"/api/v1/customers/{customer_id}/usage"})


def adjust_usage(customer_id: int, event_id: str, body: dict[str, Any]) -> Response:
    event = _rating("adjust_usage", {**body, "customerId": customer_id, "usageId": event_id})
    audit.note(target=f"customers/{customer_id}/usage/{event_id}", before={"adjustment": body}, after=event)
    return json_response(event)


def rate_usage(body: dict[str, Any]) -> Response:
    result = _rating("rate_usage", body["events"])
    audit.note(target="usage", before=None, after=result["summary"])
    return json_response(result)


# Real-time charging

def reserve(body: dict[str, Any]) -> Response:
    reservation = _charging("reserve", body)
    audit.note(target=f"charging/reservations/{reservation['id']}", before=None, after=reservation)
    return json_response(reservation, 201, {"Location": f"/api/v1/charging/reservations/{reservation['id']}"})


def commit_reservation(reservation_id: str, body: dict[str, Any]) -> Response:
    reservation = _charging("commit_reservation", reservation_id, body)
    audit.note(target=f"charging/reservations/{reservation_id}", before=None, after=reservation)
    return json_response(reservation)


def release_reservation(reservation_id: str) -> Response:
    reservation = _charging("release_reservation", reservation_id)
    audit.note(target=f"charging/reservations/{reservation_id}", before=None, after=reservation)
    return json_response(reservation)

"""Invoice details from one template: HTML, PDF (WeasyPrint, from that HTML) and JSON.

Money and dates are formatted for the invoice's locale with Babel; the numbers themselves come
from the frozen invoice, never recomputed.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, PackageLoader, select_autoescape

from billing.service_layer.invoices import get_invoice
from chassis.errors import ValidationFailed
from chassis.money import to_decimal

FORMATS = ("html", "pdf", "json")
TITLES = {"invoice": "Invoice", "credit_note": "Credit note", "debit_note": "Debit note"}


@lru_cache(maxsize=1)
def _template() -> Any:
    env = Environment(loader=PackageLoader("billing", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("invoice.html")


def html(invoice: dict[str, Any], locale: str = "en") -> str:
    currency = invoice["currency"]

    def money(value: Any) -> str:
        return format_currency(to_decimal(value), currency, locale=locale)

    def day(value: str | None) -> str:
        return format_date(datetime.fromisoformat(value), format="medium", locale=locale) if value else ""

    def tax_label(tax: dict[str, Any] | None) -> str:
        return f"{tax['code']} {format_percent(to_decimal(tax['rate']) / 100, locale=locale)}" if tax else ""

    lines = [{**line, "amount": money(line["amount"]), "taxAmount": money(line["taxAmount"]),
              "total": money(line["total"]), "taxLabel": tax_label(line.get("tax")),
              "units": format_decimal(to_decimal(line["units"]), locale=locale) if line.get("units") else ""}
             for line in invoice["lines"]]
    return str(_template().render(
        invoice=invoice, lines=lines, title=TITLES.get(invoice["kind"], "Invoice"), language=locale.split("_")[0],
        money={key: money(invoice[key]) for key in ("netAmount", "taxAmount", "amount", "dueAmount")},
        dates={key: day(invoice.get(key)) for key in ("issuedAt", "dueDate", "periodStart", "periodEnd")}))


def pdf(invoice: dict[str, Any], locale: str = "en") -> bytes:
    from weasyprint import HTML  # imported late: its fonts load once, on the first PDF

    return bytes(HTML(string=html(invoice, locale)).write_pdf())


def render_invoice(customer_id: int, invoice_id: str, fmt: str) -> dict[str, Any]:
    """`{"contentType", "body"}`: text for HTML and JSON, base64 for PDF (it crosses RPC as JSON)."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown format {fmt!r}", {"format": f"must be one of {', '.join(FORMATS)}"})
    from billing.adapters.documents import Invoice

    invoice = get_invoice(customer_id, invoice_id)
    locale = Invoice.objects(id=invoice_id).only("locale").first().locale or "en"
    if fmt == "json":
        return {"contentType": "application/json", "body": json.dumps(invoice), "number": invoice["number"]}
    if fmt == "html":
        return {"contentType": "text/html; charset=utf-8", "body": html(invoice, locale), "number": invoice["number"]}
    return {"contentType": "application/pdf", "body": base64.b64encode(pdf(invoice, locale)).decode(),
            "number": invoice["number"]}

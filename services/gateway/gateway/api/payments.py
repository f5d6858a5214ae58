"""/api/v1 payments: offline payments on invoices, payment collection, SEPA files out, bank files in."""
from __future__ import annotations

import base64
from typing import Any

from connexion import request
from starlette.responses import Response

from chassis.http import json_response
from gateway import dependencies
from gateway.service_layer import audit


def _call(method: str, *args: Any) -> Any:
    return dependencies.rpc.call("billing", method, *args)


def list_payments(customer_id: int, invoice_id: str) -> tuple[Any, int, dict[str, str]]:
    return json_response(_call("list_payments", customer_id, invoice_id))


def record_payment(customer_id: int, invoice_id: str, body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    before = _call("get_invoice", customer_id, invoice_id)
    payment = _call("record_offline_payment", customer_id, invoice_id, body)
    audit.note(target=f"invoice/{invoice_id}/payments/{payment['id']}", before=before, after=payment)
    return json_response(payment, 201)


def _respond_async() -> bool:
    """`Prefer: respond-async` (RFC 7240): queue the job and answer with it at once."""
    return any(p.strip().lower() == "respond-async" for p in request.headers.get("prefer", "").split(","))


def _queued(job: dict[str, Any], target: str) -> tuple[Any, int, dict[str, str]]:
    audit.note(target=f"{target}/{job['id']}", before=None, after={"jobId": job["id"], "status": job["status"]})
    return json_response(job, 202, {"Location": f"/api/v1/jobs/{job['id']}", "Preference-Applied": "respond-async"})


def collect_payments() -> tuple[Any, int, dict[str, str]]:
    if _respond_async():
        return _queued(_call("start_payment_collection"), "payment-collection")
    report = _call("collect_payments")
    audit.note(target="payment-collection", before=None, after=report)
    return json_response(report)


def list_sepa_files(offset: int = 0, limit: int = 50) -> tuple[Any, int, dict[str, str]]:
    page = _call("list_sepa_files", offset, limit)
    return json_response(page["items"], 200, {"X-Total-Count": str(page["total"]),
                                              "X-Result-Count": str(len(page["items"]))})


def export_sepa() -> tuple[Any, int, dict[str, str]]:
    if _respond_async():
        return _queued(_call("start_sepa_export"), "sepa-export")
    report = _call("export_sepa")
    if report["fileId"] is None:
        return json_response(report)
    audit.note(target=f"sepa-file/{report['fileId']}", before=None, after=report)
    return json_response(report, 201, {"Location": f"/api/v1/sepa-files/{report['fileId']}"})


def get_sepa_file(file_id: str) -> Any:
    if "application/xml" in request.headers.get("accept", ""):
        content = base64.b64decode(_call("get_sepa_file_content", file_id))
        summary = _call("get_sepa_file", file_id)
        return Response(content, media_type="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{summary["messageId"]}.xml"'})
    return json_response(_call("get_sepa_file", file_id))


def import_bank_file(body: Any) -> tuple[Any, int, dict[str, str]]:
    content = body.encode() if isinstance(body, str) else bytes(body or b"")
    if _respond_async():
        return _queued(_call("start_bank_import", base64.b64encode(content).decode()), "bank-import")
    report = _call("import_bank_file", base64.b64encode(content).decode())
    # The report can list thousands of transactions: the audit keeps the counts.
    audit.note(target=f"bank-file/{report['importId']}", before=None,
               after={k: report.get(k) for k in ("kind", "messageId", "counts", "duplicate")})
    return json_response(report)

"""The portal's JSON API (contracts/http/selfcare.yaml). The session cookie is checked by
`session_info`; every read passes the session's own customer id to the owning service."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse

from chassis.clock import utc_now
from chassis.errors import Forbidden
from chassis.http import PROBLEM, json_response
from selfcare.domain.tokens import same
from selfcare.entrypoints import web
from selfcare.service_layer import auth
from selfcare.service_layer.auth import Session, TooManyAttempts

# Reachable while the operator forces a password change; everything else answers 403.
BEFORE_PASSWORD_CHANGE = frozenset({"get_session", "log_out", "change_password"})


def session_info(apikey: str, request: Any = None) -> dict[str, Any] | None:
    """Referenced by `x-apikeyInfoFunc`: the session behind the cookie, CSRF-checked for changes."""
    session = auth.current_session(apikey, utc_now(), web.portal.policy)
    if session is None:
        return None
    operation = ""
    if request is not None:
        operation = (request.scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id") or "")
        if request.scope["method"] not in ("GET", "HEAD", "OPTIONS") and \
                not same(request.headers.get("x-csrf-token"), session.csrf_token):
            raise Forbidden("Missing or wrong X-CSRF-Token header", {"X-CSRF-Token": "does not match the session"})
    if session.must_change_password and operation.rsplit(".", 1)[-1] not in BEFORE_PASSWORD_CHANGE:
        raise Forbidden("Change your password first (POST /api/v1/password)", {"password": "change required"})
    return {"sub": str(session.customer_id), "session": session, "secret": apikey}


def _session_out(session: Session, expires_at: Any = None) -> dict[str, Any]:
    body = {"customerId": session.customer_id, "csrfToken": session.csrf_token,
            "mustChangePassword": session.must_change_password, "email": session.email,
            "firstName": session.first_name, "lastName": session.last_name}
    if expires_at is not None:
        body["expiresAt"] = expires_at.isoformat()
    return body


def too_many(exc: TooManyAttempts) -> ConnexionResponse:
    return ConnexionResponse(status_code=429, body=json.dumps(exc.to_problem(str(request.url.path))),
                             content_type=PROBLEM, mimetype=PROBLEM, headers={"Retry-After": str(exc.retry_after)})


def log_in(body: dict[str, Any]) -> Any:
    try:
        new = auth.login(body.get("email"), body.get("password"), web.client_address(request), utc_now(),
                         web.portal.limits, web.portal.policy)
    except TooManyAttempts as exc:
        return too_many(exc)
    max_age = int(web.portal.policy.absolute.total_seconds())
    return json_response(_session_out(new.session, new.expires_at), 200, {
        "Set-Cookie": web.cookie(web.SESSION_COOKIE, new.secret, max_age), "Cache-Control": "no-store"})


def get_session(token_info: dict[str, Any]) -> Any:
    return json_response(_session_out(token_info["session"]), 200, {"Cache-Control": "no-store"})


def log_out(token_info: dict[str, Any]) -> Any:
    auth.logout(token_info["secret"])
    return None, 204, {"Set-Cookie": web.expired_cookie(web.SESSION_COOKIE)}


def verify_email(body: dict[str, Any]) -> Any:
    return json_response(auth.verify_email(body["token"], utc_now()))


def reset_password(body: dict[str, Any]) -> Any:
    return json_response(auth.reset_password(body["token"], body["password"], body["passwordConfirmation"],
                                             utc_now()))


def change_password(token_info: dict[str, Any], body: dict[str, Any]) -> Any:
    session: Session = token_info["session"]
    auth.change_password(token_info["secret"], session.customer_id, body["currentPassword"], body["newPassword"],
                         body["newPasswordConfirmation"], utc_now())
    return None, 204, {}


def _customer(token_info: dict[str, Any]) -> int:
    return token_info["session"].customer_id


def get_profile(token_info: dict[str, Any]) -> Any:
    session: Session = token_info["session"]
    return json_response(profile(session))


def profile(session: Session) -> dict[str, Any]:
    customer = web.portal.accounts.customer(session.customer_id)
    return {"customerId": session.customer_id,
            "user": {"firstName": session.first_name, "lastName": session.last_name, "email": session.email},
            "status": customer.get("status"), "customerType": customer.get("customerType"),
            "contacts": customer.get("contacts", [])}


def list_balances(token_info: dict[str, Any]) -> Any:
    return json_response(web.portal.accounts.balances(_customer(token_info)))


def usage_filters(from_: str | None, to: str | None, service_type: str | None, offset: int = 0,
                  limit: int = 100) -> dict[str, Any]:
    given = {"from": from_, "to": to, "serviceType": service_type, "offset": offset, "limit": limit}
    return {key: value for key, value in given.items() if value not in (None, "")}


def list_usage(token_info: dict[str, Any], from_: str | None = None, to: str | None = None,
               service_type: str | None = None, offset: int = 0, limit: int = 100) -> Any:
    usage = web.portal.accounts.usage(_customer(token_info), usage_filters(from_, to, service_type, offset, limit))
    if "text/csv" in request.headers.get("accept", ""):
        return usage_csv(usage), 200, {"Content-Type": "text/csv; charset=utf-8",
                                       "Content-Disposition": 'attachment; filename="usage.csv"'}
    return json_response(usage)


def usage_csv(usage: dict[str, Any]) -> str:
    """One row per usage record: the columns the owner lists (the service type's fields)."""
    columns, rows = usage_table(usage)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows([row.get(column, "") for column in columns] for row in rows)
    return buffer.getvalue()


def usage_table(usage: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    rows = usage.get("items", [])
    columns = list(usage.get("columns") or dict.fromkeys(key for row in rows for key in row))
    return columns, rows


def list_invoices(token_info: dict[str, Any], status: str | None = None, offset: int = 0, limit: int = 50) -> Any:
    return json_response(web.portal.accounts.invoices(_customer(token_info), status, offset, limit))


def get_invoice(token_info: dict[str, Any], invoice_id: str) -> Any:
    return json_response(web.portal.accounts.invoice(_customer(token_info), invoice_id))


def invoice_pdf(token_info: dict[str, Any], invoice_id: str) -> Any:
    content = web.portal.accounts.invoice_pdf(_customer(token_info), invoice_id)
    return ConnexionResponse(status_code=200, body=content, content_type="application/pdf",
                             mimetype="application/pdf",
                             headers={"Content-Disposition": f'attachment; filename="invoice-{invoice_id}.pdf"'})


def pay_invoice(token_info: dict[str, Any], invoice_id: str, body: dict[str, Any]) -> Any:
    key = request.headers["idempotency-key"]  # required by the spec
    payment = web.portal.accounts.pay(_customer(token_info), invoice_id, body["paymentToken"], key)
    return json_response(payment)

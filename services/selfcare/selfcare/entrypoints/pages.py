"""The portal's pages for people (server-rendered, Jinja2, no JavaScript).

Every form carries a CSRF token: the session's once logged in, else a double-submit
cookie. A page of a logged-in customer reads only that customer's data; an id of
someone else's invoice answers 404, like an id that does not exist.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from chassis.clock import utc_now
from chassis.errors import PlatformError, ValidationFailed
from selfcare.domain.tokens import new_secret, same
from selfcare.entrypoints import portal_api, web
from selfcare.service_layer import auth
from selfcare.service_layer.auth import Session

templates = Jinja2Templates(directory=str(resources.files("selfcare") / "templates"))
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Emailed links carry their token in the URL: never hand it to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Page = Callable[[Request], Awaitable[Response]]


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, error: PlatformError, session: Session | None = None) -> HTMLResponse:
    return render(request, "message.html", error.status, session=session, title=error.title, error=error)


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


async def _session(request: Request) -> Session | None:
    secret = request.cookies.get(web.SESSION_COOKIE)
    return await run_in_threadpool(auth.current_session, secret, utc_now(), web.portal.policy)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _local(target: str | None) -> str:
    """Only paths of this site are followed after logging in (no open redirect)."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/balances"


def logged_in(handler: Callable[[Request, Session], Awaitable[Response]], *, before_password_change: bool = False
              ) -> Page:
    """The page for a logged-in customer; others go to the login page. Form posts must carry
    the session's CSRF token; typed errors become pages with their status."""

    async def page(request: Request) -> Response:
        session = await _session(request)
        if session is None:
            return redirect(f"/login?{urlencode({'next': request.url.path})}")
        if session.must_change_password and not before_password_change:
            return redirect("/change-password")
        if request.method == "POST":
            form = await _form(request)
            if not same(form.get("csrf_token"), session.csrf_token):
                return error_page(request, CsrfRefused(), session)
            request.state.form = form
        try:
            return await handler(request, session)
        except PlatformError as error:
            return error_page(request, error, session)

    return page


class CsrfRefused(PlatformError):
    status = 403
    title = "Form refused"
    code = "csrf"

    def __init__(self) -> None:
        super().__init__("This form is out of date or was not sent from the portal. Reload the page and try again.",
                         {"csrf_token": "missing or wrong"})


def _csrf_cookie(request: Request) -> tuple[str, bool]:
    token = request.cookies.get(web.CSRF_COOKIE)
    return (token, False) if token else (new_secret(), True)


def public_form(template: str, submit: Callable[[Request, dict[str, str]], Awaitable[Response]]) -> Page:
    """A form shown before logging in, protected by a double-submit CSRF cookie."""

    async def page(request: Request) -> Response:
        token, fresh = _csrf_cookie(request)
        if request.method == "POST":
            form = await _form(request)
            if fresh or not same(form.get("csrf_token"), token):
                return error_page(request, CsrfRefused())
            try:
                return await submit(request, form)
            except PlatformError as error:
                response: Response = render(request, template, error.status, csrf_token=token, error=error,
                                            form=form, query=request.query_params)
        else:
            response = render(request, template, csrf_token=token, query=request.query_params, form={})
        if fresh:
            response.headers.append("Set-Cookie", web.cookie(web.CSRF_COOKIE, token, 24 * 3600))
        return response

    return page


# -- logging in and out, emailed links ---------------------------------------------------

async def _log_in(request: Request, form: dict[str, str]) -> Response:
    new = await run_in_threadpool(auth.login, form.get("email"), form.get("password"),
                                  web.client_address(request), utc_now(), web.portal.limits, web.portal.policy)
    response = redirect("/change-password" if new.session.must_change_password
                        else _local(request.query_params.get("next")))
    response.headers.append("Set-Cookie", web.cookie(web.SESSION_COOKIE, new.secret,
                                                     int(web.portal.policy.absolute.total_seconds())))
    return response


async def _verify(request: Request, form: dict[str, str]) -> Response:
    result = await run_in_threadpool(auth.verify_email, form.get("token"), utc_now())
    return render(request, "message.html", title="Email verified",
                  message=f"Thank you: {result['email']} is verified. You can log in now.", login_link=True)


async def _reset(request: Request, form: dict[str, str]) -> Response:
    await run_in_threadpool(auth.reset_password, form.get("token"), form.get("password"),
                            form.get("password_confirmation"), utc_now())
    return render(request, "message.html", title="Password changed",
                  message="Your new password is set. Log in with it now.", login_link=True)


async def log_out(request: Request, session: Session) -> Response:
    await run_in_threadpool(auth.logout, request.cookies.get(web.SESSION_COOKIE), web.portal.policy)
    response = redirect("/login")
    response.headers.append("Set-Cookie", web.expired_cookie(web.SESSION_COOKIE))
    return response


async def change_password(request: Request, session: Session) -> Response:
    if request.method == "GET":
        return render(request, "change_password.html", session=session, form={})
    form = request.state.form
    secret = request.cookies.get(web.SESSION_COOKIE)
    assert secret is not None, "logged_in found this request's session by its cookie"
    try:
        await run_in_threadpool(auth.change_password, secret, session.customer_id,
                                form.get("current_password"), form.get("new_password"),
                                form.get("new_password_confirmation"), utc_now(), web.portal.policy)
    except ValidationFailed as error:
        return render(request, "change_password.html", 400, session=session, error=error, form={})
    return redirect("/balances")


# -- the account --------------------------------------------------------------------------

async def home(request: Request) -> Response:
    return redirect("/balances")


STYLESHEET = (resources.files("selfcare") / "static" / "portal.css").read_text(encoding="utf-8")


async def stylesheet(request: Request) -> Response:
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


async def balances(request: Request, session: Session) -> Response:
    found = await run_in_threadpool(web.portal.accounts.balances, session.customer_id)
    return render(request, "balances.html", session=session, balances=found)


def _usage_query(request: Request) -> dict[str, Any]:
    """The period of the usage page; the browser's date-time fields carry no zone: they are UTC."""
    params = request.query_params
    return portal_api.usage_filters(_utc(params.get("from")), _utc(params.get("to")), params.get("status"),
                                    limit=1000)


def _utc(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) == 16:  # 2026-11-29T10:00
        value += ":00"
    return value if value.endswith("Z") or "+" in value[10:] else value + "+00:00"


async def usage(request: Request, session: Session) -> Response:
    filters = _usage_query(request)
    found = await run_in_threadpool(web.portal.accounts.usage, session.customer_id, filters)
    columns, rows = portal_api.usage_table(found)
    return render(request, "usage.html", session=session, usage=found, columns=columns, rows=rows,
                  filters=filters, csv_query=urlencode({k: v for k, v in filters.items() if k != "limit"}))


async def usage_csv(request: Request, session: Session) -> Response:
    found = await run_in_threadpool(web.portal.accounts.usage, session.customer_id, _usage_query(request))
    return Response(portal_api.usage_csv(found), media_type="text/csv; charset=utf-8",
                    headers={**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="usage.csv"'})


async def invoices(request: Request, session: Session) -> Response:
    found = await run_in_threadpool(web.portal.accounts.invoices, session.customer_id)
    return render(request, "invoices.html", session=session, invoices=found)


def _invoice_id(request: Request) -> str:
    invoice_id = request.path_params["invoice_id"]
    if not invoice_id.replace("-", "").replace("_", "").isalnum() or len(invoice_id) > 64:
        raise ValidationFailed("Not an invoice id", {"invoiceId": "letters, digits, - and _ only"})
    return invoice_id


async def invoice(request: Request, session: Session) -> Response:
    found = await run_in_threadpool(web.portal.accounts.invoice, session.customer_id, _invoice_id(request))
    return render(request, "invoice.html", session=session, invoice=found, payment_key=uuid.uuid4().hex)


async def invoice_pdf(request: Request, session: Session) -> Response:
    invoice_id = _invoice_id(request)
    content = await run_in_threadpool(web.portal.accounts.invoice_pdf, session.customer_id, invoice_id)
    return Response(content, media_type="application/pdf", headers={
        **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="invoice-{quote(invoice_id)}.pdf"'})


async def pay(request: Request, session: Session) -> Response:
    invoice_id = _invoice_id(request)
    form = request.state.form
    key = form.get("payment_key") or ""
    if not 8 <= len(key) <= 100:
        raise ValidationFailed("Reload the invoice page and pay again", {"payment_key": "missing"})
    payment = await run_in_threadpool(web.portal.accounts.pay, session.customer_id, invoice_id,
                                      form.get("payment_token", ""), key)
    found = await run_in_threadpool(web.portal.accounts.invoice, session.customer_id, invoice_id)
    return render(request, "invoice.html", session=session, invoice=found, payment=payment,
                  payment_key=uuid.uuid4().hex)


async def profile(request: Request, session: Session) -> Response:
    found = await run_in_threadpool(portal_api.profile, session)
    return render(request, "profile.html", session=session, profile=found)


ROUTES: list[tuple[str, Page, list[str]]] = [
    ("/", home, ["GET"]),
    ("/static/portal.css", stylesheet, ["GET"]),
    ("/login", public_form("login.html", _log_in), ["GET", "POST"]),
    ("/verify-email", public_form("verify_email.html", _verify), ["GET", "POST"]),
    ("/reset-password", public_form("reset_password.html", _reset), ["GET", "POST"]),
    ("/logout", logged_in(log_out, before_password_change=True), ["POST"]),
    ("/change-password", logged_in(change_password, before_password_change=True), ["GET", "POST"]),
    ("/balances", logged_in(balances), ["GET"]),
    ("/usage", logged_in(usage), ["GET"]),
    ("/usage.csv", logged_in(usage_csv), ["GET"]),
    ("/invoices", logged_in(invoices), ["GET"]),
    ("/invoices/{invoice_id}", logged_in(invoice), ["GET"]),
    ("/invoices/{invoice_id}/pdf", logged_in(invoice_pdf), ["GET"]),
    ("/invoices/{invoice_id}/pay", logged_in(pay), ["POST"]),
    ("/profile", logged_in(profile), ["GET"]),
]

"""What every console page shares: templates, the signed-in operator, CSRF and API errors.

A page handler is `async def handler(request, page) -> Response`, registered with
`route(path, methods)`. `page.api` is the operators' API as the signed-in operator,
`page.render(template, **context)` renders a template with the layout's context, and an
`ApiProblem` raised by the API becomes the right answer (sign-in again, "not allowed",
"not found", or the form shown again with the field errors next to their inputs).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from gateway.console import formatting, session
from gateway.console.api_client import Api, ApiProblem

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(money=formatting.money, instant=formatting.instant,
                            options=lambda values: [(str(v), str(v)) for v in values or []],
                            choices=lambda items, key, *labels: [
                                (str(i[key]), " ".join(str(i.get(n) or "") for n in labels) or str(i[key]))
                                for i in items or []])
templates.env.globals.update(csrf_field=session.CSRF_FIELD)

Handler = Callable[[Request, "Page"], Awaitable[Response]]
ROUTES: list[Route] = []


class ApiApp:
    """The ASGI app serving /api/v1, set by the composition root."""
    app: Any = None


@dataclass
class Page:
    request: Request
    operator: session.Operator
    api: Api
    context: dict[str, Any] = field(default_factory=dict)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, status_code, operator=self.operator, **self.context, **context)

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def redirect(self, url: str) -> Response:
        """After a change: a normal redirect, or for htmx a client-side one (htmx would swap a 303's page in)."""
        if self.htmx:
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    operator = context.get("operator")
    return templates.TemplateResponse(request, template, {
        "tz": request.cookies.get("console_tz") or "UTC",
        "can_change": bool(operator and operator.can_change),
        "csrf": operator.csrf if operator else context.get("csrf", ""),
        "errors": {}, "values": {},
        **context,
    }, status_code=status_code)


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/console/login?next={quote(target)}"


def route(path: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Handler], Handler]:
    """Register a page: sign-in required, CSRF checked on changes, API problems turned into pages."""
    def register(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            operator = session.current_operator(request)
            if operator is None:
                if request.headers.get("hx-request") == "true":
                    return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
                return RedirectResponse(login_url(request), status_code=303)
            if request.method in UNSAFE and not await _csrf_ok(request, operator):
                return render(request, "error.html", 403, operator=operator,
                              title="Form expired", detail="Reload the page and try again.")
            trace = {k: v for k, v in request.headers.items() if k in ("traceparent", "tracestate")}
            page = Page(request, operator, Api(ApiApp.app, operator.token, trace))
            try:
                return await handler(request, page)
            except ApiProblem as problem:
                return problem_page(page, problem)

        ROUTES.append(Route(f"/console{path}".rstrip("/") or "/console", endpoint, methods=list(methods)))
        return handler

    return register


async def _csrf_ok(request: Request, operator: session.Operator) -> bool:
    submitted = request.headers.get(session.CSRF_HEADER)
    if not submitted:
        form = await request.form()  # starlette caches it for the handler
        submitted = str(form.get(session.CSRF_FIELD) or "")
    return session.valid_csrf(operator, submitted)


def problem_page(page: Page, problem: ApiProblem) -> Response:
    if problem.status == 401:
        response = RedirectResponse(login_url(page.request), status_code=303)
        session.end(response)
        return response
    titles = {403: "Not allowed", 404: "Not found", 503: "Service unavailable"}
    return page.render("error.html", problem.status if problem.status >= 400 else 500,
                       title=titles.get(problem.status, problem.title), detail=str(problem))


async def read_section(page: Page, path: str, **query: Any) -> tuple[Any, str | None]:
    """One read of one section of a page: its answer, or the reason the section cannot show it (a service
    that does not answer shows its error in its own section only; an expired login still logs out)."""
    try:
        return await page.api.get(path, **query), None
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        return None, str(problem)


def form_errors(problem: ApiProblem) -> dict[str, str]:
    """Field errors by input name, plus `_form` for what names no field."""
    errors = dict(problem.fields)
    if not errors or problem.status >= 500:
        errors["_form"] = str(problem)
    elif problem.detail and problem.status == 409:
        errors["_form"] = problem.detail
    return errors

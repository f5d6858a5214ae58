"""The operator console: server-rendered pages under /console, in the gateway's API process.

`with_console(api)` returns the process's ASGI app: /console/* goes to the console, every
other path to the operators' API. The console reaches the API in-process (api_client), so it
adds pages, not rules. Front-end packages (Pico CSS, htmx) come from the npm registry
(services/gateway/package.json, installed by `make install` and the Dockerfile) and are
served from node_modules under /console/assets.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.console import session
from gateway.console.api_client import Api
from gateway.console.pages import accounts, billing, catalog, customers, groups, onboarding, subscriptions  # noqa: F401 (they register their routes)
from gateway.console.web import HERE, ROUTES, ApiApp, render

log = logging.getLogger(__name__)
# Files served from the npm packages: URL name -> path inside node_modules.
ASSETS = {"pico.min.css": "@picocss/pico/css/pico.min.css", "htmx.min.js": "htmx.org/dist/htmx.min.js"}
PREFIX = "/console"


def node_modules() -> Path:
    """Where the npm packages are: NODE_MODULES_DIR if set; inside the package when built into the
    image's wheel (the Dockerfile installs them there); else services/gateway/node_modules of a checkout."""
    candidates = [HERE / "node_modules", HERE.parents[1] / "node_modules"]
    if os.environ.get("NODE_MODULES_DIR"):
        candidates.insert(0, Path(os.environ["NODE_MODULES_DIR"]))
    return next((c for c in candidates if c.is_dir()), candidates[-1])


async def asset(request: Request) -> Response:
    relative = ASSETS.get(request.path_params["name"])
    path = node_modules() / relative if relative else None
    if path is None or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


def _safe_next(target: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    parsed = urlparse(target or "")
    if parsed.scheme or parsed.netloc or not parsed.path.startswith(PREFIX):
        return f"{PREFIX}/customers"
    return target or f"{PREFIX}/customers"


async def login(request: Request) -> Response:
    if request.method == "GET":
        if session.current_operator(request):
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        return _login_page(request, {}, _safe_next(request.query_params.get("next")))
    form = await request.form()
    values = {"username": str(form.get("username") or "")}
    target = _safe_next(str(form.get("next") or ""))
    if not session.valid_login_csrf(request, str(form.get("csrf_token") or "")):
        return _login_page(request, values, target, "The form expired; please log in again.", 403)
    credentials = {"username": values["username"], "password": str(form.get("password") or "")}
    answer = await Api(ApiApp.app, None).request("POST", "/api/v1/auth/token", body=credentials)
    if answer.status != 200:
        return _login_page(request, values, target, "Invalid username or password.", 401)
    token = answer.json()
    response = RedirectResponse(target, status_code=303)
    session.start(response, request, token["accessToken"], int(token["expiresIn"]))
    return response


def _login_page(request: Request, values: dict[str, str], target: str, message: str | None = None,
                status: int = 200) -> Response:
    csrf = session.login_csrf(request)
    response = render(request, "login.html", status, next=target, values=values, csrf=csrf,
                      errors={"_form": message} if message else {})
    session.remember_login_csrf(request, response, csrf)
    return response


async def logout(request: Request) -> Response:
    operator = session.current_operator(request)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    form = await request.form()
    if operator is None or session.valid_csrf(operator, str(form.get("csrf_token") or "")):
        session.end(response)
    return response


async def home(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/customers", status_code=303)


def console_app() -> Starlette:
    if not all((node_modules() / path).is_file() for path in ASSETS.values()):
        log.error("console assets missing: run `make install` (npm install in services/gateway)",
                  extra={"node_modules": str(node_modules())})
    return Starlette(routes=[
        Route(PREFIX, home), Route(f"{PREFIX}/", home),
        Route(f"{PREFIX}/login", login, methods=["GET", "POST"]),
        Route(f"{PREFIX}/logout", logout, methods=["POST"]),
        Route(PREFIX + "/assets/{name}", asset),
        Mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        *ROUTES,
    ])


def with_console(api: Any) -> Any:
    """One ASGI app: the console under /console, the API (and its lifespan) everywhere else."""
    ApiApp.app = api
    console = console_app()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
            await console(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app

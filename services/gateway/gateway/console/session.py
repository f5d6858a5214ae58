"""Who is signed in to the console, and the CSRF token of their forms.

The session cookie holds the operator's API bearer token itself (HttpOnly, SameSite=Strict,
Path=/console): nothing is stored server-side, and the token is checked by the API on every
call, so disabling a user or changing their role applies to the console at once. The CSRF
token of a session is an HMAC of its token; before sign-in a random value is kept in a
second cookie and repeated in the login form (double submit).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway import dependencies
from gateway.domain.auth import permitted
from gateway.service_layer import auth as users

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PATH = "/console"


@dataclass(frozen=True)
class Operator:
    username: str
    role: str
    token: str

    @property
    def can_change(self) -> bool:
        """Whether change buttons are shown; the API enforces the same rule on every call."""
        return permitted(self.role, "POST")

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)


def csrf_for(token: str) -> str:
    return hmac.new(dependencies.auth.secret.encode(), f"console-csrf:{token}".encode(), hashlib.sha256).hexdigest()


def current_operator(request: Request) -> Operator | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    operator = users.verify_token(dependencies.auth, token)
    return Operator(operator["sub"], operator["role"], token) if operator else None


def _cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "path": PATH, "secure": request.url.scheme == "https"}


def start(response: Response, request: Request, token: str, seconds: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=seconds, **_cookie_options(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PATH)


def end(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PATH)


def login_csrf(request: Request) -> str:
    """The login form's CSRF value: the one in the cookie, or a new one (`remember_login_csrf` sets it)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def remember_login_csrf(request: Request, response: Response, value: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, value, max_age=3600, **_cookie_options(request))


def valid_login_csrf(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))


def valid_csrf(operator: Operator, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(operator.csrf, submitted or "")

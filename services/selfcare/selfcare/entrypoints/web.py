"""What the portal's JSON API and its pages share: cookies, the client's address,
and the parts set once by the composition root (entrypoints/api.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from selfcare.adapters.accounts import Accounts
from selfcare.domain.lockout import LoginLimits
from selfcare.domain.tokens import SessionPolicy

SESSION_COOKIE = "selfcare_session"
CSRF_COOKIE = "selfcare_csrf"  # double-submit token of the forms shown before logging in


@dataclass
class Portal:
    accounts: Accounts
    limits: LoginLimits = field(default_factory=LoginLimits)
    policy: SessionPolicy = field(default_factory=SessionPolicy)


portal: Portal


def cookie(name: str, value: str, max_age: int) -> str:
    """A Set-Cookie value: sent over HTTPS only (browsers allow localhost), never to
    scripts, never on requests started by another site."""
    return f"{name}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict"


def expired_cookie(name: str) -> str:
    return cookie(name, "", 0)


def client_address(request: Any) -> str | None:
    client = getattr(request, "client", None)
    return client.host if client else None


def cookie_value(headers: Any, name: str) -> str | None:
    import http.cookies

    raw = headers.get("cookie")
    if not raw:
        return None
    jar = http.cookies.SimpleCookie()
    try:
        jar.load(raw)
    except http.cookies.CookieError:
        return None
    return jar[name].value if name in jar else None

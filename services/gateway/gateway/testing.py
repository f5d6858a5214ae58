"""Helpers for tests that drive the operator console in a browser (tests/browser): logging in as an operator
the way a person does. Not imported by the gateway itself."""
from __future__ import annotations

import re
from typing import Any


def console_log_in(page: Any, console: str, platform: Any, username: str | None = None,
                   password: str | None = None) -> None:
    """Open the console, get sent to its login page, log in (as the platform's admin unless told otherwise)
    and land on the customers list."""
    page.goto(f"{console}/customers")
    assert "/console/login" in page.url, "an unauthenticated visit is sent to the login page"
    page.get_by_label("Username").fill(username or platform.env["GATEWAY_ADMIN_USERNAME"])
    page.get_by_label("Password").fill(password or platform.env["GATEWAY_ADMIN_PASSWORD"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/console/customers$"))

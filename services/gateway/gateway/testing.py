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


VIEWER = "viewer"
VIEWER_PASSWORD = "viewer-password-123"


def console_platform(start_services: Any, *processes: str) -> Any:
    """Start `processes` for a console test module, load the demo catalog and add a read-only operator
    (`VIEWER` / `VIEWER_PASSWORD`) beside the platform's admin: what every console module needs first."""
    from chassis.testing import operator_client

    platform = start_services(*processes)
    platform.run_job("catalog", "load-demo")
    with operator_client(platform) as admin:
        created = admin.post("/api/v1/users", json={"username": VIEWER, "password": VIEWER_PASSWORD,
                                                    "role": "viewer"})
        assert created.status_code == 201, created.text
    return platform


def console_url(platform: Any) -> str:
    return f"{platform['gateway:api'].url}/console"

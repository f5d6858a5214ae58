"""Browser tier: Playwright (Python) driving the Debian chromium package, headless.

Generic pieces only (the console's and the portal's tests share them):
- `browser`: one chromium for the session (never a downloaded browser: `make test` installs the
  `chromium` package with apt when /usr/bin/chromium is missing);
- `watched_page`: a new page whose console errors and failed requests fail the test;
- `screenshot(page, name)`: keeps a full-page screenshot in tests/browser/artifacts/ (gitignored);
- `assert_accessible(page)`: axe-core (npm) finds no serious or critical violation.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs the Debian chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class PageWatch:
    """What went wrong in the browser: console errors and requests that failed or answered 5xx.
    A test that provokes an error on purpose names the status it expects with `allow`."""

    def __init__(self, page: Any):
        self.problems: list[str] = []
        self.allowed: set[int] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not any(f"status of {s}" in message.text for s in self.allowed):
            self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" in failure and request.resource_type == "document":
            return  # a navigation replaced by the next one (e.g. a download), not a failure
        self.problems.append(f"request failed: {request.method} {request.url} {failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.status not in self.allowed:
            self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def allow(self, *statuses: int) -> None:
        self.allowed.update(statuses)

    def check(self) -> None:
        problems, self.problems = self.problems, []
        assert problems == [], "\n".join(problems)


@pytest.fixture
def watched_page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page (own cookies); the test fails on any browser error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                  timezone_id="Europe/Ljubljana", locale="en-GB")
    context.set_default_timeout(float(os.environ.get("BROWSER_TIMEOUT_MS", "60000")))
    page = context.new_page()
    page.watch = PageWatch(page)
    yield page
    try:
        page.watch.check()
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_script() -> str:
    found = sorted(ROOT.glob("services/*/node_modules/axe-core/axe.min.js"))
    if not found:
        pytest.fail("axe-core is missing: `make install` runs npm install")
    return found[0].read_text()


def assert_accessible(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> None:
    """axe-core, injected into the page, finds no violation of these impacts."""
    page.add_script_tag(content=axe_script())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
           for v in result["violations"] if v.get("impact") in impacts]
    assert bad == [], "\n".join(bad)


@pytest.fixture(scope="session")
def browser_kit() -> Any:
    """The helpers above for test modules (pytest shares code through fixtures)."""
    import types

    return types.SimpleNamespace(screenshot=screenshot, assert_accessible=assert_accessible)

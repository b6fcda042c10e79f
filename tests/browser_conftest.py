"""Browser-test plumbing (a pytest plugin, registered from tests/conftest.py).

Playwright's Python package drives Debian's ``/usr/bin/chromium``: browsers cannot be
downloaded here, so ``playwright install`` is never run. Tests marked ``browser`` are
skipped locally when Chromium or Playwright is missing, and FAIL in CI (``CI`` set).
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; Django would then refuse ORM
# calls from the test body, which are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "pw-for-tests-1"  # tests/factories.py


def _missing() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if "browser" in item.keywords]
    if not browser_items:
        return
    missing = _missing()
    if missing is None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"Browser tests must run in CI, but {missing}.")
    for item in browser_items:
        item.add_marker(pytest.mark.skipif(True, reason=missing))


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session.

    Playwright's sync API switches this thread into another ``contextvars`` context, and
    Django keeps connections per context: without re-binding them, the test body would
    talk to the database through a second connection, one without the test database's
    serialized contents (so ``serialized_rollback`` would restore nothing)."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    bound = {alias: connections[alias] for alias in connections}
    with sync_playwright() as pw:
        for alias, wrapper in bound.items():
            connections[alias] = wrapper
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Desk:
    """Opens one isolated browser context per person (own cookies) against the live server."""

    def __init__(self, browser, base_url: str):
        self.browser, self.base_url, self.contexts = browser, base_url, []

    def url(self, path: str) -> str:
        return self.base_url + path

    def anonymous(self):
        context = self.browser.new_context(base_url=self.base_url)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def sign_in(self, username: str, password: str = PASSWORD):
        page = self.anonymous()
        page.goto(self.url("/login/"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r".*/queue/.*"))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def desk(browser, live_server):
    d = Desk(browser, live_server.url)
    yield d
    d.close()

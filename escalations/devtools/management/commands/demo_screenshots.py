"""Screenshots of each role's main page on the demo desk, at desktop (1280 px) and phone
(390 px) width, into ``docs/screenshots/`` (the README shows them).

    python manage.py demo_screenshots            # seeds the demo if missing, then shoots

It serves the current database with ``runserver`` on a free local port, signs in as each
demo login through the login page and reaches the page through the menu, like
``tests/test_browser_demo_walk.py``. Needs Playwright and Chromium (``CHROMIUM_PATH``,
default ``/usr/bin/chromium``), as the browser tests do.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from escalations.management.demo.desk import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
# login -> the menu links (in order) from the landing page to the role's main page
MAIN_PAGES = {
    "agent": [],  # My queue
    "specialist": [("Main", "Team queue")],
    "senior": [("Main", "Approvals waiting")],
    "manager": [("Main", "Reports"), (None, "Live desk (team lead)")],
    "auditor": [("Main", "Audit log")],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Command(BaseCommand):
    help = "Screenshots of each role's main page (desktop and phone) into docs/screenshots/."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "docs" / "screenshots"))

    def handle(self, *args, **o):
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise CommandError("Playwright is missing: pip install -r requirements-dev.txt") from exc
        call_command("seed_demo", stdout=self.stdout)
        out = Path(o["out"])
        out.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DJANGO_DEBUG": "1"}
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait(base, server)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for login, steps in MAIN_PAGES.items():
                    for size, viewport in SIZES.items():
                        path = out / f"{login}-{size}.png"
                        self._shoot(browser, base, login, steps, viewport, path)
                        self.stdout.write(f"  {path}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=15)

    def _wait(self, base: str, server: subprocess.Popen) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("runserver stopped before serving")
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise CommandError("runserver did not answer within a minute")

    def _shoot(self, browser, base: str, login: str, steps, viewport: dict, path: Path) -> None:
        context = browser.new_context(base_url=base, viewport=viewport)
        try:
            page = context.new_page()
            page.goto("/login/")
            page.get_by_label("Username").fill(login)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            for where, label in steps:
                scope = page.get_by_role("navigation", name=where) if where else page
                scope.get_by_role("link", name=label).first.click()
                page.wait_for_load_state()
            page.screenshot(path=str(path))
        finally:
            context.close()

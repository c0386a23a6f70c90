"""Playwright driving Debian's Chromium (/usr/bin/chromium); no browser download."""

import functools
import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("AUDIT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test" / "screenshots"

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
# itself are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("CI") or os.environ.get("AUDIT_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM}; `apt-get install chromium` to run")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def _wait_for_expression(page, expression: str, timeout: float = 15_000, **_ignored) -> None:
    """Stands in for ``page.wait_for_function``: when its expression is not true at once,
    Playwright polls it by eval-ing it inside the page, which the site's Content-Security-Policy
    (no 'unsafe-eval') refuses. ``page.evaluate`` goes through DevTools, which the policy does not
    govern, so poll with it from here."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(50)


def open_page(chromium, init_script: str | None = None):
    """A fresh context and page at 1280x900, 15 s timeouts, ``wait_for_function`` that works
    under the site's CSP. Returns (context, page); close the context when done."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.wait_for_function = functools.partial(_wait_for_expression, page)
    return context, page


@pytest.fixture
def page(chromium):
    context, page = open_page(chromium)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


def login(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")

"""Headless Chromium (Debian's package) driven by Playwright against Django's live server.

Every page a test opens is watched for Content-Security-Policy violations (an inline script or
style, an event handler attribute, a resource from elsewhere): a test whose pages logged one
fails, whatever it asserts itself (pytest_runtest_call below). The policy is never loosened
to make a test pass; the page is fixed.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI=true needs Chromium (apt-get install chromium) for browser tests")
        pytest.skip("Chromium is not installed")
    # Playwright runs an event loop in this thread; Django's ORM calls made by the test
    # itself (fixtures, assertions) are still synchronous and safe. Only for this module.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# Playwright waits for events (an element appears, a navigation ends); its timeout is only a
# guard against a page that will never get there, so a loaded machine makes a test slower,
# never red.
HANG_GUARD_MS = 120_000


# Records each violation in the document that has it: read by csp_violations() at the end of
# a test, together with what the browser logged on the console (which outlives navigations).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(
    event.effectiveDirective + " blocked " + (event.blockedURI || "inline") + " in " +
    (event.sourceFile || document.location.href) + ":" + event.lineNumber
  );
});
"""
CSP_CONSOLE_MARK = "Content Security Policy"


@pytest.fixture
def viewport() -> dict[str, int]:
    """The browser window; a test parametrizes `viewport` to open its pages at other sizes."""
    return {"width": 1280, "height": 900}


def _open_page(browser, live_server, viewport):
    """A page in a browser context of its own (its own cookies: another signed-in user)."""
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.set_default_timeout(HANG_GUARD_MS)
    page.set_default_navigation_timeout(HANG_GUARD_MS)
    page.base_url = live_server.url
    page.logged_csp_violations = []

    def on_console(message) -> None:
        if CSP_CONSOLE_MARK in message.text:
            page.logged_csp_violations.append(
                f"{message.page.url if message.page else '?'}: {message.text}"
            )

    context.on("console", on_console)  # every page of the context: admin pop-ups too
    return page


@pytest.fixture
def page(browser, live_server, tmp_path, viewport):
    opened = _open_page(browser, live_server, viewport)
    yield opened
    opened.context.close()


@pytest.fixture
def second_page(browser, live_server, viewport):
    """A second browser with its own cookies, for a test of two users at once; watched for
    policy violations like `page`."""
    opened = _open_page(browser, live_server, viewport)
    yield opened
    opened.context.close()


def csp_violations(page) -> list[str]:
    """What the test's pages logged on the console, and what the pages still open recorded
    (reading a page also delivers the console messages the browser sent before the answer)."""
    from playwright.sync_api import Error as PlaywrightError

    recorded = []
    for open_page in page.context.pages:
        try:
            recorded += open_page.evaluate("window.__cspViolations || []")
        except PlaywrightError:  # closed or between two documents: its console lines count
            continue
    return [*page.logged_csp_violations, *recorded]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that passed fails if any of its pages violated the Content-Security-Policy."""
    result = yield
    for name in ("page", "second_page"):
        page = item.funcargs.get(name)
        if page is not None:
            violations = csp_violations(page)
            assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
    return result


@pytest.fixture
def sign_in():
    from tests.factories import PASSWORD

    def _sign_in(page, user):
        page.goto(f"{page.base_url}/accounts/login/")
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("main form button[type=submit]")

    return _sign_in

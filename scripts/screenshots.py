"""Screenshots for docs/screenshots/, at 1366 × 900 and 390 × 844: the back-office workspace
(My work, a complaint's page and a return's page, as the demo's agent sees them), the customer
portal (orders and their search, an order, a return where it stands, a complaint, the team,
the company's figures, the e-mail settings, as a customer company's administrator sees them),
the tenant's public return policy page, and the manager's KPI dashboard (the overview and a
section).

    make screenshots        (or: .venv/bin/python scripts/screenshots.py)

Runs the embedded mode on a throw-away SQLite database (migrated and seeded with the demo),
serves it with `manage.py runserver` on a free local port, signs in with headless Chromium
(Debian's package; `scripts/system-packages` installs it) and writes the PNG files. Nothing of
the developer's own database (var/db.sqlite3) is touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
AGENT = "agent@nordtech.demo"
CUSTOMER_ADMIN = "anna.admin@stalmet.demo"
MANAGER = "manager@nordtech.demo"
PASSWORD = "demo-pass-2026"  # noqa: S105 - the demo's documented password
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
EMBEDDED_UNSET = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_BROKER_URL",
    "CACHE_URL",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    """The server answers, or it stopped (then its error is the answer)."""
    while True:
        if server.poll() is not None:
            sys.exit(f"the server stopped with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - our own local server
                return
        except OSError:
            time.sleep(0.5)


def main() -> None:
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not chromium:
        sys.exit("Chromium is needed: scripts/system-packages screenshots chromium")
    workdir = Path(tempfile.mkdtemp(prefix="rma-screenshots-"))
    env = {key: value for key, value in os.environ.items() if key not in EMBEDDED_UNSET}
    env.update(
        SQLITE_PATH=str(workdir / "db.sqlite3"),
        MEDIA_ROOT=str(workdir / "media"),
        SECRET_KEY=env.get("SECRET_KEY", "screenshots-only-not-a-secret"),
    )
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    # Our own manage.py with fixed arguments.
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)  # noqa: S603
    subprocess.run([*manage, "seed_demo"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"{base}/healthz", server)
        shoot(chromium, base)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def shoot(chromium: str, base: str) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        for size, (width, height) in SIZES.items():
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale="en-GB"
            )
            page = context.new_page()
            sign_in(page, base, AGENT)
            page.goto(f"{base}/backoffice/?view=all")
            page.screenshot(path=OUT / f"inbox-{size}.png", full_page=True)
            for kind in ("complaint", "return"):
                link = page.locator(f"tr.inbox-row[data-kind={kind}] td.number a").first
                url = base + link.get_attribute("href")
                page.goto(url)
                page.screenshot(path=OUT / f"{kind}-{size}.png", full_page=True)
                page.goto(f"{base}/backoffice/?view=all")
            context.clear_cookies()
            page.goto(f"{base}/policy/nordtech/?lang=en")  # public: no sign-in
            page.screenshot(path=OUT / f"policy-{size}.png", full_page=True)
            sign_in(page, base, CUSTOMER_ADMIN)
            portal(page, base, size)
            context.clear_cookies()
            sign_in(page, base, MANAGER)
            for name, path in (
                ("dashboard", "/dashboard/"),
                ("dashboard-money", "/dashboard/kpis/money/"),
            ):
                page.goto(base + path)
                page.screenshot(path=OUT / f"{name}-{size}.png", full_page=True)
            context.close()
        browser.close()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(ROOT))


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    if page.locator("form.lang-switch button[value=en]:not([aria-current])").count():
        with page.expect_navigation():  # the docs are in English
            page.click("form.lang-switch button[value=en]")


def portal(page, base: str, size: str) -> None:
    """The customer portal's pages, each opened by what a customer clicks."""
    page.goto(f"{base}/portal/")
    page.screenshot(path=OUT / f"portal-orders-{size}.png", full_page=True)
    order = page.locator("article.order h3 a").first.get_attribute("href")
    page.goto(base + order)
    page.screenshot(path=OUT / f"portal-order-{size}.png", full_page=True)
    for kind, listing in (("return", "/portal/returns/"), ("complaint", "/portal/complaints/")):
        page.goto(base + listing)
        link = page.locator(f"main table a[href*='{listing}']").first.get_attribute("href")
        page.goto(base + link)
        page.screenshot(path=OUT / f"portal-{kind}-{size}.png", full_page=True)
    for name, path in (
        ("team", "/portal/team/"),
        ("figures", "/portal/figures/"),
        ("email-settings", "/portal/profile/"),
    ):
        page.goto(base + path)
        page.screenshot(path=OUT / f"portal-{name}-{size}.png", full_page=True)


if __name__ == "__main__":
    main()

"""Two-factor sign-in in a real browser, on a laptop and a phone: turn it on from the Security
page with the key typed by hand, keep the recovery codes, sign in again with a code.

The project's clock is fixed for the live server too (same process), so the code computed
here from the key on the page is the one the server expects."""

from base64 import b32decode

import pytest
from django_otp.oath import TOTP

from rma_portal.accounts import two_factor
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = 1_800_000_010.0


@pytest.fixture
def clock():
    with two_factor.clock.fixed(NOW) as fixed:
        yield fixed


def code_from_key(key: str) -> str:
    """What an authenticator app shows now for the key typed from the page."""
    totp = TOTP(b32decode(key.replace(" ", "")))
    totp.time = two_factor.clock.time()
    return f"{totp.token():06d}"


def fits_the_window(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["laptop", "phone"],
)
def test_customer_turns_on_two_factor_and_signs_in_with_a_code(
    page, sign_in, world_a, clock, viewport
):
    sign_in(page, world_a.customer)
    with page.expect_navigation():
        page.click(".topbar-tools a[href='/accounts/security/']")
    with page.expect_navigation():
        page.click("text=Turn on two-factor sign-in")

    qr = page.locator(".qr-code svg")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert fits_the_window(page)
    page.click(".manual-key summary")
    key = page.inner_text("code.secret")
    page.fill("input[name=code]", code_from_key(key))
    with page.expect_navigation():
        page.click("main form button[type=submit]")

    assert page.locator("ol.recovery-codes li").count() == 10
    assert fits_the_window(page)
    with page.expect_navigation():
        page.click("text=I have saved my codes")
    assert "On: you sign in with your password" in page.inner_text(".two-factor .status")
    with page.expect_navigation():
        page.click(".topbar-tools button:has-text('Sign out')")

    page.goto(f"{page.base_url}/accounts/login/")
    page.fill("input[name=username]", world_a.customer.email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.url.endswith("/accounts/login/code/")
    assert fits_the_window(page)
    clock.advance(30)  # the next code: the one used to confirm cannot sign in again
    page.fill("input[name=code]", code_from_key(key))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    page.wait_for_url("**/portal/")

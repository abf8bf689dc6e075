"""The portal's language switcher offers the languages the customer's tenant offers, fits
at desktop and phone width and passes axe; switching changes the page's language."""

from __future__ import annotations

import pytest

from tests.browser.test_staff_pages_fit import _check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [{"width": 1366, "height": 900}, {"width": 390, "height": 844}]


@pytest.mark.parametrize("viewport", SIZES, ids=["desktop", "phone"])
def test_the_switcher_offers_only_the_tenants_languages(page, sign_in, world_a, viewport):
    tenant = world_a.tenant
    tenant.default_language = "en"
    tenant.offered_languages = ["en", "pl"]
    tenant.full_clean()
    tenant.save()

    sign_in(page, world_a.customer)
    assert page.url.endswith("/portal/")
    buttons = page.locator(".lang-switch button[name=language]")
    assert buttons.evaluate_all("(all) => all.map((b) => b.value)") == ["en", "pl"]
    assert page.locator(".lang-switch button[value=pl]").get_attribute("title") == "polski"
    problems: list[str] = []
    _check(page, page.url, problems)

    with page.expect_navigation():
        page.click(".lang-switch button[value=pl]")
    page.wait_for_selector("html[lang=pl]")
    assert page.locator(".lang-switch button[aria-current=true]").get_attribute("value") == "pl"
    _check(page, page.url, problems)
    assert problems == []

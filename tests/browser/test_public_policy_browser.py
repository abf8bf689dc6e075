"""The tenant's public return policy page as a visitor who never signed in sees it, on a desktop
(1366 × 900) and a phone (390 × 844): it fits the window and passes axe-core (no serious or
critical violation), with the checks of tests/browser/test_staff_pages_fit.py, in English and,
through its language links, in Polish."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import FaqArticle
from returns.models import CategoryWindow, ReturnPolicy
from tests.browser.test_staff_pages_fit import SCREENS, _check
from tests.factories import ProductCategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@SCREENS
def test_the_public_policy_page_fits_and_is_accessible(page, world_a, viewport):
    tenant = world_a.tenant
    policy = ReturnPolicy.unscoped.create(
        tenant=tenant,
        default_window_days=14,
        restocking_fee_percent=Decimal("10"),
        conditions_text="Goods must be complete.\nPersonalised goods cannot be returned.",
        warranty_months=12,
    )
    long_name = "Industrial safety footwear, protective clothing and accessories for the cold"
    workwear = ProductCategoryFactory(tenant=tenant, code="workwear", name=long_name)
    CategoryWindow.unscoped.create(tenant=tenant, policy=policy, category=workwear, days=30)
    engraved = ProductCategoryFactory(tenant=tenant, code="personalised", name="Personalised")
    policy.non_returnable_categories.add(engraved)
    ProductFactory(tenant=tenant, category=engraved, name="Engraved plate", is_returnable=False)
    for language, title in (("en", "How do I pack the goods?"), ("pl", "Jak zapakować towar?")):
        FaqArticle.unscoped.create(
            tenant=tenant,
            language=language,
            title=title,
            body="- Original packaging.\n- **Packing slip** inside.\n\nThank you.",
        )
    problems: list[str] = []

    page.goto(f"{page.base_url}/policy/{tenant.slug}/")
    page.wait_for_selector("#faq h3")
    assert page.locator("h1").inner_text().endswith(tenant.name)
    assert page.locator("#faq h3").inner_text() == "How do I pack the goods?"
    assert page.locator("#faq strong").inner_text() == "Packing slip"
    _check(page, page.url, problems)

    with page.expect_navigation():
        page.click(".lang-switch a[hreflang=pl]")
    page.wait_for_selector("html[lang=pl]")
    assert page.locator("#faq h3").inner_text() == "Jak zapakować towar?"
    _check(page, page.url, problems)

    # The styled 404 of an unknown tenant.
    response = page.goto(f"{page.base_url}/policy/no-such-tenant/")
    assert response is not None and response.status == 404
    _check(page, page.url, problems)

    assert not problems, "\n".join(problems)

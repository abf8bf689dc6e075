"""The buyer's own figures (/portal/figures/) as a customer company's administrator sees
them on a desktop (1366 × 900) and a phone (390 × 844): the period is chosen from the list,
the tables show one block per row on the phone, and every page fits the window and passes
axe-core (tests/browser/test_staff_pages_fit.py's checks)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from analytics.rollups import kpi_rollups_rebuild
from customers.models import CustomerAccount, Product, ProductCategory
from tests.analytics.dataset import END, START, at, build_dataset
from tests.browser.test_staff_pages_fit import LONG_COMPANY, SCREENS, _check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_PRODUCT = (
    "Rękawice robocze powlekane nitrylem, wzmocnione na palcach, odporne na przecięcia "
    "klasy D, rozmiar 10 (XL), opakowanie zbiorcze 120 par"
)


@SCREENS
def test_the_figures_fit_and_the_period_can_be_chosen(
    page, sign_in, world_a, world_b, viewport, monkeypatch
):
    moment = at(12, 15, 10)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    d = build_dataset(world_a, world_b)
    CustomerAccount.unscoped.filter(pk=d.c1.pk).update(name=LONG_COMPANY)
    Product.unscoped.filter(pk=d.p1.pk).update(name=LONG_PRODUCT, sku="RKW-NITRYL-D-10-XL-120")
    ProductCategory.unscoped.filter(pk=d.workwear.pk).update(
        name="Odzież robocza, ochronna i sygnalizacyjna dla przemysłu ciężkiego"
    )
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    problems: list[str] = []
    sign_in(page, d.a.customer_admin)

    page.goto(f"{page.base_url}/portal/figures/")
    page.wait_for_selector("#table-products")
    assert page.locator("#table-products tbody tr").count() == 2
    assert LONG_PRODUCT in page.locator("#table-products").inner_text()
    _check(page, page.url, problems)

    page.select_option("#b-period", "last_month")
    with page.expect_navigation():
        page.click("form.buyer-period button[type=submit]")
    assert "period=last_month" in page.url
    assert "1 Nov 2026 – 30 Nov 2026" in page.locator(".period-note").inner_text()
    _check(page, page.url, problems)

    # On a phone each row is a block, each figure under its column's name.
    label = page.evaluate(
        "getComputedStyle(document.querySelector('#table-products td[data-label]'),"
        " '::before').content"
    )
    if viewport["width"] < 700:
        assert label == '"Delivered"'
    else:
        assert label in ("none", "normal")

    page.goto(f"{page.base_url}/portal/figures/?period=forever")
    assert page.locator('[role="alert"]').inner_text().startswith("Choose a period from the list.")
    _check(page, page.url, problems)
    assert not problems, "\n".join(problems)

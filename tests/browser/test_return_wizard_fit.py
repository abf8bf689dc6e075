"""The return wizard and a return's page as a customer sees them, on a desktop (1366 × 900)
and a phone (390 × 844): step 2 refuses more than is still returnable where it is entered,
the review shows the money to expect, the return's page where the case stands; every page
fits the window and passes axe-core (no serious or critical violation), with the checks of
tests/browser/test_staff_pages_fit.py."""

from __future__ import annotations

import pytest

from customers.models import OrderLine
from returns.models import ReturnRequest, ReturnStatus
from tests.browser.test_staff_pages_fit import SCREENS, _check
from tests.returns import conftest as returns_fixtures

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@SCREENS
def test_the_wizard_refuses_early_shows_the_money_and_the_return_says_where_it_stands(
    page, sign_in, world_a, delivered_order, file_return, viewport, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    line1, line2 = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")
    # One of the five units of line 1 is in a submitted return already.
    file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 1, "reason": "defective"}],
    )
    # A return approved and one resolved, for their pages.
    approved = returns_fixtures.advance(
        file_return(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line2.pk, "quantity": 1, "reason": "defective"}],
        ),
        ReturnStatus.APPROVED,
        agent=world_a.agent,
    )
    resolved = returns_fixtures.advance(
        file_return(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line2.pk, "quantity": 1, "reason": "wrong_size"}],
        ),
        ReturnStatus.RESOLVED,
        agent=world_a.agent,
    )
    problems: list[str] = []
    sign_in(page, world_a.customer)

    # Step 1
    page.goto(f"{page.base_url}/portal/returns/new/")
    _check(page, page.url, problems)
    page.check(f"input[name=orders][value='{delivered_order.pk}']")
    with page.expect_navigation():
        page.click("main form button:has-text('Continue')")

    # Step 2: the input stops at what is still returnable; 5 is refused on this step
    page.wait_for_url("**/lines/")
    assert page.get_attribute("input[name='lines-0-quantity']", "max") == "4"
    page.fill("input[name='lines-0-quantity']", "5")
    page.select_option("select[name='lines-0-reason']", "wrong_size")
    with page.expect_navigation():
        page.click("main form button:has-text('Save and continue')")
    assert "/lines/" in page.url
    error = page.locator("article.return-line").first.locator(".field.has-error small.error")
    assert error.inner_text() == (
        "Only 4 of 5 can still be returned (1 already in other returns); you asked for 5."
    )
    _check(page, page.url, problems)
    page.fill("input[name='lines-0-quantity']", "4")
    with page.expect_navigation():
        page.click("main form button:has-text('Save and continue')")

    # Step 3
    page.wait_for_url("**/details/")
    _check(page, page.url, problems)
    page.check("input[name=requested_resolution][value=refund]")
    page.check("input[name=return_method][value=drop_off]")
    with page.expect_navigation():
        page.click("main form button:has-text('Save and continue')")

    # Step 4: the money to expect, as an estimate
    page.wait_for_url("**/review/")
    _check(page, page.url, problems)
    estimate = page.locator("#estimate")
    assert estimate.is_visible()
    text = estimate.inner_text()
    assert "400.00 PLN" in text and "40.00 PLN" in text and "360.00 PLN" in text
    assert "Paid by you" in text and "subject to inspection" in text
    with page.expect_navigation():
        page.click("main form button:has-text('Submit return')")

    # The return's page: where it stands
    page.wait_for_url("**/portal/returns/*/")
    rma = ReturnRequest.unscoped.filter(requester=world_a.customer).order_by("-pk").first()
    assert rma.status == ReturnStatus.SUBMITTED and rma.number
    assert page.locator("#progress li[aria-current=step]").inner_text().startswith("Approved")
    _check(page, page.url, problems)

    # Approved: the label is the main button; resolved: no longer
    page.goto(f"{page.base_url}/portal/returns/{approved.pk}/")
    label = page.locator(".head-actions a:has-text('Download return label')")
    assert label.get_attribute("class") == "button"
    _check(page, page.url, problems)
    page.goto(f"{page.base_url}/portal/returns/{resolved.pk}/")
    label = page.locator(".head-actions a:has-text('Download return label')")
    assert label.get_attribute("class") == "button secondary"
    assert page.locator("#progress").is_visible()
    _check(page, page.url, problems)

    # The list
    page.goto(f"{page.base_url}/portal/returns/")
    _check(page, page.url, problems)

    assert problems == []


@SCREENS
def test_new_return_offers_the_unfinished_draft_and_it_fits(
    page, sign_in, world_a, delivered_order, viewport
):
    problems: list[str] = []
    sign_in(page, world_a.customer)
    page.goto(f"{page.base_url}/portal/returns/new/")
    page.check(f"input[name=orders][value='{delivered_order.pk}']")
    with page.expect_navigation():
        page.click("main form button:has-text('Continue')")
    page.wait_for_url("**/lines/")
    draft = ReturnRequest.unscoped.get(requester=world_a.customer)
    assert draft.number == ""
    _check(page, page.url, problems)

    page.goto(f"{page.base_url}/portal/returns/")  # the empty draft is not listed
    assert page.locator("table.returns").count() == 0
    page.goto(f"{page.base_url}/portal/returns/new/")
    offer = page.locator("section.unfinished a")
    assert offer.inner_text().startswith("Draft of ")
    _check(page, page.url, problems)
    with page.expect_navigation():
        offer.click()
    assert page.url.endswith(f"/portal/returns/{draft.pk}/lines/")
    page.goto(f"{page.base_url}/portal/returns/{draft.pk}/")
    _check(page, page.url, problems)

    assert problems == []

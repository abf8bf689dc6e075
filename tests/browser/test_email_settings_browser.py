"""The e-mail settings page in a real browser, on a desktop (1366 × 900) and a phone
(390 × 844): one radio group per kind of e-mail, chosen by its label, saved; the page fits the
window and passes axe-core (the checks of tests/browser/test_staff_pages_fit.py)."""

from __future__ import annotations

import pytest

from tests.browser.test_staff_pages_fit import SCREENS, _check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@SCREENS
def test_the_settings_page_fits_and_saves_a_choice_per_kind(page, sign_in, world_a, viewport):
    sign_in(page, world_a.customer)
    page.goto(f"{page.base_url}/portal/profile/")
    problems: list[str] = []
    _check(page, page.url, problems)

    # Each kind is a group named by its legend; its choices are reached by their labels.
    group = page.get_by_role("group", name="Replies from support")
    group.get_by_label("In a daily digest").check()
    page.get_by_role("group", name="Return progress").get_by_label("Never").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Your e-mail settings are saved.")
    assert (
        page.get_by_role("group", name="Replies from support")
        .get_by_label("In a daily digest")
        .is_checked()
    )
    _check(page, page.url, problems)
    assert problems == []

    world_a.customer.refresh_from_db()
    assert world_a.customer.email_preferences["support_replies"] == "digest"
    assert world_a.customer.email_preferences["return_progress"] == "never"
    assert world_a.customer.email_preferences["return_decisions"] == "immediately"

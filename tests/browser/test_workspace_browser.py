"""The workspace's keyboard shortcuts (static/js/workspace.js) in headless Chromium, on a
desktop and a phone screen: moving through My work, replying, an internal note, taking a
case, the next case of the list, and the shortcuts' help."""

import pytest
from django.utils import timezone

from complaints.models import Complaint, ComplaintMessage
from tests.complaints.conftest import complaint_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)


@SCREENS
def test_keyboard_moves_through_my_work_and_acts_on_a_case(page, sign_in, world_a, viewport):
    now = timezone.now()
    first = complaint_file(world_a.customer, world_a.company, now=now, subject="First")
    second = complaint_file(world_a.customer, world_a.company, now=now, subject="Second")
    sign_in(page, world_a.agent)
    page.goto(f"{page.base_url}/backoffice/?view=all&sort=oldest")

    # j / k move through the list's cases; ? shows the shortcuts, Escape hides them
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.textContent") == first.code
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.textContent") == second.code
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.textContent") == first.code
    page.keyboard.press("?")
    assert page.locator("#workspace-shortcuts").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#workspace-shortcuts").is_hidden()

    # Enter opens the case; n starts an internal note, r a reply to the customer
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.keyboard.press("n")
    assert page.locator("#reply-form input[name=is_internal][value=on]").is_checked()
    assert page.evaluate("document.activeElement.name") == "body"
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 1, "y": 1})
    page.keyboard.press("r")
    assert not page.locator("#reply-form input[name=is_internal][value=on]").is_checked()
    page.keyboard.type("We are on it.")
    assert page.locator("#reply-form textarea[name=body]").input_value() == "We are on it."

    # a takes the case
    page.locator("body").click(position={"x": 1, "y": 1})
    with page.expect_navigation():
        page.keyboard.press("a")
    assert Complaint.unscoped.get(pk=first.pk).assignee_id == world_a.agent.pk
    assert not ComplaintMessage.unscoped.filter(complaint=first).exists()  # nothing sent

    # ] goes to the next case of the list last seen in My work
    with page.expect_navigation():
        page.keyboard.press("]")
    assert page.url.endswith(f"/backoffice/complaints/complaint/{second.pk}/change/")

"""Bulk actions and a transition in the back-office, in headless Chromium on a desktop and a
phone screen: assigning two complaints at once, rejecting two returns with one reason (each
reported), and a state change by its button on a case page."""

import pytest
from django.utils import timezone

from complaints.models import Complaint, ComplaintStatus
from returns.models import ReturnStatus
from tests.complaints.conftest import complaint_file
from tests.returns import conftest as returns_fixtures

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
make_order_line = returns_fixtures.make_order_line
file_return = returns_fixtures.file_return

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)


def choose(page, action: str, ids) -> None:
    """Tick the rows of `ids` in a changelist and run `action` (its value) with Go."""
    for pk in ids:
        page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)
    with page.expect_navigation():
        page.click("button[name=index]")


@SCREENS
def test_bulk_assign_two_complaints(page, sign_in, world_a, viewport):
    now = timezone.now()
    first = complaint_file(world_a.customer, world_a.company, now=now)
    second = complaint_file(world_a.customer, world_a.company, now=now)
    sign_in(page, world_a.coordinator)
    page.goto(f"{page.base_url}/backoffice/complaints/complaint/")

    choose(page, "assign_selected", [first.pk, second.pk])
    page.select_option("select[name=assignee]", str(world_a.agent.pk))
    with page.expect_navigation():
        page.click("input[name=apply]")

    assert {c.assignee_id for c in Complaint.unscoped.filter(pk__in=[first.pk, second.pk])} == {
        world_a.agent.pk
    }
    assert page.locator(".messagelist").inner_text()


@SCREENS
def test_bulk_reject_returns_with_one_reason_reports_each(
    page, sign_in, world_a, make_order_line, file_return, viewport
):
    returns = []
    for _ in range(2):
        line = make_order_line(world_a.company, quantity=2)
        returns.append(
            file_return(
                world_a.customer,
                world_a.company,
                [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
            )
        )
    sign_in(page, world_a.agent)
    page.goto(f"{page.base_url}/backoffice/returns/returnrequest/")

    choose(page, "bulk_reject", [r.pk for r in returns])
    page.fill("#bulk-text", "Outside the return window.")
    with page.expect_navigation():
        page.click("form .submit-row [type=submit]")

    rows = page.locator("table.bulk-results tbody tr")
    assert rows.count() == 2
    assert all("Done" in text for text in rows.all_inner_texts())
    for rma in returns:
        rma.refresh_from_db()
        assert rma.status == ReturnStatus.REJECTED
        assert rma.rejection_reason == "Outside the return window."


@SCREENS
def test_a_transition_by_its_button_on_the_case_page(page, sign_in, world_a, viewport):
    complaint = complaint_file(world_a.customer, world_a.company, now=timezone.now())
    sign_in(page, world_a.agent)
    page.goto(f"{page.base_url}/backoffice/complaints/complaint/{complaint.pk}/change/")

    with page.expect_navigation():
        page.click("#action-take button[type=submit]")
    with page.expect_navigation():
        page.click("#action-start button[type=submit]")

    complaint.refresh_from_db()
    assert complaint.assignee_id == world_a.agent.pk
    assert complaint.status == ComplaintStatus.IN_PROGRESS
    assert page.url.endswith(f"/complaint/{complaint.pk}/change/")

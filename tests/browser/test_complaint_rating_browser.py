"""A customer rates a resolved complaint in the portal, in headless Chromium on a desktop and a
phone screen: the page then thanks them next to their rating and still offers the reopen
form with its last day; the page fits the screen and passes axe-core."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from complaints import services
from complaints.models import Complaint, ComplaintStatus, SatisfactionRating
from rma_portal.tenancy.context import tenant_context
from tests.browser.test_staff_pages_fit import _check
from tests.complaints.conftest import complaint_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)


def resolved(world) -> Complaint:
    complaint = complaint_file(world.customer, world.company, now=timezone.now())
    with tenant_context(world.tenant):
        services.complaint_reply(complaint=complaint, actor=world.agent, body="We are on it.")
        return services.complaint_resolve(
            complaint=complaint, actor=world.agent, resolution="A new batch was sent."
        )


@SCREENS
def test_after_rating_the_page_still_offers_the_reopening_until_its_day(
    page, sign_in, world_a, viewport
):
    complaint = resolved(world_a)
    until = date_format(
        timezone.localtime(complaint.resolved_at + datetime.timedelta(days=14)),
        "SHORT_DATE_FORMAT",
    )
    sign_in(page, world_a.customer)
    page.goto(page.base_url + reverse("portal:complaint_detail", args=[complaint.pk]))

    page.locator("form#rate label.choice").nth(3).click()  # 4 of 5
    page.fill("form#rate textarea[name=comment]", "Quick, thanks.")
    with page.expect_navigation():
        page.click("form#rate button[type=submit]")

    page.locator(".rating-given").wait_for()
    assert "Thank you for your rating." in page.inner_text("main")
    note = page.locator(".rating-reopen-note").inner_text()
    assert note == (
        f"Thank you for your rating. Until {until} you can still reopen the complaint below; "
        "after that it closes."
    )
    reopen = page.locator("form#reopen")
    assert reopen.is_visible()
    assert f"You can reopen the complaint until {until}." in reopen.inner_text()
    assert page.locator("form#rate").count() == 0
    assert SatisfactionRating.unscoped.get(complaint=complaint).score == 4
    assert Complaint.unscoped.get(pk=complaint.pk).status == ComplaintStatus.RESOLVED

    problems: list[str] = []
    _check(page, page.url, problems)
    assert not problems, "\n".join(problems)

    # The reopen form still works after the rating.
    page.fill("form#reopen textarea[name=reason]", "Cracked again.")
    with page.expect_navigation():
        page.click("form#reopen button[type=submit]")
    page.locator("#reply, form[action$='/reply/']").first.wait_for()
    assert Complaint.unscoped.get(pk=complaint.pk).status == ComplaintStatus.IN_PROGRESS

"""My work's bulk bar in headless Chromium, on a desktop and a phone screen: a coordinator
ticks every case of the page (a return and a complaint) with the page's box, assigns them to
an agent at once, and reads a result per case. Each page on the way fits the window (no
sideways scrolling) and axe-core finds no serious or critical violation."""

import pytest
from django.utils import timezone

from complaints.models import Complaint, ComplaintStatus
from returns.models import ReturnRequest
from tests.browser.test_staff_pages_fit import _check
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


@SCREENS
def test_a_mixed_bulk_assignment_from_my_work(
    page, sign_in, world_a, make_order_line, file_return, viewport
):
    line = make_order_line(world_a.company, quantity=2)
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    complaint = complaint_file(
        world_a.customer,
        world_a.company,
        now=timezone.now(),
        subject="Pęknięte obudowy zasilaczy impulsowych w całej ostatniej dostawie z magazynu",
    )
    problems: list[str] = []
    sign_in(page, world_a.coordinator)
    page.goto(f"{page.base_url}/backoffice/?view=unassigned")
    _check(page, page.url, problems)

    # the page's box ticks both cases (JavaScript); the bar asks what to do with them
    page.check("#inbox-select-all")
    ticked = page.locator("tr.inbox-row input[name=cases]:checked")
    assert sorted(ticked.evaluate_all("boxes => boxes.map(box => box.value)")) == sorted(
        [f"return:{rma.pk}", f"complaint:{complaint.pk}"]
    )
    page.select_option("#inbox-bulk-operation", "assign")
    with page.expect_navigation():
        page.click("#inbox-bulk button[type=submit]")

    # the assignee is asked once, for both
    assert page.locator("ul.bulk-cases li").count() == 2
    _check(page, page.url, problems)
    page.select_option("#bulk-text", str(world_a.agent.pk))
    with page.expect_navigation():
        page.click("form .submit-row [type=submit]")

    rows = page.locator("table.bulk-results tbody tr")
    assert rows.count() == 2
    assert all("Done" in text for text in rows.all_inner_texts())
    _check(page, page.url, problems)
    assert ReturnRequest.unscoped.get(pk=rma.pk).assignee_id == world_a.agent.pk
    assigned = Complaint.unscoped.get(pk=complaint.pk)
    assert (assigned.assignee_id, assigned.status) == (world_a.agent.pk, ComplaintStatus.OPEN)
    # back to My work, with the view it came from
    with page.expect_navigation():
        page.click("#content-main a.button")
    assert page.url.endswith("/backoffice/?view=unassigned&sort=due")
    assert page.locator("tr.inbox-row").count() == 0
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)

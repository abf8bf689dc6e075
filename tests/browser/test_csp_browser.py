"""The scripted pages under the Content-Security-Policy, on a desktop and a phone screen: Swagger
UI, the KPI dashboard's charts, a back-office change page and the portal's return wizard still
do what their scripts do. Any violation they log fails the test (tests/browser/conftest.py)."""

import pytest
from django.urls import reverse

from analytics.rollups import kpi_rollups_rebuild
from complaints.models import ComplaintMessage
from customers.models import CannedResponse
from tests.analytics.conftest import dataset  # noqa: F401 - the analytics data set fixture
from tests.analytics.dataset import END, START
from tests.complaints.conftest import complaint_file
from tests.returns import conftest as returns_fixtures

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)

# Whether a canvas has anything drawn on it: a pixel that is not fully transparent.
CANVAS_DRAWN = """(canvas) => {
    const context = canvas.getContext("2d");
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) { return true; } }
    return false;
}"""


@SCREENS
def test_swagger_ui_lists_and_opens_the_operations(page, sign_in, world_a, viewport):
    sign_in(page, world_a.customer)

    page.goto(f"{page.base_url}/api/docs/")

    # The start-up script (served from /api/docs/?script) ran and loaded the schema.
    page.wait_for_selector(".opblock")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/returns/" in [path.strip().replace("\u200b", "") for path in paths]
    listed = page.locator(".opblock-get", has=page.locator(".opblock-summary-path")).first
    listed.locator(".opblock-summary").click()
    listed.locator("button.try-out__btn").wait_for()


@SCREENS
def test_dashboard_draws_its_charts(page, sign_in, dataset, viewport):  # noqa: F811
    kpi_rollups_rebuild(tenant=dataset.ta, start=START, end=END)
    sign_in(page, dataset.a.manager)

    # Every section with charts: the overview's trend, the returns' four, the clocks' and
    # the satisfaction's lines.
    for section, chart in (
        ("", "trend"),
        ("kpis/returns/", "reasons"),
        ("kpis/service/", "sla"),
        ("kpis/satisfaction/", "csat"),
    ):
        page.goto(f"{page.base_url}/dashboard/{section}?period=custom&from={START}&to={END}")
        page.wait_for_selector(f"figure#chart-{chart}.chart-drawn")
        drawn = page.locator("figure.chart.chart-drawn").count()
        assert page.locator("figure.chart").count() == drawn, section
        for canvas in page.locator("figure.chart canvas").all():
            assert canvas.evaluate(CANVAS_DRAWN), f"an empty chart on {section}"


@SCREENS
def test_backoffice_complaint_page_previews_and_inserts_a_canned_response_once(
    page, sign_in, world_a, viewport
):
    CannedResponse.unscoped.create(
        tenant=world_a.tenant, title="First answer", body="We are looking into {complaint_code}."
    )
    complaint = complaint_file(world_a.customer, world_a.company)
    sign_in(page, world_a.agent)
    change_url = f"{page.base_url}/backoffice/complaints/complaint/{complaint.pk}/change/"
    expected = f"We are looking into {complaint.code}."

    page.goto(change_url)
    page.locator("#canned-picker select").select_option(label="First answer")

    # Shown with its placeholders filled in (static/js/canned_responses.js), not yet inserted.
    reply = page.locator("#reply-form textarea[name=body]")
    assert page.locator("#canned-preview").inner_text() == expected
    assert reply.input_value() == ""
    # "Insert" adds it once and clears the choice: pressing it again adds nothing.
    insert = page.locator("#canned-picker button[type=submit]")
    insert.click()
    assert reply.input_value() == expected
    insert.click()
    assert reply.input_value() == expected
    assert page.locator("#canned-preview").is_hidden()
    assert page.url == change_url
    # The reply sent is the text previewed, once.
    with page.expect_navigation():
        page.locator("#reply-form button[type=submit]").first.click()
    bodies = list(
        ComplaintMessage.unscoped.filter(complaint=complaint, author=world_a.agent).values_list(
            "body", flat=True
        )
    )
    assert bodies == [expected]
    # The admin's own scripts run too: the navigation sidebar's toggle (wide screens only; a
    # list has the sidebar, a case page gives its width to the conversation).
    page.goto(page.base_url + reverse("admin:complaints_complaint_changelist"))
    if viewport["width"] > 1024:
        page.wait_for_selector("#nav-sidebar[aria-expanded=true]")
        page.locator("#toggle-nav-sidebar").click()
        page.wait_for_selector("#nav-sidebar[aria-expanded=false]", state="attached")


@SCREENS
def test_return_wizard_shows_the_pickup_fields_only_for_a_courier_pickup(
    page, sign_in, world_a, delivered_order, viewport
):
    sign_in(page, world_a.customer)
    page.goto(f"{page.base_url}/portal/returns/new/")
    page.check(f"input[name=orders][value='{delivered_order.pk}']")
    page.click("main form button:has-text('Continue')")
    page.wait_for_url("**/lines/")
    page.fill("input[name$='0-quantity']", "1")
    page.select_option("select[name$='0-reason']", "defective")
    page.click("main form button:has-text('Save and continue')")
    page.wait_for_url("**/details/")

    # static/js/portal.js hides the courier's fields until a pickup is chosen
    pickup = page.locator("fieldset.pickup")
    page.check("input[name=return_method][value=drop_off]")
    pickup.wait_for(state="hidden")
    page.check("input[name=return_method][value=courier_pickup]")
    pickup.wait_for(state="visible")
    page.check("input[name=return_method][value=drop_off]")
    pickup.wait_for(state="hidden")

    page.check("input[name=requested_resolution][value=credit_note]")
    page.click("main form button:has-text('Save and continue')")
    page.wait_for_url("**/review/")
    # Cancelling the draft asks first (portal.js); dismissing keeps the draft.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("form.cancel-draft button[type=submit]")
    assert page.url.endswith("/review/")


def test_backoffice_widgets_work_under_the_policy(page, sign_in, world_a, superuser):
    """The admin's own scripts: the two-box picker, inline rows, the date shortcuts, the list's
    action checkboxes and the slug filled in from the name."""
    sign_in(page, world_a.tenant_admin)

    page.goto(f"{page.base_url}/backoffice/returns/returnpolicy/add/")
    page.wait_for_selector("#id_non_returnable_categories_from")  # SelectFilter2 built it
    rows = page.locator("tr.dynamic-category_windows")  # rows inlines.js added
    assert rows.count() == 0  # no extra rows on the page as served
    page.locator(".add-row a").first.click()
    assert rows.count() == 1

    page.goto(f"{page.base_url}/backoffice/complaints/holiday/add/")
    page.locator(".datetimeshortcuts a", has_text="Today").click()
    assert page.locator("#id_date").input_value() != ""

    page.goto(f"{page.base_url}/backoffice/customers/customeraccount/")
    page.check("#action-toggle")
    page.wait_for_selector(".action-counter", state="visible")

    # A platform superuser adding a tenant: the slug follows the name (prepopulate.js).
    page.context.clear_cookies()
    sign_in(page, superuser)
    page.goto(f"{page.base_url}/backoffice/tenancy/tenant/add/")
    page.fill("#id_name", "Gamma Tools")
    page.locator("#id_name").blur()
    assert page.locator("#id_slug").input_value() == "gamma-tools"

"""An agent files a return and a complaint for a customer in the back-office, in a real browser
on a desktop and a phone screen; any Content-Security-Policy violation fails the test
(tests/browser/conftest.py)."""

import io

import pytest
from PIL import Image

from complaints.models import Complaint
from customers.cases import CaseChannel
from returns.models import ReturnAttachment, ReturnRequest, ReturnStatus
from tests.returns import conftest as returns_fixtures

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
make_order_line = returns_fixtures.make_order_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)


def _photo(tmp_path):
    path = tmp_path / "scratched.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def _choose_customer(page, world):
    """The chooser: the company, then one of its users (each a reload of the page)."""
    page.select_option("#filing-customer select[name=company]", str(world.company.pk))
    with page.expect_navigation():
        page.click("#filing-customer button[type=submit]")
    page.select_option("#filing-customer select[name=customer]", str(world.customer.pk))
    with page.expect_navigation():
        page.click("#filing-customer button[type=submit]")
    assert world.customer.get_full_name() in page.inner_text("#filing-customer")


@SCREENS
def test_agent_files_a_return_with_an_override_for_a_customer(
    page, sign_in, world_a, delivered_order, make_order_line, tmp_path, settings, viewport
):
    settings.MEDIA_ROOT = tmp_path / "media"
    late = make_order_line(world_a.company, delivered_days_ago=40)
    sign_in(page, world_a.agent)

    page.goto(f"{page.base_url}/backoffice/returns/returnrequest/")
    with page.expect_navigation():
        page.click("#file-for-customer")
    _choose_customer(page, world_a)

    # The late line shows the policy's refusal before anything is filed.
    row = page.locator(f"#filing-lines tr:has-text('{late.order.number}')")
    assert "return window" in row.inner_text()
    prefix = row.get_attribute("id").removeprefix("line-")
    page.fill(f"input[name='{prefix}-quantity']", "1")
    page.select_option(f"select[name='{prefix}-reason']", "wrong_size")
    page.select_option("select[name=channel]", CaseChannel.PHONE)
    page.select_option("select[name=requested_resolution]", "credit_note")
    page.select_option("select[name=return_method]", "drop_off")
    with page.expect_navigation():
        page.click("#filing-check")
    assert "refuses part of this return" in page.inner_text("#filing-verdict")
    assert not ReturnRequest.unscoped.exists()

    # Filed with a photo of the line and the reason for the override.
    page.set_input_files(f"input[type=file][name='{prefix}-files']", str(_photo(tmp_path)))
    page.fill("textarea[name=override_reason]", "Key account: 60 days by contract.")
    page.screenshot(path=str(tmp_path / "file-return.png"), full_page=True)
    with page.expect_navigation():
        page.click("#filing-file")

    rma = ReturnRequest.unscoped.get(customer_account=world_a.company)
    assert page.url.endswith(f"/backoffice/returns/returnrequest/{rma.pk}/change/")
    assert rma.status == ReturnStatus.SUBMITTED
    assert (rma.requester, rma.filed_by, rma.channel) == (
        world_a.customer,
        world_a.agent,
        CaseChannel.PHONE,
    )
    assert ReturnAttachment.unscoped.filter(return_request=rma, line__isnull=False).count() == 1
    text = page.inner_text("#content")
    assert (
        f"Return {rma.number} was filed for {world_a.customer.get_full_name()}"
        in page.inner_text("ul.messagelist")
    )
    assert "by phone" in text


@SCREENS
def test_agent_files_a_complaint_about_an_order_line_for_a_customer(
    page, sign_in, world_a, delivered_order, tmp_path, settings, viewport
):
    settings.MEDIA_ROOT = tmp_path / "media"
    line = delivered_order.lines.model.unscoped.filter(order=delivered_order, line_number=2).get()
    sign_in(page, world_a.agent)

    page.goto(f"{page.base_url}/backoffice/complaints/complaint/")
    with page.expect_navigation():
        page.click("#file-for-customer")
    _choose_customer(page, world_a)

    page.select_option("select[name=channel]", CaseChannel.EMAIL)
    page.select_option("select[name=category]", "product_quality")
    page.select_option("select[name=priority]", "high")
    page.fill("input[name=subject]", "Seams open after one wash")
    page.fill("textarea[name=description]", "The customer wrote: <b>ten jackets</b> are torn.")
    page.select_option("select[name=order]", str(delivered_order.pk))
    with page.expect_navigation():
        page.click("#show-lines")
    # The reload keeps what was typed and offers the order's lines.
    assert page.input_value("input[name=subject]") == "Seams open after one wash"
    page.select_option("select[name=order_line]", str(line.pk))
    page.set_input_files("input[type=file][name=files]", str(_photo(tmp_path)))
    page.screenshot(path=str(tmp_path / "file-complaint.png"), full_page=True)
    with page.expect_navigation():
        page.click("#filing-file")

    complaint = Complaint.unscoped.get(customer_account=world_a.company)
    assert page.url.endswith(f"/backoffice/complaints/complaint/{complaint.pk}/change/")
    assert (complaint.reporter, complaint.filed_by, complaint.channel) == (
        world_a.customer,
        world_a.agent,
        CaseChannel.EMAIL,
    )
    assert complaint.order_line == line
    text = page.inner_text("#content")
    assert "<b>ten jackets</b>" in text  # shown as text, not markup
    assert "by e-mail" in page.inner_text("#case-conversation")

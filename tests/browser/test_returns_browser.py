"""A customer files a return through the wizard in a real browser; an agent approves it."""

import io

import pytest
from PIL import Image

from returns.models import ReturnAttachment, ReturnRequest, ReturnStatus
from tests.returns import conftest as returns_fixtures

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _photo(tmp_path):
    path = tmp_path / "broken.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_customer_files_a_return_with_a_photo_and_sees_it_submitted(
    page, sign_in, world_a, delivered_order, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    sign_in(page, world_a.customer)

    # Step 1: choose the order
    page.goto(f"{page.base_url}/portal/returns/new/")
    page.check(f"input[name=orders][value='{delivered_order.pk}']")
    page.click("main form button:has-text('Continue')")

    # Step 2: two units of the first line, defective, with a photo
    page.wait_for_url("**/lines/")
    page.fill("input[name$='0-quantity']", "2")
    page.select_option("select[name$='0-reason']", "defective")
    page.fill("textarea[name$='0-comment']", "Screen flickers <b>badly</b>")
    page.set_input_files("input[type=file][name$='0-files']", str(_photo(tmp_path)))
    page.click("main form button:has-text('Save and continue')")

    # Step 3: credit note, drop-off
    page.wait_for_url("**/details/")
    page.check("input[name=requested_resolution][value=credit_note]")
    page.check("input[name=return_method][value=drop_off]")
    page.click("main form button:has-text('Save and continue')")

    # Step 4: review shows the verdict, then submit
    page.wait_for_url("**/review/")
    review = page.inner_text("main")
    assert "Screen flickers <b>badly</b>" in review  # shown as text, not markup
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    page.click("main form button:has-text('Submit return')")

    page.wait_for_url("**/portal/returns/*/")
    rma = ReturnRequest.unscoped.get(customer_account=world_a.company)
    assert rma.status == ReturnStatus.SUBMITTED
    assert ReturnAttachment.unscoped.filter(return_request=rma).count() == 1
    detail = page.inner_text("main")
    assert rma.number in detail
    # "Submitted" is also the label of the submission date: read the status badge.
    assert page.locator("main h1 .badge.status").text_content().strip() == "Submitted"


def test_agent_approves_in_the_backoffice(page, sign_in, world_a, delivered_order, file_return):
    line = delivered_order.lines.model.unscoped.filter(order=delivered_order).first()
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "wrong_size"}],
    )
    sign_in(page, world_a.agent)
    page.goto(f"{page.base_url}/backoffice/returns/returnrequest/{rma.pk}/change/")
    with page.expect_navigation():
        page.click("form[action$='/approve/'] button[type=submit]")
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.APPROVED

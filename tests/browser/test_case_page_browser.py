"""The conversation-first case page in headless Chromium, on a desktop and a phone screen:
the reply box within reach, the public / internal switch, the photo viewer, and the page
fitting the screen with no serious axe-core finding."""

import pytest
from django.urls import reverse

from complaints import services
from rma_portal.tenancy.context import tenant_context
from tests.browser.test_staff_pages_fit import _check
from tests.complaints.conftest import complaint_file, png_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)


@SCREENS
def test_a_case_page_puts_the_conversation_first(
    page, sign_in, world_a, viewport, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=complaint,
            actor=world_a.customer,
            body="Both photos of the housing.",
            uploads=[png_upload("front.png"), png_upload("back.png")],
        )
    sign_in(page, world_a.agent)
    page.goto(page.base_url + reverse("admin:complaints_complaint_change", args=[complaint.pk]))
    problems: list[str] = []
    _check(page, page.url, problems)
    assert problems == []

    # on a desktop the reply box is on the first screen, the customer beside it
    box = page.locator("#reply-form textarea[name=body]").bounding_box()
    if viewport["width"] >= 1024:
        assert box["y"] + box["height"] <= viewport["height"]
        side = page.locator("#case-side").bounding_box()
        assert side["x"] > box["x"] + box["width"]
    assert world_a.company.name in page.inner_text("#case-side")

    # choosing "internal note" says who will read it
    assert page.locator(".visibility-hint-public").is_visible()
    page.get_by_label("Internal note (staff only)").check()
    assert page.locator(".visibility-hint-internal").is_visible()
    assert not page.locator(".visibility-hint-public").is_visible()

    # a thumbnail opens the viewer; arrows go through the message's photos; Escape closes
    thumbs = page.locator("#case-conversation a.thumb")
    assert thumbs.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('#case-conversation a.thumb img')]"
        ".every(img => img.complete)"
    )
    widths = page.evaluate(
        "[...document.querySelectorAll('#case-conversation a.thumb img')].map(i => i.naturalWidth)"
    )
    assert widths == [16, 16]  # the thumbnails of the 16 × 12 photos, served
    thumbs.first.click()
    viewer = page.locator("#photo-viewer")
    assert viewer.is_visible()
    assert page.inner_text("#photo-viewer-name") == "front.png (1 / 2)"
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#photo-viewer-name") == "back.png (2 / 2)"
    # the photo itself arrives (waited for as an event, not a time)
    page.wait_for_function("() => document.querySelector('#photo-viewer img').complete")
    assert page.evaluate("document.querySelector('#photo-viewer img').naturalWidth") > 0
    problems = []
    _check(page, page.url, problems)
    assert problems == []
    page.keyboard.press("Escape")
    assert not viewer.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('thumb')")

"""Portal wizard for filing a return: orders → lines → resolution and shipping → review."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from customers.models import OrderLine
from returns import services
from returns.models import (
    ReturnAttachment,
    ReturnEvent,
    ReturnLine,
    ReturnPolicy,
    ReturnRequest,
    ReturnStatus,
)
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    ProductCategoryFactory,
    ProductFactory,
)
from tests.html import summary

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def lines_post(entries: list[dict], **extra) -> dict:
    """The step-2 formset as a browser posts it: one entry per order line shown."""
    data = {
        "lines-TOTAL_FORMS": str(len(entries)),
        "lines-INITIAL_FORMS": str(len(entries)),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, entry in enumerate(entries):
        prefix = f"lines-{index}-"
        data[prefix + "order_line"] = str(entry["order_line"])
        data[prefix + "quantity"] = str(entry.get("quantity", 0))
        data[prefix + "reason"] = entry.get("reason", "")
        data[prefix + "reason_text"] = entry.get("reason_text", "")
        data[prefix + "comment"] = entry.get("comment", "")
        if "serial_numbers" in entry:
            data[prefix + "serial_numbers"] = entry["serial_numbers"]
        if "files" in entry:
            data[prefix + "files"] = entry["files"]
    data.update(extra)
    return data


def order_lines(order) -> list[OrderLine]:
    return list(OrderLine.unscoped.filter(order=order).order_by("line_number"))


def start_draft(client, order) -> ReturnRequest:
    response = client.post(reverse("portal:return_new"), {"orders": [order.pk]})
    assert response.status_code == 302, summary(response)
    return ReturnRequest.unscoped.order_by("-pk").first()


def url(name: str, draft) -> str:
    return reverse(f"portal:{name}", args=[draft.pk])


def delivered_line(company, *, days_ago: int, quantity: int = 5, serials=None, category=None):
    tenant = company.tenant
    delivered = tenant_today(tenant) - datetime.timedelta(days=days_ago)
    order = OrderFactory(
        tenant=tenant,
        customer_account=company,
        order_date=delivered - datetime.timedelta(days=2),
        delivery_date=delivered,
    )
    code, name = category or ("electronics", "Electronics")
    product = ProductFactory(
        tenant=tenant,
        category=ProductCategoryFactory(tenant=tenant, code=code, name=name),
        is_serial_tracked=serials is not None,
    )
    return OrderLineFactory(
        tenant=tenant,
        order=order,
        line_number=1,
        product=product,
        quantity=quantity,
        unit_price=Decimal("100.00"),
        serial_numbers=list(serials or []),
    )


def media_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


# --- the whole wizard -------------------------------------------------------------------


def test_customer_files_a_return_through_all_four_steps(
    world_a, delivered_order, login, settings, tmp_path
):
    # given
    settings.MEDIA_ROOT = tmp_path
    client = login(world_a.customer)
    line1, line2 = order_lines(delivered_order)

    # step 1: the order is preselected from the order page's "Return items" button
    page = client.get(reverse("portal:return_new"), {"order": delivered_order.pk})
    assert page.status_code == 200
    assert delivered_order.number in page.content.decode()
    assert [order.pk for order in page.context["selected"]] == [delivered_order.pk]
    response = client.post(reverse("portal:return_new"), {"orders": [delivered_order.pk]})
    draft = ReturnRequest.unscoped.get(requester=world_a.customer)
    assert draft.status == ReturnStatus.DRAFT
    assert response["Location"] == url("return_wizard_lines", draft)

    # step 2: both lines of the order, one with a photo
    page = client.get(url("return_wizard_lines", draft))
    html = page.content.decode()
    assert line1.product.name in html and line2.product.name in html
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {
                    "order_line": line1.pk,
                    "quantity": 2,
                    "reason": "defective",
                    "comment": "Does not switch on.",
                    "files": [png_upload()],
                },
                {"order_line": line2.pk, "quantity": 3, "reason": "wrong_size"},
            ]
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == url("return_wizard_details", draft)

    # step 3: the company's shipping address is offered for a pickup
    page = client.get(url("return_wizard_details", draft))
    assert world_a.company.shipping_street in page.content.decode()
    response = client.post(
        url("return_wizard_details", draft),
        {"requested_resolution": "refund", "return_method": "drop_off", "customer_note": "Hi"},
    )
    assert response["Location"] == url("return_wizard_review", draft)

    # step 4: review, then submit
    page = client.get(url("return_wizard_review", draft))
    html = page.content.decode()
    assert page.context["can_submit"] is True
    assert "Goods must be complete." in html  # the policy's conditions text
    assert "photo.png" in html
    response = client.post(url("return_wizard_review", draft), follow=True)

    # then
    assert response.redirect_chain[-1][0] == url("return_detail", draft)
    html = response.content.decode()
    assert "was submitted" in html
    assert "Return submitted" in html  # the timeline event
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.SUBMITTED
    assert draft.requested_resolution == "refund"
    assert draft.requested_value == Decimal("260.00")
    saved = {line.order_line_id: line for line in ReturnLine.unscoped.filter(return_request=draft)}
    assert (saved[line1.pk].quantity, saved[line1.pk].reason) == (2, "defective")
    assert saved[line1.pk].customer_comment == "Does not switch on."
    assert (saved[line2.pk].quantity, saved[line2.pk].reason) == (3, "wrong_size")
    attachment = ReturnAttachment.unscoped.get(return_request=draft)
    assert attachment.line_id == saved[line1.pk].pk
    assert attachment.content_type == "image/png"
    assert ReturnEvent.unscoped.filter(return_request=draft, action="submitted").exists()


def test_auto_approved_return_says_so(world_a, delivered_order, login):
    ReturnPolicy.unscoped.filter(tenant=world_a.tenant).update(auto_approve_enabled=True)
    client = login(world_a.customer)
    line1, line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {"order_line": line1.pk, "quantity": 1, "reason": "defective"},
                {"order_line": line2.pk, "quantity": 0},
            ]
        ),
    )
    client.post(
        url("return_wizard_details", draft),
        {"requested_resolution": "refund", "return_method": "self_printed_label"},
    )
    response = client.post(url("return_wizard_review", draft), follow=True)
    assert "approved automatically" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.APPROVED


def test_step_one_lists_only_the_companys_delivered_orders(
    world_a, world_b, delivered_order, login
):
    # given
    undelivered = OrderFactory(
        tenant=world_a.tenant, customer_account=world_a.company, delivery_date=None
    )
    other_company = delivered_line(world_a.other_company, days_ago=3).order
    other_tenant = delivered_line(world_b.company, days_ago=3).order
    client = login(world_a.customer)

    # when
    html = client.get(
        reverse("portal:return_new"), {"order": [other_company.pk, other_tenant.pk]}
    ).content.decode()

    # then
    assert delivered_order.number in html
    for order in (undelivered, other_company, other_tenant):
        assert order.number not in html
    for order in (undelivered, other_company, other_tenant):
        response = client.post(reverse("portal:return_new"), {"orders": [order.pk]})
        assert response.status_code == 200
        assert "Choose delivered orders of your company." in response.content.decode()
    assert not ReturnRequest.unscoped.exists()


def test_step_one_needs_an_order_and_searches_by_number(world_a, delivered_order, login):
    client = login(world_a.customer)
    old = delivered_line(world_a.company, days_ago=500).order
    recent = client.get(reverse("portal:return_new")).content.decode()
    assert delivered_order.number in recent and old.number not in recent
    found = client.get(reverse("portal:return_new"), {"q": old.number[-6:]}).content.decode()
    assert old.number in found
    response = client.post(reverse("portal:return_new"), {})
    assert "Choose at least one delivered order." in response.content.decode()
    assert not ReturnRequest.unscoped.exists()


def test_going_back_to_step_one_keeps_the_chosen_orders(world_a, delivered_order, login):
    client = login(world_a.customer)
    draft = start_draft(client, delivered_order)
    page = client.get(url("return_wizard_orders", draft))
    assert [order.pk for order in page.context["selected"]] == [delivered_order.pk]
    second = delivered_line(world_a.company, days_ago=2).order
    response = client.post(
        url("return_wizard_orders", draft), {"orders": [delivered_order.pk, second.pk]}
    )
    assert response["Location"] == url("return_wizard_lines", draft)
    rows = client.get(url("return_wizard_lines", draft)).context["rows"]
    assert {row.order_line.order_id for row in rows} == {delivered_order.pk, second.pk}
    assert ReturnRequest.unscoped.count() == 1


def test_a_colleague_admin_continues_a_draft_from_its_lines(world_a, delivered_order, login):
    # The chosen orders live in the filer's session; elsewhere they come from the draft's lines.
    client = login(world_a.customer)
    line1, line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {"order_line": line1.pk, "quantity": 1, "reason": "defective"},
                {"order_line": line2.pk, "quantity": 0},
            ]
        ),
    )
    admin = login(world_a.customer_admin)
    page = admin.get(url("return_wizard_lines", draft))
    assert page.status_code == 200
    assert {row.order_line.pk for row in page.context["rows"]} == {line1.pk, line2.pk}


# --- step 2: bad input ------------------------------------------------------------------


def _draft_with_one_saved_line(client, order):
    line1, line2 = order_lines(order)
    draft = start_draft(client, order)
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {"order_line": line1.pk, "quantity": 1, "reason": "defective"},
                {"order_line": line2.pk, "quantity": 0},
            ]
        ),
    )
    assert response.status_code == 302
    return draft, line1, line2


def _saved_lines(draft) -> list[tuple]:
    return list(
        ReturnLine.unscoped.filter(return_request=draft)
        .order_by("pk")
        .values_list("order_line_id", "quantity", "reason", "customer_comment")
    )


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("all_zero", "Choose at least one line to return."),
        ("negative", "Enter 0 (not returned) or more."),
        ("not_a_number", "Enter a whole number."),
        ("too_many", "only 5 were delivered"),
        ("no_reason", "choose a reason"),
        ("unknown_line", "Unknown order line"),
        ("other_company_line", "Unknown order line"),
        ("other_tenant_line", "Unknown order line"),
        ("duplicate_line", "An order line is listed twice."),
    ],
)
def test_bad_lines_show_a_clear_error_and_save_nothing(
    world_a, world_b, delivered_order, login, case, message
):
    # given
    client = login(world_a.customer)
    draft, line1, line2 = _draft_with_one_saved_line(client, delivered_order)
    before = _saved_lines(draft)
    entries = [
        {"order_line": line1.pk, "quantity": 2, "reason": "defective", "comment": "changed"},
        {"order_line": line2.pk, "quantity": 1, "reason": "wrong_size"},
    ]
    if case == "all_zero":
        entries[0]["quantity"] = entries[1]["quantity"] = 0
    elif case == "negative":
        entries[1]["quantity"] = -1
    elif case == "not_a_number":
        entries[1]["quantity"] = "two"
    elif case == "too_many":
        entries[0]["quantity"] = 6
    elif case == "no_reason":
        entries[1]["reason"] = ""
    elif case == "unknown_line":
        entries.append({"order_line": 987654321, "quantity": 1, "reason": "defective"})
    elif case == "other_company_line":
        foreign = delivered_line(world_a.other_company, days_ago=2)
        entries.append({"order_line": foreign.pk, "quantity": 1, "reason": "defective"})
    elif case == "other_tenant_line":
        foreign = delivered_line(world_b.company, days_ago=2)
        entries.append({"order_line": foreign.pk, "quantity": 1, "reason": "defective"})
    elif case == "duplicate_line":
        entries.append({"order_line": line1.pk, "quantity": 1, "reason": "defective"})

    # when
    response = client.post(url("return_wizard_lines", draft), lines_post(entries))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Nothing was saved." in html
    assert _saved_lines(draft) == before


def test_service_errors_are_shown_next_to_the_right_line(world_a, delivered_order, login):
    client = login(world_a.customer)
    line1, line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {"order_line": line1.pk, "quantity": 0},
                {"order_line": line2.pk, "quantity": 1, "reason": "other", "reason_text": " "},
            ]
        ),
    )
    rows = response.context["rows"]
    assert not rows[0].form.errors
    assert "describe the reason" in rows[1].form.errors["reason_text"][0]
    assert not ReturnLine.unscoped.filter(return_request=draft).exists()


def test_serial_numbers_are_chosen_from_the_delivered_ones(world_a, policy_a, login):
    # given
    line = delivered_line(world_a.company, days_ago=2, quantity=2, serials=["SN-1", "SN-2"])
    client = login(world_a.customer)
    draft = start_draft(client, line.order)
    page = client.get(url("return_wizard_lines", draft)).content.decode()
    assert 'value="SN-1"' in page and 'value="SN-2"' in page

    # when: one unit but no serial number
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post([{"order_line": line.pk, "quantity": 1, "reason": "defective"}]),
    )
    # then
    assert "give the serial number of each returned unit" in response.content.decode()
    assert not ReturnLine.unscoped.filter(return_request=draft).exists()

    # when: a serial that was not delivered
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [{"order_line": line.pk, "quantity": 1, "reason": "defective", "serial_numbers": "X"}]
        ),
    )
    assert response.context["rows"][0].form.errors["serial_numbers"]

    # when: right
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {
                    "order_line": line.pk,
                    "quantity": 1,
                    "reason": "defective",
                    "serial_numbers": ["SN-2"],
                }
            ]
        ),
    )
    assert response.status_code == 302
    assert ReturnLine.unscoped.get(return_request=draft).serial_numbers == ["SN-2"]


def test_step_two_previews_the_policy_and_what_is_left(
    world_a, delivered_order, login, file_return
):
    line1, line2 = order_lines(delivered_order)
    file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 4, "reason": "defective"}],
    )
    old = delivered_line(world_a.company, days_ago=40)
    client = login(world_a.customer)
    draft = start_draft(client, delivered_order)
    client.post(url("return_wizard_orders", draft), {"orders": [delivered_order.pk, old.order_id]})
    rows = {
        row.order_line.pk: row
        for row in client.get(url("return_wizard_lines", draft)).context["rows"]
    }
    assert (rows[line1.pk].claimed, rows[line1.pk].returnable) == (4, 1)
    assert rows[line2.pk].verdict.allowed
    assert not rows[old.pk].verdict.allowed
    assert "return window" in " ".join(rows[old.pk].verdict.refusals)


# --- uploads ----------------------------------------------------------------------------


def test_disguised_upload_is_refused_and_nothing_is_stored(
    world_a, delivered_order, login, settings, tmp_path
):
    # given
    settings.MEDIA_ROOT = tmp_path
    client = login(world_a.customer)
    line1, line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    disguised = SimpleUploadedFile("photo.jpg", b"MZ" + b"\x90" * 512, content_type="image/jpeg")

    # when
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {
                    "order_line": line1.pk,
                    "quantity": 1,
                    "reason": "defective",
                    "files": [disguised],
                },
                {"order_line": line2.pk, "quantity": 0},
            ]
        ),
        follow=True,
    )

    # then: the same step again, saying the lines were kept but the file was not
    assert response.redirect_chain[-1][0] == url("return_wizard_lines", draft)
    html = response.content.decode()
    assert "photo.jpg" in html
    assert "not a JPEG, PNG, WebP or PDF file" in html
    assert "Your lines were saved" in html
    assert not ReturnAttachment.unscoped.exists()
    assert media_files(tmp_path) == []


def test_files_only_on_returned_lines(world_a, delivered_order, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = login(world_a.customer)
    line1, line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    response = client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {"order_line": line1.pk, "quantity": 1, "reason": "defective"},
                {"order_line": line2.pk, "quantity": 0, "files": [png_upload()]},
            ]
        ),
    )
    assert "Attach files only to lines you return." in response.content.decode()
    assert not ReturnLine.unscoped.filter(return_request=draft).exists()
    assert media_files(tmp_path) == []


def test_files_for_the_whole_return(world_a, delivered_order, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = login(world_a.customer)
    draft, line1, line2 = _draft_with_one_saved_line(client, delivered_order)
    scan = io.BytesIO()
    Image.new("L", (40, 60), 230).save(scan, "PDF")  # a delivery note, as a scanner app saves it
    pdf = SimpleUploadedFile("note.pdf", scan.getvalue())
    client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {"order_line": line1.pk, "quantity": 1, "reason": "defective"},
                {"order_line": line2.pk, "quantity": 0},
            ],
            **{"return-files": [pdf]},
        ),
    )
    attachment = ReturnAttachment.unscoped.get(return_request=draft)
    assert (attachment.line_id, attachment.original_name) == (None, "note.pdf")
    assert "note.pdf" in client.get(url("return_wizard_lines", draft)).content.decode()


# --- step 3 -----------------------------------------------------------------------------


def test_step_three_offers_only_allowed_resolutions_and_checks_the_pickup(
    world_a, delivered_order, login
):
    ReturnPolicy.unscoped.filter(tenant=world_a.tenant).update(
        allowed_resolutions=["refund", "credit_note"]
    )
    client = login(world_a.customer)
    draft, *_ = _draft_with_one_saved_line(client, delivered_order)
    page = client.get(url("return_wizard_details", draft))
    choices = [
        value for value, _label in page.context["form"].fields["requested_resolution"].choices
    ]
    assert choices == ["refund", "credit_note"]

    response = client.post(
        url("return_wizard_details", draft),
        {"requested_resolution": "repair", "return_method": "drop_off"},
    )
    assert response.context["form"].errors["requested_resolution"]

    response = client.post(
        url("return_wizard_details", draft),
        {
            "requested_resolution": "refund",
            "return_method": "courier_pickup",
            "pickup_address": "ul. Prosta 2, Kraków",
        },
    )
    assert response.status_code == 200
    assert "Choose a pickup date." in response.content.decode()
    draft.refresh_from_db()
    assert draft.requested_resolution == "" and draft.return_method == ""

    pickup = tenant_today(world_a.tenant) + datetime.timedelta(days=1)
    while pickup.weekday() >= 5:
        pickup += datetime.timedelta(days=1)
    response = client.post(
        url("return_wizard_details", draft),
        {
            "requested_resolution": "credit_note",
            "return_method": "courier_pickup",
            "pickup_date": pickup.isoformat(),
            "pickup_address": "ul. Prosta 2\n00-002 Kraków",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.return_method, draft.pickup_date) == ("courier_pickup", pickup)


def test_step_three_needs_lines_first(world_a, delivered_order, login):
    client = login(world_a.customer)
    draft = start_draft(client, delivered_order)
    response = client.get(url("return_wizard_details", draft))
    assert response["Location"] == url("return_wizard_lines", draft)


# --- step 4: the policy decides ---------------------------------------------------------


def test_review_explains_a_refusal_and_submit_changes_nothing(
    world_a, policy_a, login, file_return
):
    # given: a line delivered 40 days ago, electronics have a 14-day window
    late = delivered_line(world_a.company, days_ago=40)
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": late.pk, "quantity": 1, "reason": "wrong_size"}],
        submit=False,
    )
    client = login(world_a.customer)

    # when
    page = client.get(url("return_wizard_review", draft))

    # then
    html = page.content.decode()
    assert "The return window for the category “Electronics” is 14 days" in html
    assert "delivered 40 days ago" in html
    assert page.context["can_submit"] is False
    events = ReturnEvent.unscoped.filter(return_request=draft).count()

    response = client.post(url("return_wizard_review", draft))
    assert response.status_code == 200
    assert "The return was not submitted" in response.content.decode()
    window = "The return window for the category “Electronics” is 14 days"
    assert window in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.DRAFT
    assert draft.policy_snapshot is None
    assert ReturnEvent.unscoped.filter(return_request=draft).count() == events


def test_review_without_details_cannot_be_submitted(world_a, delivered_order, login):
    client = login(world_a.customer)
    draft, *_ = _draft_with_one_saved_line(client, delivered_order)
    page = client.get(url("return_wizard_review", draft))
    assert page.context["details_missing"] is True
    response = client.post(url("return_wizard_review", draft))
    assert "Choose the resolution and how the goods come back." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.DRAFT


def test_comment_is_escaped_on_review_and_detail(world_a, delivered_order, login):
    # given
    client = login(world_a.customer)
    line1, line2 = order_lines(delivered_order)
    draft = start_draft(client, delivered_order)
    client.post(
        url("return_wizard_lines", draft),
        lines_post(
            [
                {"order_line": line1.pk, "quantity": 1, "reason": "defective", "comment": XSS},
                {"order_line": line2.pk, "quantity": 0},
            ]
        ),
    )
    client.post(
        url("return_wizard_details", draft),
        {"requested_resolution": "refund", "return_method": "drop_off", "customer_note": XSS},
    )

    # when / then
    for page_url in (url("return_wizard_review", draft), url("return_detail", draft)):
        html = client.get(page_url).content.decode()
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    client.post(url("return_wizard_review", draft))
    html = client.get(url("return_detail", draft)).content.decode()
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- leaving the wizard -----------------------------------------------------------------


def test_a_draft_is_cancelled_from_a_wizard_step(world_a, delivered_order, login):
    client = login(world_a.customer)
    draft = start_draft(client, delivered_order)
    page = client.get(url("return_wizard_lines", draft)).content.decode()
    assert url("return_cancel", draft) in page
    response = client.post(url("return_cancel", draft), follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:return_list")
    assert "was cancelled" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.CANCELLED


@pytest.mark.parametrize(
    "step",
    [
        "return_wizard_orders",
        "return_wizard_lines",
        "return_wizard_details",
        "return_wizard_review",
    ],
)
def test_a_submitted_return_can_no_longer_be_edited(
    world_a, delivered_order, login, file_return, step
):
    line1, _ = order_lines(delivered_order)
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 1, "reason": "defective"}],
    )
    client = login(world_a.customer)
    for method in (client.get, client.post):
        response = method(url(step, rma))
        assert response.status_code == 302
        assert response["Location"] == url("return_detail", rma)
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.SUBMITTED


def test_the_draft_appears_in_the_list_with_a_continue_link(world_a, delivered_order, login):
    client = login(world_a.customer)
    draft, *_ = _draft_with_one_saved_line(client, delivered_order)
    html = client.get(reverse("portal:return_list")).content.decode()
    assert draft.number in html
    assert url("return_wizard_details", draft) in html  # the first step still to do


def test_wizard_steps_render_in_polish(world_a, delivered_order, login):
    world_a.customer.language = "pl"
    world_a.customer.save()
    client = login(world_a.customer)
    draft, *_ = _draft_with_one_saved_line(client, delivered_order)
    with tenant_context(world_a.tenant):
        services.return_draft_set_details(
            return_request=draft,
            actor=world_a.customer,
            requested_resolution="refund",
            return_method="drop_off",
        )
    for name in ("return_wizard_orders", "return_wizard_lines", "return_wizard_details"):
        assert client.get(url(name, draft)).status_code == 200
    page = client.get(url("return_wizard_review", draft))
    assert page.status_code == 200
    assert 'lang="pl"' in page.content.decode()

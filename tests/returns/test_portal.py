"""Portal returns pages: the list, a return's page, its actions, and isolation between
tenants, companies and colleagues."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from customers.models import OrderLine
from returns import services
from returns.models import (
    ReturnAttachment,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.html import definitions, table_rows, texts

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), (20, 120, 200)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def delivered_order_of(company, *, lines: int = 2, quantity: int = 50):
    """A recently delivered order with plenty to return (ledger limits stay out of the way)."""
    tenant = company.tenant
    today = tenant_today(tenant)
    order = OrderFactory(
        tenant=tenant,
        customer_account=company,
        order_date=today - datetime.timedelta(days=4),
        delivery_date=today - datetime.timedelta(days=2),
    )
    for number in range(1, lines + 1):
        OrderLineFactory(
            tenant=tenant,
            order=order,
            line_number=number,
            product=ProductFactory(tenant=tenant),
            quantity=quantity,
            unit_price=Decimal("10.00"),
        )
    return order


def file_return_for(user, company, order=None, *, submit=True, quantity=1, reason="defective"):
    """A return of `company` filed by `user` through the services."""
    order = order or delivered_order_of(company)
    line_ids = list(
        OrderLine.unscoped.filter(order=order).order_by("line_number").values_list("pk", flat=True)
    )
    with tenant_context(company.tenant):
        rma = services.return_request_create(
            customer_account=company,
            requester=user,
            lines=[
                services.LineInput(order_line_id=pk, quantity=quantity, reason=reason)
                for pk in line_ids
            ],
            requested_resolution="refund",
            return_method="drop_off",
        )
        if submit:
            rma = services.return_request_submit(return_request=rma, actor=user)
    return rma


def snapshot(rma) -> dict:
    """What a refused request must leave alone."""
    return {
        "row": ReturnRequest.unscoped.filter(pk=rma.pk).values().get(),
        "lines": list(ReturnLine.unscoped.filter(return_request_id=rma.pk).values()),
        "events": list(
            ReturnEvent.unscoped.filter(return_request_id=rma.pk).values_list("pk", flat=True)
        ),
        "attachments": list(
            ReturnAttachment.unscoped.filter(return_request_id=rma.pk).values_list("pk", flat=True)
        ),
    }


def detail(rma) -> str:
    return reverse("portal:return_detail", args=[rma.pk])


# --- list -------------------------------------------------------------------------------


def test_list_shows_the_users_returns_with_their_facts(world_a, login):
    # given
    order = delivered_order_of(world_a.company)
    submitted = file_return_for(world_a.customer, world_a.company, order)
    draft = file_return_for(world_a.customer, world_a.company, order, submit=False)

    # when
    response = login(world_a.customer).get(reverse("portal:return_list"))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    # The filters offer every status and resolution: read the table's rows, not the page.
    table = {row[0]: row for row in table_rows(html, "table.returns")[1:]}
    assert set(table) == {submitted.number, draft.reference}
    assert draft.number == "" and draft.reference.startswith("Draft of ")
    assert table[submitted.number][2] == "Submitted" and table[draft.reference][2] == "Draft"
    for number in (submitted.number, draft.reference):
        _number, _created, _status, orders, lines, value, resolution, _action = table[number]
        assert (orders, lines, resolution) == (order.number, "2", "Refund")
        assert value.split()[0] in ("20.00", "20,00")  # 2 lines × 1 × 10.00
    assert reverse("portal:return_wizard_review", args=[draft.pk]) in html  # continue
    assert reverse("portal:return_wizard_review", args=[submitted.pk]) not in html
    assert reverse("portal:return_new") in html
    rows = {rma.pk: rma for rma in response.context["returns"]}
    assert rows[submitted.pk].line_count == 2


def test_list_filters(world_a, login):
    # given
    first_order = delivered_order_of(world_a.company)
    second_order = delivered_order_of(world_a.company)
    approved = file_return_for(world_a.customer, world_a.company, first_order)
    with tenant_context(world_a.tenant):
        services.return_request_approve(return_request=approved, actor=world_a.agent)
    other = file_return_for(world_a.customer, world_a.company, second_order)
    ReturnRequest.unscoped.filter(pk=other.pk).update(
        created_at=datetime.datetime(2025, 1, 15, 12, tzinfo=datetime.UTC)
    )
    client = login(world_a.customer)

    def listed(**params) -> set[int]:
        response = client.get(reverse("portal:return_list"), params)
        assert response.status_code == 200
        return {rma.pk for rma in response.context["returns"]}

    # then
    assert listed(status="approved") == {approved.pk}
    assert listed(status="submitted") == {other.pk}
    assert listed(created_to="2025-01-31") == {other.pk}
    assert listed(created_from="2025-02-01") == {approved.pk}
    assert listed(order=second_order.number) == {other.pk}
    assert listed(q=approved.number) == {approved.pk}
    assert listed() == {approved.pk, other.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"created_from": "2025-13-45"}, "created_from"),
        ({"created_to": "yesterday"}, "created_to"),
        ({"status": "nonsense"}, "status"),
        ({"created_from": "2025-03-01", "created_to": "2025-02-01"}, "created_to"),
    ],
)
def test_bad_filters_are_form_errors_not_failures(world_a, login, params, field):
    rma = file_return_for(world_a.customer, world_a.company)
    response = login(world_a.customer).get(reverse("portal:return_list"), params)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert 'class="field has-error"' in response.content.decode()
    assert rma in response.context["returns"]  # the invalid filter is ignored, not applied


def test_list_is_paginated_and_keeps_filters(world_a, login):
    order = delivered_order_of(world_a.company, lines=1, quantity=100)
    for _ in range(23):
        file_return_for(world_a.customer, world_a.company, order)
    client = login(world_a.customer)
    first = client.get(reverse("portal:return_list"), {"status": "submitted"})
    assert len(first.context["returns"]) == 20
    assert "status=submitted&amp;page=2" in first.content.decode()
    second = client.get(reverse("portal:return_list"), {"status": "submitted", "page": 2})
    assert len(second.context["returns"]) == 3
    assert client.get(reverse("portal:return_list"), {"page": "x"}).status_code == 200


def test_list_query_count_does_not_grow_with_returns(world_a, login):
    order = delivered_order_of(world_a.company, quantity=100)
    client = login(world_a.customer_admin)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("portal:return_list")).status_code == 200
        return len(queries.captured_queries)

    for _ in range(3):
        file_return_for(world_a.customer, world_a.company, order)
    few = count_queries()
    for index in range(12):
        file_return_for(
            world_a.colleague if index % 2 else world_a.customer,
            world_a.company,
            delivered_order_of(world_a.company),
            submit=index % 3 != 0,
        )
    many = count_queries()
    assert many == few


def test_plain_user_sees_own_returns_and_admin_sees_the_companys(world_a, login):
    # given
    mine = file_return_for(world_a.customer, world_a.company)
    colleagues = file_return_for(world_a.colleague, world_a.company)

    # when
    as_user = login(world_a.customer).get(reverse("portal:return_list"))
    user_detail = login(world_a.customer).get(detail(colleagues))
    admin = Client()
    admin.force_login(world_a.customer_admin)
    as_admin = admin.get(reverse("portal:return_list"))

    # then
    assert {r.pk for r in as_user.context["returns"]} == {mine.pk}
    assert user_detail.status_code == 404
    assert {r.pk for r in as_admin.context["returns"]} == {mine.pk, colleagues.pk}
    assert admin.get(detail(colleagues)).status_code == 200


def test_list_hides_other_companies_and_tenants(world_a, world_b, login):
    own = file_return_for(world_a.customer, world_a.company)
    other_company = file_return_for(world_a.other_company_user, world_a.other_company)
    other_tenant = file_return_for(world_b.customer, world_b.company)
    html = login(world_a.customer_admin).get(reverse("portal:return_list")).content.decode()
    assert own.number in html
    # RMA numbers are per tenant and may coincide: compare the links, which carry the ids.
    assert detail(other_company) not in html
    assert detail(other_tenant) not in html


# --- isolation of every URL -------------------------------------------------------------


def _foreign_return(owner: str, world_a, world_b):
    """A draft of someone `world_a.customer` must not reach, with a line file."""
    if owner == "other_tenant":
        user, company = world_b.customer, world_b.company
    elif owner == "other_company":
        user, company = world_a.other_company_user, world_a.other_company
    else:  # a colleague in the same company: hidden from a plain customer user
        user, company = world_a.colleague, world_a.company
    rma = file_return_for(user, company, submit=False)
    with tenant_context(company.tenant):
        attachment = services.return_attachment_add(
            return_request=rma, actor=user, upload=png_upload()
        )
    return rma, attachment


PORTAL_REQUESTS = [
    ("get", "return_detail", {}),
    ("get", "return_wizard_orders", {}),
    ("post", "return_wizard_orders", {"orders": []}),
    ("get", "return_wizard_lines", {}),
    ("post", "return_wizard_lines", {"lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0"}),
    ("get", "return_wizard_details", {}),
    (
        "post",
        "return_wizard_details",
        {"requested_resolution": "refund", "return_method": "drop_off"},
    ),
    ("get", "return_wizard_review", {}),
    ("post", "return_wizard_review", {}),
    ("post", "return_cancel", {}),
    ("post", "return_provide_info", {"answer": "Here you are."}),
    ("post", "return_comment", {"note": "Hello?"}),
    ("post", "return_upload", {}),
    ("get", "return_attachment", {}),
]


@pytest.mark.parametrize("owner", ["other_tenant", "other_company", "colleague"])
@pytest.mark.parametrize(("method", "name", "data"), PORTAL_REQUESTS)
def test_foreign_returns_answer_404_and_change_nothing(
    world_a, world_b, login, settings, tmp_path, owner, method, name, data
):
    # given
    settings.MEDIA_ROOT = tmp_path
    rma, attachment = _foreign_return(owner, world_a, world_b)
    before = snapshot(rma)
    args = [rma.pk, attachment.pk] if name == "return_attachment" else [rma.pk]
    if name == "return_upload":
        data = {"files": [png_upload()]}
    client = login(world_a.customer)

    # when
    response = getattr(client, method)(reverse(f"portal:{name}", args=args), data)

    # then
    assert response.status_code == 404
    # A draft has no RMA number yet: its name ("Draft of …") must not show either.
    assert rma.number == ""
    assert rma.reference not in response.content.decode()
    assert snapshot(rma) == before


def test_the_customer_admin_reaches_a_colleagues_return(world_a, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    rma = file_return_for(world_a.colleague, world_a.company)
    with tenant_context(world_a.tenant):
        attachment = services.return_attachment_add(
            return_request=rma, actor=world_a.colleague, upload=png_upload()
        )
    client = login(world_a.customer_admin)
    assert client.get(detail(rma)).status_code == 200
    download = client.get(reverse("portal:return_attachment", args=[rma.pk, attachment.pk]))
    assert download.status_code == 200
    response = client.post(reverse("portal:return_comment", args=[rma.pk]), {"note": "Admin"})
    assert response.status_code == 302
    assert ReturnEvent.unscoped.filter(return_request=rma, note="Admin").exists()


def test_an_attachment_of_another_return_is_not_served_through_own_return(
    world_a, world_b, login, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    own = file_return_for(world_a.customer, world_a.company)
    _foreign, attachment = _foreign_return("other_company", world_a, world_b)
    response = login(world_a.customer).get(
        reverse("portal:return_attachment", args=[own.pk, attachment.pk])
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "name", ["return_list", "return_new", "return_detail", "return_wizard_lines"]
)
@pytest.mark.parametrize("role", ["agent", "manager", "tenant_admin"])
def test_staff_cannot_use_the_portal_returns(world_a, login, name, role):
    rma = file_return_for(world_a.customer, world_a.company, submit=False)
    args = [] if name in ("return_list", "return_new") else [rma.pk]
    response = login(getattr(world_a, role)).get(reverse(f"portal:{name}", args=args))
    assert response.status_code == 403


def test_anonymous_is_sent_to_login(client, world_a):
    response = client.get(reverse("portal:return_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- detail -----------------------------------------------------------------------------


def test_detail_shows_the_return_its_policy_and_public_timeline(world_a, policy_a, login):
    # given
    rma = file_return_for(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.return_request_comment(
            return_request=rma,
            actor=world_a.agent,
            note="Internal: check the pallet",
            is_public=False,
        )
        services.return_request_comment(
            return_request=rma, actor=world_a.agent, note="We are on it.", is_public=True
        )
        services.return_request_assign(
            return_request=rma, actor=world_a.agent, assignee=world_a.agent
        )

    # when
    response = login(world_a.customer).get(detail(rma))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert rma.number in html
    assert "Return submitted" in html
    assert "We are on it." in html
    assert "Internal: check the pallet" not in html
    assert world_a.agent.email not in html
    assert "Support · " + world_a.agent.full_name.split(" ")[0] in html
    assert "Goods must be complete." in html  # conditions text of the policy
    assert "Workwear: 30 days" in texts(html, "section.policy li")  # a category window
    assert "As it applied when the return was submitted." in html
    assert reverse("portal:return_cancel", args=[rma.pk]) in html


def test_detail_after_resolution_shows_inspection_and_money(world_a, policy_a, login):
    # given
    order = delivered_order_of(world_a.company, lines=1)
    rma = file_return_for(world_a.customer, world_a.company, order, quantity=4, reason="wrong_size")
    agent = world_a.agent
    with tenant_context(world_a.tenant):
        rma = services.return_request_approve(return_request=rma, actor=agent)
        rma = services.return_request_mark_received(return_request=rma, actor=agent)
        line = ReturnLine.unscoped.get(return_request=rma)
        rma = services.return_request_inspect(
            return_request=rma,
            actor=agent,
            results={line.pk: services.InspectionInput("opened", "restock", 3)},
        )
        services.return_request_resolve(
            return_request=rma, actor=agent, resolution="credit_note", credit_note_number="KOR/7"
        )

    # when
    response = login(world_a.customer).get(detail(rma))

    # then: 3 × 10.00 accepted, 10 % restocking fee (not a defect) → 27.00
    html = response.content.decode()
    assert response.context["inspected"] is True
    header, line_row = table_rows(html, "table.detail-lines")
    assert line_row[header.index("Condition")] == "Opened"
    assert line_row[header.index("Accepted")] == "3"
    money = definitions(html, "section.money dl")
    assert money["Resolution"] == "Credit note"
    assert money["Credit note"] == "KOR/7"
    for term, amount in (
        ("Accepted value", "30.00"),
        ("Restocking fee", "3.00"),
        ("Refund / credit total", "27.00"),
    ):
        assert money[term].split()[0] in (amount, amount.replace(".", ",")), (term, money)


def test_needs_info_question_is_answered_from_the_page(world_a, login):
    # given
    rma = file_return_for(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.return_request_request_info(
            return_request=rma, actor=world_a.agent, question="Which pallet was it on?"
        )
    client = login(world_a.customer)

    # then: the question is shown with a form to answer it
    html = client.get(detail(rma)).content.decode()
    assert "Our team needs more information" in html
    assert "Which pallet was it on?" in html
    answer_url = reverse("portal:return_provide_info", args=[rma.pk])
    assert answer_url in html

    # when: an empty answer
    response = client.post(answer_url, {"answer": "   "})
    assert response.status_code == 200
    assert "Write your answer." in response.content.decode()
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.NEEDS_INFO

    # when: a real answer
    response = client.post(answer_url, {"answer": "Pallet 7, left side."}, follow=True)

    # then
    html = response.content.decode()
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.SUBMITTED
    assert "Pallet 7, left side." in html
    assert "Answer sent" in html
    assert "Our team needs more information" not in html


def test_answer_when_no_question_is_open_is_refused(world_a, login):
    rma = file_return_for(world_a.customer, world_a.company)
    response = login(world_a.customer).post(
        reverse("portal:return_provide_info", args=[rma.pk]), {"answer": "Hm"}, follow=True
    )
    assert response.status_code == 200
    assert "is not waiting for an answer" in response.content.decode()
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.SUBMITTED


def test_cancel_from_the_detail_page(world_a, login):
    rma = file_return_for(world_a.customer, world_a.company)
    client = login(world_a.customer)
    response = client.post(reverse("portal:return_cancel", args=[rma.pk]), follow=True)
    assert response.redirect_chain[-1][0] == detail(rma)
    html = response.content.decode()
    assert "was cancelled" in html
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.CANCELLED
    assert reverse("portal:return_cancel", args=[rma.pk]) not in html
    again = client.post(reverse("portal:return_cancel", args=[rma.pk]), follow=True)
    assert "cannot be cancelled: its status is" in again.content.decode()


def test_cancel_needs_post(world_a, login):
    rma = file_return_for(world_a.customer, world_a.company)
    response = login(world_a.customer).get(reverse("portal:return_cancel", args=[rma.pk]))
    assert response.status_code == 405
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.SUBMITTED


def test_message_is_added_to_the_timeline_escaped(world_a, login):
    rma = file_return_for(world_a.customer, world_a.company)
    client = login(world_a.customer)
    response = client.post(
        reverse("portal:return_comment", args=[rma.pk]), {"note": XSS}, follow=True
    )
    html = response.content.decode()
    assert "Your message was sent." in html
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    event = ReturnEvent.unscoped.get(return_request=rma, action="comment")
    assert (event.is_public, event.actor_id) == (True, world_a.customer.pk)
    empty = client.post(reverse("portal:return_comment", args=[rma.pk]), {"note": ""})
    assert "Write a message." in empty.content.decode()


def test_upload_and_download_on_the_detail_page(world_a, login, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    rma = file_return_for(world_a.customer, world_a.company)
    client = login(world_a.customer)

    # when
    response = client.post(
        reverse("portal:return_upload", args=[rma.pk]), {"files": [png_upload("damage.png")]}
    )

    # then
    assert response.status_code == 302
    attachment = ReturnAttachment.unscoped.get(return_request=rma)
    html = client.get(detail(rma)).content.decode()
    download_url = reverse("portal:return_attachment", args=[rma.pk, attachment.pk])
    assert download_url in html and "damage.png" in html
    download = client.get(download_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")


def test_disguised_upload_on_the_detail_page_is_refused(world_a, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    rma = file_return_for(world_a.customer, world_a.company)
    disguised = SimpleUploadedFile("photo.jpg", b"MZ" + b"\x00" * 256, content_type="image/jpeg")
    response = login(world_a.customer).post(
        reverse("portal:return_upload", args=[rma.pk]), {"files": [disguised]}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "photo.jpg was not attached" in html
    assert "not a JPEG, PNG, WebP or PDF file" in html
    assert not ReturnAttachment.unscoped.filter(return_request=rma).exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_no_uploads_once_a_return_is_cancelled(world_a, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    rma = file_return_for(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.return_request_cancel(return_request=rma, actor=world_a.customer)
    client = login(world_a.customer)
    assert (
        reverse("portal:return_upload", args=[rma.pk])
        not in client.get(detail(rma)).content.decode()
    )
    response = client.post(
        reverse("portal:return_upload", args=[rma.pk]), {"files": [png_upload()]}, follow=True
    )
    assert "no more files can be added" in response.content.decode()
    assert not ReturnAttachment.unscoped.filter(return_request=rma).exists()


def test_draft_detail_offers_to_continue(world_a, login):
    rma = file_return_for(world_a.customer, world_a.company, submit=False)
    html = login(world_a.customer).get(detail(rma)).content.decode()
    assert "Continue draft" in html
    assert reverse("portal:return_wizard_review", args=[rma.pk]) in html
    assert "As it applies today." in html


def test_order_pages_offer_to_return_items(world_a, login):
    delivered = delivered_order_of(world_a.company)
    undelivered = OrderFactory(
        tenant=world_a.tenant, customer_account=world_a.company, delivery_date=None
    )
    client = login(world_a.customer)
    start = reverse("portal:return_new") + f"?order={delivered.pk}"
    assert start in client.get(reverse("portal:home")).content.decode()
    assert start in client.get(reverse("portal:order_detail", args=[delivered.pk])).content.decode()
    undelivered_page = client.get(reverse("portal:order_detail", args=[undelivered.pk]))
    assert reverse("portal:return_new") not in undelivered_page.content.decode()
    assert reverse("portal:return_list") in undelivered_page.content.decode()  # the nav item

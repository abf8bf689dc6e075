"""The conversation-first case pages of the back-office (customers/case_context.py,
rma_portal/backoffice/conversation.py): the conversation with the e-mails sent about the
case, the customer beside it, the photos' thumbnails; tenant-scoped, and in a constant
number of queries whatever the case holds."""

from __future__ import annotations

import datetime
import importlib
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from complaints import services as complaint_services
from complaints.models import Complaint, ComplaintAttachment, ComplaintStatus
from customers.models import CannedResponse
from returns import services as return_services
from returns.models import (
    ReturnAttachment,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import tenant_context
from tests.complaints.conftest import complaint_file, png_upload
from tests.conftest import World
from tests.factories import OrderFactory, OrderLineFactory
from tests.html import parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _complaint_url(complaint, name="change", *args) -> str:
    return reverse(f"admin:complaints_complaint_{name}", args=[complaint.pk, *args])


def _return_url(rma) -> str:
    return reverse("admin:returns_returnrequest_change", args=[rma.pk])


def _staff(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _return(world: World, company=None, *, status=ReturnStatus.SUBMITTED, note="") -> ReturnRequest:
    company = company or world.company
    count = ReturnRequest.unscoped.filter(tenant=world.tenant).count()
    return ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number=f"RMA-{world.tenant.slug}-{count + 1}",
        customer_account=company,
        requester=world.customer if company == world.company else world.other_company_user,
        status=status,
        submitted_at=timezone.now(),
        customer_note=note,
    )


def _reply(complaint, actor, body, *, internal=False, uploads=()):
    with tenant_context(complaint.tenant):
        return complaint_services.complaint_reply(
            complaint=Complaint.unscoped.get(pk=complaint.pk),
            actor=actor,
            body=body,
            is_internal=internal,
            uploads=uploads,
        )


# --- the conversation -----------------------------------------------------------------------


def test_the_conversation_holds_the_filing_messages_steps_and_e_mails_in_order(world_a, media_root):
    now = timezone.now()
    complaint = complaint_file(world_a.customer, world_a.company, now=now)
    _reply(complaint, world_a.agent, "We are looking into it.")
    _reply(complaint, world_a.agent, "Supplier batch 7 again.", internal=True)
    _reply(complaint, world_a.customer, "Photo attached.", uploads=[png_upload("crack.png")])
    other = complaint_file(world_a.customer, world_a.company, now=now, subject="Other")
    _reply(other, world_a.agent, "About the other complaint.")

    page = _staff(world_a.agent).get(_complaint_url(complaint))
    assert page.status_code == 200
    entries = page.context["conversation"]
    assert entries[0].kind == "customer"
    assert entries[0].title == "Complaint filed"
    assert "Cracked housings" in entries[0].body
    messages = [(e.kind, e.body) for e in entries if e.kind in ("customer", "reply", "internal")]
    assert messages[1:] == [
        ("reply", "We are looking into it."),
        ("internal", "Supplier batch 7 again."),
        ("customer", "Photo attached."),
    ]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    # the e-mails queued about this complaint, and none of the other one's
    emails = [e for e in entries if e.kind == "email"]
    ours = Notification.unscoped.filter(case=f"complaints.complaint:{complaint.pk}")
    assert len(emails) == ours.count() > 0
    assert all(world_a.customer.email in e.title for e in emails if e.is_public)
    assert any(complaint.code in e.body for e in emails)  # the subject as sent
    assert not any(other.code in e.body for e in emails)
    # the photo is a thumbnail in its message; the page shows no other complaint's texts
    photo = ComplaintAttachment.unscoped.get(complaint=complaint)
    html = page.content.decode()
    assert f"{_complaint_url(complaint, 'attachment', photo.pk)}?size=thumb" in html
    assert "About the other complaint." not in html
    # the internal note is drawn as one
    note = parse(page).select_one("#case-conversation li.entry-internal")
    assert "Supplier batch 7 again." in note.text
    assert "Internal note — staff only" in note.text


def test_a_return_page_shows_the_customer_note_comments_and_its_lines(world_a):
    rma = _return(world_a, note="Two boxes arrived wet.")
    order_line = OrderLineFactory(
        tenant=world_a.tenant, order__customer_account=world_a.company, quantity=4
    )
    ReturnLine.unscoped.create(
        tenant=world_a.tenant,
        return_request=rma,
        order_line=order_line,
        quantity=2,
        reason="damaged_in_transit",
        unit_price=Decimal("100.00"),
        inspection_note="Pallet wrap torn.",
    )
    with tenant_context(world_a.tenant):
        return_services.return_request_comment(
            return_request=rma,
            actor=world_a.agent,
            note="Checking with the carrier.",
            is_public=False,
        )
    page = _staff(world_a.agent).get(_return_url(rma))
    assert page.status_code == 200
    entries = page.context["conversation"]
    assert (entries[0].kind, entries[0].body) == ("customer", "Two boxes arrived wet.")
    assert [(e.kind, e.body) for e in entries if e.kind == "internal"] == [
        ("internal", "Checking with the carrier.")
    ]
    lines = parse(page).select("#return-lines tbody tr")
    assert len(lines) == 1
    assert order_line.order.number in lines[0].text
    assert "Pallet wrap torn." in lines[0].text and "Staff only" in lines[0].text
    # the old inlines are gone: the conversation and the table replace them
    assert 'id="events-group"' not in page.content.decode()
    assert 'id="lines-group"' not in page.content.decode()


# --- the customer beside it ------------------------------------------------------------------


def test_the_customer_panel_lists_their_other_open_cases_orders_and_return_rate(world_a, world_b):
    now = timezone.now()
    complaint = complaint_file(world_a.customer, world_a.company, now=now, subject="This one")
    open_complaint = complaint_file(world_a.customer, world_a.company, now=now, subject="Open")
    closed = complaint_file(world_a.customer, world_a.company, now=now, subject="Gone")
    Complaint.unscoped.filter(pk=closed.pk).update(status=ComplaintStatus.CLOSED)
    open_return = _return(world_a)
    _return(world_a, status=ReturnStatus.DRAFT)  # a draft is nobody's work yet
    other_customers = complaint_file(
        world_a.other_company_user, world_a.other_company, now=now, subject="Theirs"
    )
    other_tenants = complaint_file(world_b.customer, world_b.company, now=now)
    today = timezone.localdate()
    order = OrderFactory(
        tenant=world_a.tenant,
        customer_account=world_a.company,
        order_date=today - datetime.timedelta(days=10),
        delivery_date=today - datetime.timedelta(days=8),
    )
    line = OrderLineFactory(tenant=world_a.tenant, order=order, quantity=10)
    ReturnLine.unscoped.create(
        tenant=world_a.tenant,
        return_request=open_return,
        order_line=line,
        quantity=2,
        reason="damaged_in_transit",
        unit_price=Decimal("100.00"),
    )
    OrderFactory(tenant=world_a.tenant, customer_account=world_a.other_company)

    page = _staff(world_a.agent).get(_complaint_url(complaint))
    customer = page.context["customer"]
    numbers = [case["number"] for case in customer["other_cases"]]
    assert sorted(numbers) == sorted([open_complaint.code, open_return.number])
    for absent in (complaint.code, closed.code, other_customers.code, other_tenants.code):
        assert absent not in numbers
    assert [o["number"] for o in customer["orders"]] == [order.number]
    rate = {fact.label: (fact.value, fact.detail) for fact in customer["facts"]}
    assert rate["Return rate, last 365 days"] == ("20.0 %", "2 of 10 units delivered")
    side = parse(page).select_one("#case-side").text
    assert world_a.company.name in side and world_a.customer.email in side
    assert world_b.company.name not in page.content.decode()


def test_the_panel_offers_the_rest_in_my_work_when_there_are_more(world_a):
    now = timezone.now()
    complaint = complaint_file(world_a.customer, world_a.company, now=now)
    for _ in range(6):
        complaint_file(world_a.customer, world_a.company, now=now)
    page = _staff(world_a.agent).get(_complaint_url(complaint))
    assert len(page.context["customer"]["other_cases"]) == 5
    assert page.context["customer"]["more_cases"] is True
    assert f"?view=all&amp;q={world_a.company.number}" in page.content.decode()


# --- isolation --------------------------------------------------------------------------------


def test_another_tenants_case_and_its_thumbnail_are_not_found(world_a, world_b, media_root):
    complaint = complaint_file(world_a.customer, world_a.company)
    _reply(complaint, world_a.customer, "Photo.", uploads=[png_upload()])
    photo = ComplaintAttachment.unscoped.get(complaint=complaint)
    rma = _return(world_a)
    stranger = _staff(world_b.agent)
    for url in (
        _complaint_url(complaint),
        f"{_complaint_url(complaint, 'attachment', photo.pk)}?size=thumb",
        _return_url(rma),
    ):
        assert stranger.get(url).status_code == 404
    # customers never reach the back-office's pages
    customer = Client()
    customer.force_login(world_a.customer)
    response = customer.get(f"{_complaint_url(complaint, 'attachment', photo.pk)}?size=thumb")
    assert response.status_code in (302, 403, 404)


# --- thumbnails -------------------------------------------------------------------------------


def test_a_photo_has_a_small_thumbnail_and_a_document_none(world_a, media_root):
    complaint = complaint_file(world_a.customer, world_a.company)
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), (20, 120, 200)).save(buffer, "PNG")
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("big.png", buffer.getvalue(), content_type="image/png")
    _reply(complaint, world_a.customer, "Big photo.", uploads=[big])
    photo = ComplaintAttachment.unscoped.get(complaint=complaint)
    client = _staff(world_a.agent)
    url = f"{_complaint_url(complaint, 'attachment', photo.pk)}?size=thumb"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(response.content)) as thumb:
        assert thumb.size == (192, 128)  # the longer side at 192 px, proportions kept
    assert client.get(url).content == response.content  # the second from the cache
    # the original is still served whole
    original = client.get(_complaint_url(complaint, "attachment", photo.pk))
    with Image.open(io.BytesIO(b"".join(original.streaming_content))) as whole:
        assert whole.size == (1200, 800)
    ComplaintAttachment.unscoped.filter(pk=photo.pk).update(content_type="application/pdf")
    assert client.get(url).status_code == 404


# --- queries ----------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_complaint_page_costs_the_same_queries_with_more_in_it(world_a, media_root):
    now = timezone.now()
    complaint = complaint_file(world_a.customer, world_a.company, now=now)
    client = _staff(world_a.agent)

    def more(n):  # one more of everything the page lists (the first reply starts the work)
        _reply(complaint, world_a.agent, f"Reply {n}")
        _reply(complaint, world_a.customer, f"Answer {n}", uploads=[png_upload()])
        complaint_file(world_a.customer, world_a.company, now=now)
        _return(world_a)
        OrderFactory(tenant=world_a.tenant, customer_account=world_a.company)

    more(0)
    client.get(_complaint_url(complaint))  # warm the session and caches
    before = _queries(client, _complaint_url(complaint))
    for n in range(1, 5):
        more(n)
    assert _queries(client, _complaint_url(complaint)) == before


def test_the_return_page_costs_the_same_queries_with_more_in_it(world_a):
    rma = _return(world_a, note="Note.")
    client = _staff(world_a.agent)
    client.get(_return_url(rma))
    before = _queries(client, _return_url(rma))
    for n in range(4):
        order_line = OrderLineFactory(
            tenant=world_a.tenant, order__customer_account=world_a.company
        )
        ReturnLine.unscoped.create(
            tenant=world_a.tenant,
            return_request=rma,
            order_line=order_line,
            quantity=1,
            reason="damaged_in_transit",
            unit_price=Decimal("10.00"),
        )
        with tenant_context(world_a.tenant):
            return_services.return_request_comment(
                return_request=rma, actor=world_a.agent, note=f"Public {n}", is_public=True
            )
        complaint_file(world_a.customer, world_a.company)
        _return(world_a)
    assert _queries(client, _return_url(rma)) == before


# --- e-mails queued before the case was named ---------------------------------------------------


def test_older_e_mails_are_given_their_case_from_their_context(world_a):
    old = Notification.unscoped.create(
        tenant=world_a.tenant,
        event="return.approved",
        idempotency_key="old-1",
        recipient=world_a.customer,
        email=world_a.customer.email,
        language="en",
        context={"return_id": 41, "number": "RMA-1"},
    )
    report = Notification.unscoped.create(
        tenant=world_a.tenant,
        event="analytics.monthly_report",
        idempotency_key="old-2",
        recipient=world_a.manager,
        email=world_a.manager.email,
        language="en",
        context={"month": "2026-11"},
    )
    migration = importlib.import_module(
        "rma_portal.notifications.migrations.0005_notification_case"
    )
    state = MigrationExecutor(connection).loader.project_state(
        ("notifications", "0005_notification_case")
    )
    migration.name_cases(state.apps, None)
    old.refresh_from_db()
    report.refresh_from_db()
    assert (old.case, report.case) == ("returns.returnrequest:41", "")


# --- canned responses on a return's page ----------------------------------------------------------


def test_a_return_page_offers_the_tenants_canned_responses_filled_for_the_return(world_a, world_b):
    rma = _return(world_a)
    order_line = OrderLineFactory(
        tenant=world_a.tenant, order__customer_account=world_a.company, product__name="Gearbox"
    )
    ReturnLine.unscoped.create(
        tenant=world_a.tenant,
        return_request=rma,
        order_line=order_line,
        quantity=1,
        reason="damaged_in_transit",
        unit_price=Decimal("10.00"),
    )
    ours = CannedResponse.unscoped.create(
        tenant=world_a.tenant,
        title="Received",
        body="Dear {contact_name}, {case_number} ({subject}) arrived. {agent_name}, {unknown}",
    )
    CannedResponse.unscoped.create(tenant=world_b.tenant, title="Theirs", body="Not ours.")
    CannedResponse.unscoped.create(
        tenant=world_a.tenant, title="Retired", body="Old.", is_active=False
    )
    client = _staff(world_a.agent)
    page = client.get(_return_url(rma))
    expected = (
        f"Dear {world_a.customer.get_full_name()}, {rma.number} (Gearbox) arrived. "
        f"{world_a.agent.get_full_name()}, {{unknown}}"
    )
    assert page.context["canned_texts"] == {str(ours.pk): expected}
    assert 'id="canned-texts"' in page.content.decode()
    # without JavaScript the picker reloads the page with the text in the box
    page = client.get(f"{_return_url(rma)}?canned={ours.pk}")
    assert page.context["comment_form"]["note"].value() == expected
    # an unknown or foreign choice fills nothing
    for choice in ("999999", "abc", str(CannedResponse.unscoped.get(title="Theirs").pk)):
        page = client.get(f"{_return_url(rma)}?canned={choice}")
        assert page.status_code == 200
        assert not page.context["comment_form"]["note"].value()


# --- files with a return's reply ------------------------------------------------------------------


def test_a_return_reply_sends_files_with_it_all_or_nothing(world_a, media_root):
    rma = _return(world_a)
    client = _staff(world_a.agent)
    url = reverse("admin:returns_returnrequest_comment", args=[rma.pk])

    def state():
        return (
            list(
                ReturnEvent.unscoped.filter(return_request=rma)
                .order_by("pk")
                .values_list("action", flat=True)
            ),
            list(
                ReturnAttachment.unscoped.filter(return_request=rma)
                .order_by("pk")
                .values_list("original_name", flat=True)
            ),
            sorted(p.name for p in media_root.rglob("*") if p.is_file())
            if media_root.exists()
            else [],
        )

    before = state()
    # files with an internal note: refused, nothing written
    response = client.post(
        url,
        {"note": "Internal", "visibility": "internal", "files": [png_upload()]},
        follow=True,
    )
    assert "Files on a return are shown to the customer" in response.content.decode()
    assert state() == before
    # a file that is no photo or PDF: refused, not even the message stays
    from tests.complaints.conftest import exe_upload

    response = client.post(
        url,
        {"note": "Here", "visibility": "public", "files": [png_upload(), exe_upload()]},
        follow=True,
    )
    assert response.status_code == 200
    assert state() == before
    # a reply with two photos: the message, both files, each shown with its step
    client.post(
        url,
        {
            "note": "Our photos of the goods.",
            "visibility": "public",
            "files": [png_upload("front.png"), png_upload("back.png")],
        },
    )
    actions, names, _stored = state()
    assert actions[-3:] == ["comment", "attachment", "attachment"]
    assert names == ["front.png", "back.png"]
    page = client.get(_return_url(rma))
    shown = [f.name for e in page.context["conversation"] for f in e.files]
    assert shown == ["front.png", "back.png"]
    assert [f.name for f in page.context["case_images"]] == ["front.png", "back.png"]

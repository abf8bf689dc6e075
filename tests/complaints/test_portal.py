"""Portal complaint pages: the list, filing, a complaint's page with its public thread, the
reply, reopen and rating forms, file downloads, starting a return from a complaint, and
isolation between tenants, companies and colleagues."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from PIL import Image

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    SatisfactionRating,
    SupportSettings,
)
from customers.models import OrderLine
from returns.models import ReturnRequest, ReturnStatus
from returns.selectors import tenant_today
from rma_portal.errors import ApplicationError
from rma_portal.tenancy.context import tenant_context
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.html import excerpt, parse, summary, table_rows, visible_text

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def png_upload(name: str = "photo.png", colour=(20, 120, 200)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 10), colour).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def media_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def delivered_order_of(company, *, lines: int = 2):
    tenant = company.tenant
    today = tenant_today(tenant)
    order = OrderFactory(
        tenant=tenant,
        customer_account=company,
        order_date=today - datetime.timedelta(days=6),
        delivery_date=today - datetime.timedelta(days=3),
    )
    for number in range(1, lines + 1):
        OrderLineFactory(
            tenant=tenant,
            order=order,
            line_number=number,
            product=ProductFactory(tenant=tenant),
            quantity=20,
            unit_price=Decimal("10.00"),
        )
    return order


def lines_of(order) -> list[OrderLine]:
    return list(OrderLine.unscoped.filter(order=order).order_by("line_number"))


def file_complaint(user, company, **kwargs) -> Complaint:
    """A complaint of `company` filed by `user` through the service."""
    arguments = {
        "category": "product_quality",
        "priority": "normal",
        "subject": "Cracked housings",
        "description": "Three housings arrived cracked.",
        **kwargs,
    }
    with tenant_context(company.tenant):
        return services.complaint_file(customer_account=company, reporter=user, **arguments)


def resolved_complaint(world, *, user=None, **kwargs) -> Complaint:
    """A complaint taken by the agent and resolved, through the services."""
    complaint = file_complaint(user or world.customer, world.company, **kwargs)
    with tenant_context(world.tenant):
        services.complaint_reply(complaint=complaint, actor=world.agent, body="We are on it.")
        return services.complaint_resolve(
            complaint=complaint, actor=world.agent, resolution="A new batch was sent."
        )


def snapshot(complaint) -> dict:
    """Everything a refused request must leave alone."""
    return {
        "row": Complaint.unscoped.filter(pk=complaint.pk).values().get(),
        "messages": list(
            ComplaintMessage.unscoped.filter(complaint_id=complaint.pk).values_list("pk", "body")
        ),
        "events": list(
            ComplaintEvent.unscoped.filter(complaint_id=complaint.pk).values_list("pk", flat=True)
        ),
        "attachments": list(
            ComplaintAttachment.unscoped.filter(complaint_id=complaint.pk).values_list(
                "pk", flat=True
            )
        ),
        "rating": list(
            SatisfactionRating.unscoped.filter(complaint_id=complaint.pk).values_list(
                "score", "comment"
            )
        ),
    }


def detail(complaint) -> str:
    return reverse("portal:complaint_detail", args=[complaint.pk])


def new_complaint_post(**overrides) -> dict:
    data = {
        "category": "product_quality",
        "priority": "normal",
        "order_number": "",
        "order_line": "",
        "subject": "Scratched panels",
        "description": "The panels of the last delivery are scratched.",
    }
    data.update(overrides)
    return data


# --- the whole flow ---------------------------------------------------------------------


def test_a_complaint_from_filing_to_rating(world_a, login, media):
    # given
    order = delivered_order_of(world_a.company)
    line = lines_of(order)[1]
    client = login(world_a.customer)

    # when: the customer files a complaint about an order line, with a photo
    page = client.get(reverse("portal:complaint_new"), {"order": order.pk})
    assert page.status_code == 200
    assert line.product.name in page.content.decode()  # the order's lines are offered
    response = client.post(
        reverse("portal:complaint_new"),
        new_complaint_post(
            priority="high",
            order_number=order.number,
            order_line=line.pk,
            files=[png_upload("crack.png")],
        ),
    )

    # then: the complaint is filed and its page shows it with the photo
    complaint = Complaint.unscoped.get(reporter=world_a.customer)
    assert response.status_code == 302
    assert response["Location"] == detail(complaint)
    assert (complaint.order_id, complaint.order_line_id, complaint.product_id) == (
        order.pk,
        line.pk,
        line.product_id,
    )
    assert complaint.priority == "high"
    photo = ComplaintAttachment.unscoped.get(complaint=complaint)
    page = client.get(detail(complaint))
    html = page.content.decode()
    assert f"Your complaint {complaint.code} was filed." in html
    assert complaint.code in html and "Scratched panels" in html
    assert "The panels of the last delivery are scratched." in html
    assert order.number in html and line.product.name in html
    photo_url = reverse("portal:complaint_attachment", args=[complaint.pk, photo.pk])
    assert photo_url in html and "crack.png" in html
    assert "We will answer by" in html
    download = client.get(photo_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")

    # when: an agent answers publicly, writes an internal note with a file, asks a question
    with tenant_context(world_a.tenant):
        services.complaint_assign(complaint=complaint, actor=world_a.agent, assignee=world_a.agent)
        services.complaint_reply(
            complaint=complaint, actor=world_a.agent, body="We are checking the batch."
        )
        note = services.complaint_reply(
            complaint=complaint,
            actor=world_a.agent,
            body="INTERNAL: supplier knows about this defect",
            is_internal=True,
            uploads=[png_upload("internal-memo.png", colour=(1, 2, 3))],
        )
        services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, question="Which lot number is printed?"
        )
    internal_file = ComplaintAttachment.unscoped.get(message=note)

    # then: the customer sees the public thread only
    html = client.get(detail(complaint)).content.decode()
    assert "We are checking the batch." in html
    assert "Which lot number is printed?" in html
    assert "Our team is waiting for your answer" in html
    assert "INTERNAL: supplier knows" not in html
    assert "internal-memo" not in html
    internal_url = reverse("portal:complaint_attachment", args=[complaint.pk, internal_file.pk])
    assert internal_url not in html
    assert client.get(internal_url).status_code == 404
    assert "We will answer by" not in html  # the first answer was given
    assert world_a.agent.email not in html
    assert "Support · " + world_a.agent.full_name.split(" ")[0] in html

    # when: the customer answers
    response = client.post(
        reverse("portal:complaint_reply", args=[complaint.pk]), {"body": "Lot 42."}, follow=True
    )

    # then: the complaint is worked on again, and the page says so
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.IN_PROGRESS
    html = response.content.decode()
    assert "Our team is working on your complaint again." in html
    assert "Lot 42." in html

    # when: the agent resolves it
    with tenant_context(world_a.tenant):
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="A new batch was sent."
        )
    html = client.get(detail(complaint)).content.decode()
    assert "A new batch was sent." in html
    rate_url = reverse("portal:complaint_rate", args=[complaint.pk])
    assert rate_url in html
    assert reverse("portal:complaint_reopen", args=[complaint.pk]) in html
    assert reverse("portal:complaint_reply", args=[complaint.pk]) not in html

    # when: the customer rates it 4
    response = client.post(rate_url, {"score": "4", "comment": "Quick, thanks."}, follow=True)

    # then: the rating is saved, the complaint stays resolved, and the page shows the rating
    # with the reopen form and its last day
    complaint.refresh_from_db()
    assert (complaint.status, complaint.closed_at) == (ComplaintStatus.RESOLVED, None)
    rating = SatisfactionRating.unscoped.get(complaint=complaint)
    assert (rating.score, rating.comment, rating.rated_by_id) == (
        4,
        "Quick, thanks.",
        world_a.customer.pk,
    )
    html = response.content.decode()
    assert "Thank you for your rating." in html
    assert "4 of 5" in html and "Quick, thanks." in html
    assert rate_url not in html
    until = date_format(
        timezone.localtime(complaint.resolved_at + datetime.timedelta(days=14)),
        "SHORT_DATE_FORMAT",
    )
    assert f"Thank you for your rating. Until {until} you can still reopen the complaint" in html
    assert f"You can reopen the complaint until {until}." in html
    assert reverse("portal:complaint_reopen", args=[complaint.pk]) in html

    # when: the customer tries to rate again
    before = snapshot(complaint)
    response = client.post(rate_url, {"score": "1", "comment": "Changed my mind"}, follow=True)

    # then: refused, nothing changed
    assert "already been rated" in response.content.decode()
    assert snapshot(complaint) == before


@pytest.mark.parametrize("score", ["0", "6", "-1", "four", ""])
def test_a_rating_outside_one_to_five_is_refused(world_a, login, score):
    complaint = resolved_complaint(world_a)
    before = snapshot(complaint)
    response = login(world_a.customer).post(
        reverse("portal:complaint_rate", args=[complaint.pk]), {"score": score, "comment": "x"}
    )
    assert response.status_code == 200
    assert "Choose a rating from 1 to 5." in response.content.decode()
    assert snapshot(complaint) == before


def test_a_complaint_cannot_be_rated_before_it_is_resolved(world_a, login):
    complaint = file_complaint(world_a.customer, world_a.company)
    client = login(world_a.customer)
    assert reverse("portal:complaint_rate", args=[complaint.pk]) not in (
        client.get(detail(complaint)).content.decode()
    )
    before = snapshot(complaint)
    response = client.post(
        reverse("portal:complaint_rate", args=[complaint.pk]), {"score": "5"}, follow=True
    )
    assert "cannot be rated yet" in response.content.decode()
    assert snapshot(complaint) == before


# --- reopen -----------------------------------------------------------------------------


def test_reopen_within_the_window(world_a, login):
    # given
    complaint = resolved_complaint(world_a)
    client = login(world_a.customer)
    reopen_url = reverse("portal:complaint_reopen", args=[complaint.pk])
    assert "You can reopen the complaint until" in client.get(detail(complaint)).content.decode()

    # when: no reason
    empty = client.post(reopen_url, {"reason": "  "})

    # then
    assert empty.status_code == 200
    assert "Say why the complaint is not resolved." in empty.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED

    # when: with a reason
    response = client.post(reopen_url, {"reason": "Still cracked."}, follow=True)

    # then
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.IN_PROGRESS
    assert complaint.reopen_count == 1
    html = response.content.decode()
    assert f"Complaint {complaint.code} was reopened." in html
    assert "Still cracked." in html
    assert reverse("portal:complaint_reply", args=[complaint.pk]) in html
    assert "A new batch was sent." not in html.split('id="thread"')[0]  # no stale resolution


def test_reopen_after_the_window_is_refused(world_a, login):
    # given: resolved 8 days ago, the tenant allows 7
    complaint = resolved_complaint(world_a)
    SupportSettings.unscoped.create(tenant=world_a.tenant, reopen_window_days=7)
    Complaint.unscoped.filter(pk=complaint.pk).update(
        resolved_at=timezone.now() - datetime.timedelta(days=8)
    )
    client = login(world_a.customer)
    reopen_url = reverse("portal:complaint_reopen", args=[complaint.pk])

    # then: the page no longer offers it
    html = client.get(detail(complaint)).content.decode()
    assert reopen_url not in html
    assert "please file a new complaint" in html

    # when: posted anyway
    before = snapshot(complaint)
    response = client.post(reopen_url, {"reason": "Still cracked."}, follow=True)

    # then
    assert "can be reopened within 7 days" in response.content.decode()
    assert snapshot(complaint) == before


def test_a_rated_complaint_is_reopened_in_the_portal_and_keeps_its_rating(world_a, login):
    # given: rated in the portal, still resolved
    complaint = resolved_complaint(world_a)
    client = login(world_a.customer)
    client.post(reverse("portal:complaint_rate", args=[complaint.pk]), {"score": "5"})
    assert Complaint.unscoped.get(pk=complaint.pk).status == ComplaintStatus.RESOLVED

    # when: the customer reopens it after all
    response = client.post(
        reverse("portal:complaint_reopen", args=[complaint.pk]),
        {"reason": "Cracked again."},
        follow=True,
    )

    # then: back to work, the rating and its timeline entry stay, no rating form again
    complaint.refresh_from_db()
    assert (complaint.status, complaint.reopen_count) == (ComplaintStatus.IN_PROGRESS, 1)
    assert SatisfactionRating.unscoped.get(complaint=complaint).score == 5
    html = response.content.decode()
    assert f"Complaint {complaint.code} was reopened." in html
    assert "Cracked again." in html
    assert "5 of 5" in html.split('id="thread"')[1]  # the "Rated" entry of the timeline

    # when: resolved again, the page shows the reopen form, not the rating form
    with tenant_context(world_a.tenant):
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="Replaced the housings."
        )
    html = client.get(detail(complaint)).content.decode()
    assert reverse("portal:complaint_reopen", args=[complaint.pk]) in html
    assert reverse("portal:complaint_rate", args=[complaint.pk]) not in html
    assert "Your rating" in html


def test_a_rated_complaint_past_its_window_offers_no_reopening(world_a, login):
    # given: rated, then its window (7 days) passed before the auto-close ran
    complaint = resolved_complaint(world_a)
    SupportSettings.unscoped.create(tenant=world_a.tenant, reopen_window_days=7)
    with tenant_context(world_a.tenant):
        services.complaint_rate(complaint=complaint, actor=world_a.customer, score=3)
    Complaint.unscoped.filter(pk=complaint.pk).update(
        resolved_at=timezone.now() - datetime.timedelta(days=8)
    )

    html = login(world_a.customer).get(detail(complaint)).content.decode()

    assert reverse("portal:complaint_reopen", args=[complaint.pk]) not in html
    assert "you can still reopen" not in html
    assert "please file a new complaint" in html


# --- isolation --------------------------------------------------------------------------


def _foreign_complaint(owner: str, world_a, world_b, *, resolved: bool):
    """A complaint `world_a.customer` must not reach, with a photo."""
    if owner == "other_tenant":
        world, user, company = world_b, world_b.customer, world_b.company
    elif owner == "other_company":
        world, user, company = world_a, world_a.other_company_user, world_a.other_company
    else:  # a colleague in the same company: hidden from a plain customer user
        world, user, company = world_a, world_a.colleague, world_a.company
    complaint = file_complaint(user, company, uploads=[png_upload()])
    if resolved:
        with tenant_context(world.tenant):
            services.complaint_reply(complaint=complaint, actor=world.agent, body="Looking.")
            complaint = services.complaint_resolve(
                complaint=complaint, actor=world.agent, resolution="Done."
            )
    return complaint, ComplaintAttachment.unscoped.get(complaint=complaint)


PORTAL_REQUESTS = [
    ("get", "complaint_detail", {}, False),
    ("post", "complaint_reply", {"body": "Hello?"}, False),
    ("post", "complaint_reopen", {"reason": "Not fixed."}, True),
    ("post", "complaint_rate", {"score": "1", "comment": "Bad"}, True),
    ("get", "complaint_attachment", {}, False),
]


@pytest.mark.parametrize("owner", ["other_tenant", "other_company", "colleague"])
@pytest.mark.parametrize(("method", "name", "data", "resolved"), PORTAL_REQUESTS)
def test_foreign_complaints_answer_404_and_change_nothing(
    world_a, world_b, login, media, owner, method, name, data, resolved
):
    # given
    complaint, attachment = _foreign_complaint(owner, world_a, world_b, resolved=resolved)
    before = snapshot(complaint)
    args = [complaint.pk, attachment.pk] if name == "complaint_attachment" else [complaint.pk]
    client = login(world_a.customer)

    # when
    response = getattr(client, method)(reverse(f"portal:{name}", args=args), data)

    # then
    assert response.status_code == 404
    assert complaint.subject not in response.content.decode()
    assert snapshot(complaint) == before


def test_lists_hide_other_companies_tenants_and_colleagues(world_a, world_b, login):
    own = file_complaint(world_a.customer, world_a.company)
    colleagues = file_complaint(world_a.colleague, world_a.company)
    other_company = file_complaint(world_a.other_company_user, world_a.other_company)
    other_tenant = file_complaint(world_b.customer, world_b.company)

    as_user = login(world_a.customer).get(reverse("portal:complaint_list"))
    assert {c.pk for c in as_user.context["complaints"]} == {own.pk}
    html = as_user.content.decode()
    # Codes are per tenant and may coincide: compare the links, which carry the ids.
    for hidden in (colleagues, other_company, other_tenant):
        assert detail(hidden) not in html


def test_the_customer_admin_sees_and_answers_a_colleagues_complaint(world_a, login, media):
    # given
    complaint = file_complaint(world_a.colleague, world_a.company, uploads=[png_upload()])
    attachment = ComplaintAttachment.unscoped.get(complaint=complaint)
    client = login(world_a.customer_admin)

    # then
    listed = client.get(reverse("portal:complaint_list")).context["complaints"]
    assert complaint in listed
    assert client.get(detail(complaint)).status_code == 200
    download = client.get(
        reverse("portal:complaint_attachment", args=[complaint.pk, attachment.pk])
    )
    assert download.status_code == 200
    response = client.post(
        reverse("portal:complaint_reply", args=[complaint.pk]), {"body": "Admin here."}
    )
    assert response.status_code == 302
    assert ComplaintMessage.unscoped.filter(complaint=complaint, body="Admin here.").exists()


def test_a_file_of_another_complaint_is_not_served_through_own_complaint(
    world_a, world_b, login, media
):
    own = file_complaint(world_a.customer, world_a.company)
    _foreign, attachment = _foreign_complaint("other_company", world_a, world_b, resolved=False)
    response = login(world_a.customer).get(
        reverse("portal:complaint_attachment", args=[own.pk, attachment.pk])
    )
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["complaint_list", "complaint_new", "complaint_detail"])
@pytest.mark.parametrize("role", ["agent", "manager", "tenant_admin"])
def test_staff_cannot_use_the_portal_complaints(world_a, login, name, role):
    complaint = file_complaint(world_a.customer, world_a.company)
    args = [] if name in ("complaint_list", "complaint_new") else [complaint.pk]
    response = login(getattr(world_a, role)).get(reverse(f"portal:{name}", args=args))
    assert response.status_code == 403


def test_anonymous_is_sent_to_login(client, world_a):
    response = client.get(reverse("portal:complaint_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", ["complaint_reply", "complaint_reopen", "complaint_rate"])
def test_actions_need_post(world_a, login, name):
    complaint = resolved_complaint(world_a)
    before = snapshot(complaint)
    response = login(world_a.customer).get(reverse(f"portal:{name}", args=[complaint.pk]))
    assert response.status_code == 405
    assert snapshot(complaint) == before


# --- filing: bad input ------------------------------------------------------------------


def _nothing_filed(world, media_root) -> bool:
    return not Complaint.unscoped.filter(tenant=world.tenant).exists() and not media_files(
        media_root
    )


def test_an_empty_description_is_a_clear_error_and_nothing_is_filed(world_a, login, media):
    response = login(world_a.customer).post(
        reverse("portal:complaint_new"),
        new_complaint_post(description="   ", files=[png_upload()]),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Describe the problem." in html
    assert "The complaint was not filed." in html
    assert "Scratched panels" in html  # what was typed is kept
    assert _nothing_filed(world_a, media)


def test_an_unknown_order_line_is_refused(world_a, login, media):
    order = delivered_order_of(world_a.company)
    response = login(world_a.customer).post(
        reverse("portal:complaint_new"),
        new_complaint_post(order_number=order.number, order_line="999999"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["order_line"] == ["Choose a line of the chosen order."]
    assert _nothing_filed(world_a, media)


def test_another_companys_order_line_is_refused(world_a, login, media):
    own_order = delivered_order_of(world_a.company)
    foreign_line = lines_of(delivered_order_of(world_a.other_company))[0]
    client = login(world_a.customer)

    # with the own order chosen
    response = client.post(
        reverse("portal:complaint_new"),
        new_complaint_post(order_number=own_order.number, order_line=foreign_line.pk),
    )
    assert response.context["form"].errors["order_line"] == ["Choose a line of the chosen order."]

    # with the line's own order (of another company) chosen
    response = client.post(
        reverse("portal:complaint_new"),
        new_complaint_post(order_number=foreign_line.order.number, order_line=foreign_line.pk),
    )
    errors = response.context["form"].errors
    assert errors["order_number"] == [
        f"Your company has no order numbered “{foreign_line.order.number}”. Check the number "
        "on your order confirmation or invoice, or leave the field empty."
    ]
    assert "order_line" in errors

    # without an order
    response = client.post(
        reverse("portal:complaint_new"), new_complaint_post(order_line=foreign_line.pk)
    )
    assert response.context["form"].errors["order_line"] == [
        "Choose the order first, then one of its lines."
    ]
    assert foreign_line.product.name not in response.content.decode()
    assert _nothing_filed(world_a, media)


def test_a_disguised_upload_is_refused_and_nothing_is_filed(world_a, login, media):
    disguised = SimpleUploadedFile(
        "invoice.pdf", b"MZ" + b"\x00" * 300, content_type="application/pdf"
    )
    response = login(world_a.customer).post(
        reverse("portal:complaint_new"), new_complaint_post(files=[disguised])
    )
    assert response.status_code == 200
    assert response.context["form"].errors["files"] == [
        "invoice.pdf is not a JPEG, PNG, WebP or PDF file."
    ]
    assert _nothing_filed(world_a, media)


def test_choosing_an_order_without_javascript_shows_its_lines(world_a, login):
    # given
    order = delivered_order_of(world_a.company)
    other_order = delivered_order_of(world_a.company)
    client = login(world_a.customer)
    page = client.get(reverse("portal:complaint_new")).content.decode()
    assert 'name="order_line"' not in page
    assert 'name="show_lines"' in page
    assert re.search(r'<input type="radio"[^>]*value="normal"[^>]*checked', page)
    assert [radio.get("value") for radio in parse(page).select("input[checked]")] == ["normal"]

    # when: "Show the order's lines"
    response = client.post(
        reverse("portal:complaint_new"),
        new_complaint_post(order_number=order.number, subject="Typed already", show_lines="1"),
    )

    # then: the form is shown again with that order's lines, nothing is filed or flagged
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="order_line"' in html
    for line in lines_of(order):
        assert line.product.name in html
    for line in lines_of(other_order):
        assert line.product.name not in html
    assert "Typed already" in html
    assert not response.context["form"].errors
    assert not Complaint.unscoped.exists()


def test_an_order_line_can_be_preselected(world_a, world_b, login):
    order = delivered_order_of(world_a.company)
    line = lines_of(order)[1]
    client = login(world_a.customer)
    new_url = reverse("portal:complaint_new")
    form = client.get(new_url, {"order_line": line.pk}).context["form"]
    assert (form.initial["order_number"], form.initial["order_line"]) == (order.number, line.pk)
    assert form.chosen_order == order
    foreign_line = lines_of(delivered_order_of(world_b.company))[0]
    form = client.get(new_url, {"order_line": foreign_line.pk}).context["form"]
    assert "order_line" not in form.initial
    assert form.chosen_order is None
    form = client.get(new_url, {"order": foreign_line.order_id}).context["form"]
    assert form.chosen_order is None
    assert "order_number" not in form.initial  # a foreign order's number is not shown either


# --- escaping ---------------------------------------------------------------------------


def test_subject_description_and_replies_are_escaped(world_a, login):
    client = login(world_a.customer)
    response = client.post(
        reverse("portal:complaint_new"), new_complaint_post(subject=XSS, description=XSS)
    )
    complaint = Complaint.unscoped.get(reporter=world_a.customer)
    assert response["Location"] == detail(complaint)
    client.post(reverse("portal:complaint_reply", args=[complaint.pk]), {"body": XSS + " reply"})

    for page in (detail(complaint), reverse("portal:complaint_list")):
        html = client.get(page).content.decode()
        assert XSS not in html
        assert XSS_ESCAPED in html
    assert complaint.subject == XSS  # stored as typed; only the output is escaped


# --- list -------------------------------------------------------------------------------


def test_list_shows_the_columns_and_filters(world_a, login):
    # given
    urgent = file_complaint(
        world_a.customer, world_a.company, priority="urgent", subject="Line stopped"
    )
    billing = file_complaint(
        world_a.customer, world_a.company, category="billing", subject="Invoice twice"
    )
    Complaint.unscoped.filter(pk=billing.pk).update(
        created_at=datetime.datetime(2025, 1, 15, 12, tzinfo=datetime.UTC)
    )
    with tenant_context(world_a.tenant):
        services.complaint_assign(complaint=urgent, actor=world_a.agent, assignee=world_a.agent)
    client = login(world_a.customer)

    def listed(**params) -> set[int]:
        response = client.get(reverse("portal:complaint_list"), params)
        assert response.status_code == 200
        return {c.pk for c in response.context["complaints"]}

    # then
    html = client.get(reverse("portal:complaint_list")).content.decode()
    # The filters offer every category, priority and status: read the table's rows.
    header, *listed_rows = table_rows(html, "table.complaints")
    table = {row[0]: dict(zip(header, row, strict=True)) for row in listed_rows}
    assert set(table) == {urgent.code, billing.code}
    assert [table[urgent.code][column] for column in ("Subject", "Category", "Priority")] == [
        "Line stopped",
        "Product quality",
        "Urgent",
    ]
    assert table[urgent.code]["Status"] == "Open"
    assert table[billing.code]["Category"] == "Billing"
    assert reverse("portal:complaint_new") in html
    assert listed(status="open") == {urgent.pk}
    assert listed(category="billing") == {billing.pk}
    assert listed(priority="urgent") == {urgent.pk}
    assert listed(created_to="2025-01-31") == {billing.pk}
    assert listed(created_from="2025-02-01") == {urgent.pk}
    assert listed(q="invoice") == {billing.pk}
    assert listed(q=urgent.code) == {urgent.pk}
    assert listed() == {urgent.pk, billing.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"created_from": "2025-13-45"}, "created_from"),
        ({"created_to": "yesterday"}, "created_to"),
        ({"status": "nonsense"}, "status"),
        ({"category": "<b>"}, "category"),
        ({"priority": "asap"}, "priority"),
        ({"q": "x" * 101}, "q"),
        ({"created_from": "2025-03-01", "created_to": "2025-02-01"}, "created_to"),
    ],
)
def test_bad_filters_are_form_errors_not_failures(world_a, login, params, field):
    complaint = file_complaint(world_a.customer, world_a.company)
    response = login(world_a.customer).get(reverse("portal:complaint_list"), params)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert 'class="field has-error"' in response.content.decode()
    assert complaint in response.context["complaints"]  # the invalid filter is ignored


def test_list_is_paginated_and_keeps_filters(world_a, login):
    for _ in range(23):
        file_complaint(world_a.customer, world_a.company)
    client = login(world_a.customer)
    first = client.get(reverse("portal:complaint_list"), {"status": "new"})
    assert len(first.context["complaints"]) == 20
    assert "status=new&amp;page=2" in first.content.decode()
    second = client.get(reverse("portal:complaint_list"), {"status": "new", "page": 2})
    assert len(second.context["complaints"]) == 3
    assert client.get(reverse("portal:complaint_list"), {"page": "x"}).status_code == 200


def test_list_query_count_does_not_grow_with_complaints(world_a, login):
    client = login(world_a.customer_admin)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("portal:complaint_list")).status_code == 200
        return len(queries.captured_queries)

    for _ in range(3):
        file_complaint(world_a.customer, world_a.company)
    few = count_queries()
    order = delivered_order_of(world_a.company)
    for index in range(12):
        complaint = file_complaint(
            world_a.colleague if index % 2 else world_a.customer_admin,
            world_a.company,
            order_id=order.pk,
            priority=["low", "normal", "high", "urgent"][index % 4],
        )
        if index % 3 == 0:
            with tenant_context(world_a.tenant):
                services.complaint_reply(complaint=complaint, actor=world_a.agent, body="Hi")
    many = count_queries()
    assert many == few


# --- what the customer is told about time -----------------------------------------------


def test_the_page_promises_the_first_answer_and_nothing_internal(world_a, login):
    complaint = file_complaint(world_a.customer, world_a.company)
    response = login(world_a.customer).get(detail(complaint))
    html = response.content.decode()
    due = timezone.localtime(complaint.first_response_due_at, timezone.get_default_timezone())
    promise = parse(html).select_one("section.sla-promise p")
    assert promise.text.startswith("We will answer by"), promise
    assert promise.select_one("strong").text == date_format(due, "DATETIME_FORMAT")
    shown = visible_text(html)
    for internal in ("SLA", "breached"):  # letters only: could be part of a CSRF token
        assert internal not in shown, excerpt(shown, internal)
    for internal in ("at risk", "on track", "resolution due"):
        assert internal not in html


def test_an_overdue_first_answer_is_not_promised_for_the_past(world_a, login):
    complaint = file_complaint(world_a.customer, world_a.company)
    Complaint.unscoped.filter(pk=complaint.pk).update(
        first_response_due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    html = login(world_a.customer).get(detail(complaint)).content.decode()
    assert "We will answer by" not in html
    assert "will answer as soon as possible" in html


def test_a_rejected_complaint_shows_the_reason_and_takes_no_replies(world_a, login):
    complaint = file_complaint(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.complaint_reject(
            complaint=complaint, actor=world_a.agent, reason="Goods were not bought from us."
        )
    client = login(world_a.customer)
    html = client.get(detail(complaint)).content.decode()
    assert "Goods were not bought from us." in html
    assert reverse("portal:complaint_reply", args=[complaint.pk]) not in html
    before = snapshot(complaint)
    response = client.post(
        reverse("portal:complaint_reply", args=[complaint.pk]), {"body": "But why?"}, follow=True
    )
    assert "No reply can be added" in response.content.decode()
    assert snapshot(complaint) == before


def test_an_empty_reply_is_a_form_error(world_a, login):
    complaint = file_complaint(world_a.customer, world_a.company)
    before = snapshot(complaint)
    response = login(world_a.customer).post(
        reverse("portal:complaint_reply", args=[complaint.pk]), {"body": ""}
    )
    assert response.status_code == 200
    assert "Write a message." in response.content.decode()
    assert snapshot(complaint) == before


# --- starting a return from a complaint -------------------------------------------------


def _walk_the_return_wizard(client, start_url: str, order) -> ReturnRequest:
    page = client.get(start_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert [o.pk for o in page.context["selected"]] == [order.pk]
    response = client.post(start_url, {"orders": [order.pk]})
    assert response.status_code == 302, summary(response)
    draft = ReturnRequest.unscoped.order_by("-pk").first()
    line = lines_of(order)[0]
    response = client.post(
        reverse("portal:return_wizard_lines", args=[draft.pk]),
        {
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "2",
            "lines-0-order_line": str(line.pk),
            "lines-0-quantity": "2",
            "lines-0-reason": "defective",
            "lines-1-order_line": str(lines_of(order)[1].pk),
            "lines-1-quantity": "0",
        },
    )
    assert response.status_code == 302, summary(response)
    response = client.post(
        reverse("portal:return_wizard_details", args=[draft.pk]),
        {"requested_resolution": "refund", "return_method": "drop_off"},
    )
    assert response.status_code == 302, summary(response)
    return draft, html


def test_a_return_started_from_a_complaint_is_linked_to_it(world_a, login):
    # given
    order = delivered_order_of(world_a.company)
    complaint = file_complaint(world_a.customer, world_a.company, order_id=order.pk)
    client = login(world_a.customer)
    start_url = f"{reverse('portal:return_new')}?order={order.pk}&complaint={complaint.pk}"

    # then: the complaint page offers the return
    html = client.get(detail(complaint)).content.decode()
    assert start_url.replace("&", "&amp;") in html
    assert "Start a return for this order" in html

    # when: the customer walks through the wizard and submits
    draft, step_one = _walk_the_return_wizard(client, start_url, order)
    assert f"linked to your complaint {complaint.code}" in step_one
    response = client.post(reverse("portal:return_wizard_review", args=[draft.pk]), follow=True)

    # then: the return is submitted and linked
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.SUBMITTED
    complaint.refresh_from_db()
    assert complaint.return_request_id == draft.pk
    assert f"is linked to complaint {complaint.code}" in response.content.decode()
    assert ComplaintEvent.unscoped.filter(complaint=complaint, action="return_linked").exists()
    html = client.get(detail(complaint)).content.decode()
    assert reverse("portal:return_detail", args=[draft.pk]) in html
    assert draft.number in html
    assert "Start a return for this order" not in html


def test_a_failed_link_is_reported_and_the_return_stays_submitted(world_a, login, monkeypatch):
    # given
    order = delivered_order_of(world_a.company)
    complaint = file_complaint(world_a.customer, world_a.company, order_id=order.pk)
    client = login(world_a.customer)
    start_url = f"{reverse('portal:return_new')}?order={order.pk}&complaint={complaint.pk}"
    draft, _html = _walk_the_return_wizard(client, start_url, order)

    def refuse(**_kwargs):
        raise ApplicationError("The complaint is locked for maintenance.")

    monkeypatch.setattr(services, "complaint_link_return", refuse)

    # when
    response = client.post(reverse("portal:return_wizard_review", args=[draft.pk]), follow=True)

    # then
    html = response.content.decode()
    assert f"could not be linked to complaint {complaint.code}" in html
    assert "locked for maintenance" in html
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.SUBMITTED
    complaint.refresh_from_db()
    assert complaint.return_request_id is None


def test_a_foreign_complaint_is_not_linked_to_a_new_return(world_a, login):
    # given: a complaint of another company, its id put in the wizard's URL
    order = delivered_order_of(world_a.company)
    foreign = file_complaint(world_a.other_company_user, world_a.other_company)
    client = login(world_a.customer)
    start_url = f"{reverse('portal:return_new')}?order={order.pk}&complaint={foreign.pk}"

    # when
    draft, step_one = _walk_the_return_wizard(client, start_url, order)
    response = client.post(reverse("portal:return_wizard_review", args=[draft.pk]), follow=True)

    # then
    assert foreign.code not in step_one
    shown = visible_text(response)
    assert "linked" not in shown, excerpt(shown, "linked")
    foreign.refresh_from_db()
    assert foreign.return_request_id is None
    assert not ComplaintEvent.unscoped.filter(complaint=foreign, action="return_linked").exists()


@pytest.mark.parametrize(
    ("category", "with_order", "offered"),
    [
        ("product_quality", True, True),
        ("delivery", True, True),
        ("billing", True, False),
        ("service", True, False),
        ("product_quality", False, False),
    ],
)
def test_a_return_is_offered_only_for_goods_of_an_order(
    world_a, login, category, with_order, offered
):
    order = delivered_order_of(world_a.company)
    complaint = file_complaint(
        world_a.customer,
        world_a.company,
        category=category,
        order_id=order.pk if with_order else None,
    )
    html = login(world_a.customer).get(detail(complaint)).content.decode()
    assert ("Start a return for this order" in html) is offered

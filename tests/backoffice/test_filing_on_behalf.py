"""Back-office: staff file a return or a complaint for a customer user of a chosen company.

The case is the customer's (their e-mail, their portal), the channel and who filed it are on
the case and its timeline, the return policy's verdict shows per line before filing and a
refusal needs an override reason; bad input and other tenants' or companies' ids file
nothing; customers and managers get 403.
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from complaints.models import Complaint, ComplaintAttachment, ComplaintEvent
from customers.cases import CaseChannel
from returns.models import (
    ReturnAttachment,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)
from rma_portal.notifications.models import Notification
from tests.complaints.conftest import exe_upload, png_upload, stored_files
from tests.factories import PASSWORD, OrderFactory, OrderLineFactory
from tests.html import visible_text
from tests.returns import conftest as returns_fixtures

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
make_order_line = returns_fixtures.make_order_line
file_return = returns_fixtures.file_return

pytestmark = pytest.mark.django_db

RETURN_URL = reverse("admin:returns_returnrequest_file")
COMPLAINT_URL = reverse("admin:complaints_complaint_file")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _for(url: str, company, customer=None, **params) -> str:
    query = f"?company={company.pk}"
    if customer is not None:
        query += f"&customer={customer.pk}"
    for name, value in params.items():
        query += f"&{name}={value}"
    return url + query


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def _text(response) -> str:
    return visible_text(response)


def _sign_in(user) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _lines(order) -> list:
    return list(order.lines.model.unscoped.filter(order=order).order_by("line_number"))


def _return_post(rows: list[dict], **details) -> dict:
    """The filing page's POST: one formset row per order line, then the details."""
    data = {
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": str(len(rows)),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
        "action": "file",
        "channel": CaseChannel.PHONE,
        "requested_resolution": "refund",
        "return_method": "drop_off",
    }
    for index, row in enumerate(rows):
        data[f"lines-{index}-order_line"] = str(row["order_line"])
        data[f"lines-{index}-quantity"] = str(row.get("quantity", 0))
        data[f"lines-{index}-reason"] = row.get("reason", "")
        data[f"lines-{index}-reason_text"] = row.get("reason_text", "")
        data[f"lines-{index}-comment"] = row.get("comment", "")
        if "files" in row:
            data[f"lines-{index}-files"] = row["files"]
    data.update(details)
    return data


def _complaint_post(**fields) -> dict:
    data = {
        "channel": CaseChannel.PHONE,
        "category": "delivery",
        "priority": "high",
        "subject": "Pallet arrived late",
        "description": "The customer called: the pallet came two weeks late.",
    }
    data.update(fields)
    return data


def _nothing_filed(world) -> None:
    assert not ReturnRequest.unscoped.filter(tenant=world.tenant).exists()
    assert not Complaint.unscoped.filter(tenant=world.tenant).exists()


# --- complaints -----------------------------------------------------------------------------


def test_agent_files_a_phone_complaint_the_customer_sees_as_their_own(world_a, login, media_root):
    client = login(world_a.agent)

    # The entry point is on the complaints' list.
    changelist = client.get(reverse("admin:complaints_complaint_changelist"))
    assert f'href="{COMPLAINT_URL}"' in changelist.content.decode()

    # Choose the company, then one of its customer users.
    page = client.get(COMPLAINT_URL)
    assert page.status_code == 200
    assert world_a.company.name in _text(page)
    page = client.get(_for(COMPLAINT_URL, world_a.company))
    users = {u.pk for u in page.context["chooser"].fields["customer"].queryset}
    assert users == {world_a.customer.pk, world_a.customer_admin.pk, world_a.colleague.pk}

    url = _for(COMPLAINT_URL, world_a.company, world_a.customer)
    page = client.get(url)
    assert page.context["form"] is not None
    response = client.post(url, _complaint_post(files=[png_upload()]), follow=True)

    complaint = Complaint.unscoped.get(tenant=world_a.tenant)
    assert response.redirect_chain == [
        (reverse("admin:complaints_complaint_change", args=[complaint.pk]), 302)
    ]
    assert _messages(response) == [
        (
            "success",
            f"Complaint {complaint.code} was filed for {world_a.customer.get_full_name()}.",
        )
    ]
    assert complaint.reporter == world_a.customer
    assert complaint.customer_account == world_a.company
    assert complaint.filed_by == world_a.agent
    assert complaint.channel == CaseChannel.PHONE
    assert complaint.priority == "high"
    assert ComplaintAttachment.unscoped.filter(complaint=complaint).count() == 1

    # The case's page shows the channel and who filed it, on the page and in the timeline.
    page = _text(response)
    assert "Phone" in page
    filed = (
        f"Filed by {world_a.agent.get_full_name()} for {world_a.customer.get_full_name()} by phone"
    )
    assert filed in page
    assert ComplaintEvent.unscoped.get(complaint=complaint, action="filed").actor == world_a.agent

    # The customer gets the normal e-mail through the outbox ...
    mail = Notification.unscoped.get(tenant=world_a.tenant, event="complaint.filed")
    assert mail.recipient == world_a.customer
    assert mail.email == world_a.customer.email

    # ... and sees the complaint in the portal as their own.
    customer = _sign_in(world_a.customer)
    listed = customer.get(reverse("portal:complaint_list"))
    assert complaint.code in listed.content.decode()
    detail = customer.get(reverse("portal:complaint_detail", args=[complaint.pk]))
    assert detail.status_code == 200
    assert "Pallet arrived late" in detail.content.decode()


def test_complaint_about_an_order_line_of_the_company(world_a, login, make_order):
    order = make_order(world_a.company)
    line = _lines(order)[1]
    client = login(world_a.coordinator)
    url = _for(COMPLAINT_URL, world_a.company, world_a.customer)

    # Without JavaScript the order's lines come with a reload that files nothing.
    page = client.post(url, _complaint_post(order=order.pk, show_lines="1"))
    assert page.status_code == 200
    assert {value for value, _label in page.context["form"].fields["order_line"].choices} >= {
        line.pk
    }
    assert not Complaint.unscoped.exists()

    response = client.post(
        url, _complaint_post(order=order.pk, order_line=line.pk, channel=CaseChannel.EMAIL)
    )
    assert response.status_code == 302
    complaint = Complaint.unscoped.get()
    assert (complaint.order, complaint.order_line, complaint.product) == (
        order,
        line,
        line.product,
    )
    assert complaint.channel == CaseChannel.EMAIL
    assert complaint.filed_by == world_a.coordinator


# --- returns --------------------------------------------------------------------------------


def test_return_lines_show_what_can_be_returned_and_the_policy_verdict(
    world_a, login, delivered_order, make_order_line, file_return
):
    first, second = _lines(delivered_order)
    # Two of the first line's five units are in another return already.
    file_return(
        world_a.colleague,
        world_a.company,
        [{"order_line_id": first.pk, "quantity": 2, "reason": "defective"}],
    )
    late = make_order_line(world_a.company, delivered_days_ago=40)
    undelivered = make_order_line(world_a.company, delivered_days_ago=None)
    all_claimed = make_order_line(world_a.company, quantity=1)
    file_return(
        world_a.colleague,
        world_a.company,
        [{"order_line_id": all_claimed.pk, "quantity": 1, "reason": "defective"}],
    )
    client = login(world_a.agent)

    page = client.get(_for(RETURN_URL, world_a.company, world_a.customer))
    rows = {row.order_line.pk: row for row in page.context["rows"]}
    # Only what can still be returned: nothing undelivered, nothing all in other returns.
    assert set(rows) == {first.pk, second.pk, late.pk}
    assert (rows[first.pk].delivered, rows[first.pk].claimed, rows[first.pk].returnable) == (
        5,
        2,
        3,
    )
    assert rows[first.pk].verdict.allowed
    assert not rows[late.pk].verdict.allowed
    assert "return window" in " ".join(rows[late.pk].verdict.refusals)
    text = _text(page)
    assert "Returnable until" in text
    assert "The return window for the category “Electronics” is 14 days" in text
    assert undelivered.order.number not in text

    # Searching by order number or SKU narrows the list.
    page = client.get(_for(RETURN_URL, world_a.company, world_a.customer, q=late.order.number))
    assert [row.order_line.pk for row in page.context["rows"]] == [late.pk]
    page = client.get(_for(RETURN_URL, world_a.company, world_a.customer, q=second.product.sku))
    assert [row.order_line.pk for row in page.context["rows"]] == [second.pk]


def test_search_keeps_the_lines_already_chosen(world_a, login, delivered_order, make_order_line):
    first, _second = _lines(delivered_order)
    other = make_order_line(world_a.company)
    client = login(world_a.agent)
    url = _for(RETURN_URL, world_a.company, world_a.customer)

    page = client.post(
        url,
        _return_post(
            [{"order_line": first.pk, "quantity": 2, "reason": "defective"}],
            action="search",
            q=other.product.sku,
            channel=CaseChannel.CHAT,
        ),
    )
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [row.order_line.pk for row in rows] == [first.pk, other.pk]
    assert rows[0].form.initial["quantity"] == 2
    assert page.context["form"].initial["channel"] == CaseChannel.CHAT
    assert not ReturnRequest.unscoped.exists()


def test_refused_line_is_filed_only_with_an_override_reason(
    world_a, login, delivered_order, make_order_line, media_root
):
    first, _second = _lines(delivered_order)
    late = make_order_line(world_a.company, delivered_days_ago=40)
    client = login(world_a.agent)
    url = _for(RETURN_URL, world_a.company, world_a.customer)
    rows = [
        {"order_line": first.pk, "quantity": 1, "reason": "defective", "files": [png_upload()]},
        {"order_line": late.pk, "quantity": 2, "reason": "wrong_size"},
    ]

    # Checking shows the verdict of what was entered and files nothing.
    page = client.post(url, _return_post(rows, action="check"))
    assert page.status_code == 200
    assert page.context["checked"] and page.context["refused"]
    assert "The return policy refuses part of this return." in _text(page)
    assert not ReturnRequest.unscoped.exists()

    # Filing without a reason: the policy's refusal, on the line and the override field.
    rows[0]["files"] = [png_upload()]
    page = client.post(url, _return_post(rows, channel=CaseChannel.EMAIL))
    assert page.status_code == 200
    assert "return window" in " ".join(page.context["page_errors"])
    assert page.context["form"].errors["override_reason"]
    late_form = page.context["formset"].forms[1]
    assert "return window" in " ".join(late_form.non_field_errors())
    assert not ReturnRequest.unscoped.exists()
    assert stored_files(media_root) == []

    # With a reason it is filed, submitted (never approved automatically) and audited.
    rows[0]["files"] = [png_upload()]
    response = client.post(
        url,
        _return_post(
            rows,
            channel=CaseChannel.EMAIL,
            override_reason="Key account: the contract allows 60 days.",
            customer_note="Called in on Monday.",
        ),
        follow=True,
    )
    rma = ReturnRequest.unscoped.get(tenant=world_a.tenant)
    assert response.redirect_chain == [
        (reverse("admin:returns_returnrequest_change", args=[rma.pk]), 302)
    ]
    assert _messages(response) == [
        (
            "success",
            f"Return {rma.number} was filed for {world_a.customer.get_full_name()} and submitted.",
        ),
        ("info", "The policy override and its reason are on the timeline."),
    ]
    assert rma.status == ReturnStatus.SUBMITTED
    assert (rma.requester, rma.customer_account) == (world_a.customer, world_a.company)
    assert (rma.filed_by, rma.channel) == (world_a.agent, CaseChannel.EMAIL)
    assert rma.customer_note == "Called in on Monday."
    assert sorted(
        ReturnLine.unscoped.filter(return_request=rma).values_list("order_line_id", "quantity")
    ) == sorted([(first.pk, 1), (late.pk, 2)])
    override = ReturnEvent.unscoped.get(return_request=rma, action="policy_overridden")
    assert not override.is_public
    assert override.note.startswith("Key account: the contract allows 60 days.")
    photo = ReturnAttachment.unscoped.get(return_request=rma)
    assert photo.line.order_line == first
    assert photo.uploaded_by == world_a.agent
    assert len(stored_files(media_root)) == 1

    page = _text(response)
    filed = (
        f"Filed by {world_a.agent.get_full_name()} for {world_a.customer.get_full_name()} by e-mail"
    )
    assert filed in page
    assert "Return policy overridden (internal)" in page

    # The customer's normal e-mail, and the return in their portal.
    mail = Notification.unscoped.get(tenant=world_a.tenant, event="return.submitted")
    assert mail.recipient == world_a.customer
    customer = _sign_in(world_a.customer)
    assert rma.number in customer.get(reverse("portal:return_list")).content.decode()
    assert customer.get(reverse("portal:return_detail", args=[rma.pk])).status_code == 200


def test_allowed_return_needs_no_override(world_a, login, delivered_order):
    first, second = _lines(delivered_order)
    client = login(world_a.tenant_admin)
    response = client.post(
        _for(RETURN_URL, world_a.company, world_a.colleague),
        _return_post(
            [
                {"order_line": first.pk, "quantity": 0},
                {"order_line": second.pk, "quantity": 3, "reason": "wrong_item"},
            ],
            channel=CaseChannel.ON_SITE,
            requested_resolution="credit_note",
        ),
    )
    assert response.status_code == 302
    rma = ReturnRequest.unscoped.get()
    assert (rma.requester, rma.filed_by, rma.channel) == (
        world_a.colleague,
        world_a.tenant_admin,
        CaseChannel.ON_SITE,
    )
    assert list(
        ReturnLine.unscoped.filter(return_request=rma).values_list("order_line_id", "quantity")
    ) == [(second.pk, 3)]
    assert not ReturnEvent.unscoped.filter(action="policy_overridden").exists()


# --- bad input ------------------------------------------------------------------------------


def test_bad_complaint_input_files_nothing(world_a, login, media_root):
    client = login(world_a.agent)
    url = _for(COMPLAINT_URL, world_a.company, world_a.customer)

    page = client.post(url, _complaint_post(channel="", subject="  ", category="nonsense"))
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert set(errors) >= {"channel", "category", "subject"}
    assert errors["channel"] == ["Choose the channel the customer reached you through."]

    # The portal's channel is the customer's own: staff cannot choose it.
    page = client.post(url, _complaint_post(channel=CaseChannel.PORTAL))
    assert "channel" in page.context["form"].errors

    # A file that is not what it claims: refused by the same checks as in the portal.
    page = client.post(url, _complaint_post(files=[png_upload(), exe_upload()]))
    assert page.status_code == 200
    assert page.context["form"].errors["files"]
    assert page.context["files_again"]
    _nothing_filed(world_a)
    assert stored_files(media_root) == []


def test_bad_return_input_files_nothing(world_a, login, delivered_order, media_root):
    first, second = _lines(delivered_order)
    client = login(world_a.agent)
    url = _for(RETURN_URL, world_a.company, world_a.customer)

    # No line chosen.
    page = client.post(url, _return_post([{"order_line": first.pk, "quantity": 0}]))
    assert "Choose at least one line to return." in page.context["page_errors"]

    # More than was delivered, a missing reason, "other" without a description.
    page = client.post(
        url,
        _return_post(
            [
                {"order_line": first.pk, "quantity": 9, "reason": "defective"},
                {"order_line": second.pk, "quantity": 1, "reason": ""},
            ]
        ),
    )
    forms = page.context["formset"].forms
    assert "only 5 were delivered" in " ".join(forms[0].errors["quantity"])
    assert forms[1].errors["reason"]
    page = client.post(
        url, _return_post([{"order_line": first.pk, "quantity": 1, "reason": "other"}])
    )
    assert page.context["formset"].forms[0].errors["reason_text"]

    # Missing details: the form says which.
    page = client.post(
        url,
        _return_post(
            [{"order_line": first.pk, "quantity": 1, "reason": "defective"}],
            channel="",
            requested_resolution="",
            return_method="courier_pickup",
        ),
    )
    assert set(page.context["form"].errors) >= {"channel", "requested_resolution"}
    page = client.post(
        url,
        _return_post(
            [{"order_line": first.pk, "quantity": 1, "reason": "defective"}],
            return_method="courier_pickup",
        ),
    )
    assert page.context["form"].errors["pickup_date"] == ["Choose a pickup date."]

    # A photo that is an executable: refused before anything is written.
    page = client.post(
        url,
        _return_post(
            [
                {
                    "order_line": first.pk,
                    "quantity": 1,
                    "reason": "defective",
                    "files": [png_upload(), exe_upload("photo.jpg")],
                }
            ]
        ),
    )
    assert "photo.jpg was not accepted" in " ".join(
        page.context["formset"].forms[0].errors["files"]
    )
    assert page.context["files_again"]

    # An override reason never passes quantities beyond what can still be returned.
    page = client.post(
        url,
        _return_post(
            [{"order_line": first.pk, "quantity": 6, "reason": "defective"}],
            override_reason="Please",
        ),
    )
    assert page.context["formset"].forms[0].errors
    _nothing_filed(world_a)
    assert stored_files(media_root) == []


# --- isolation ------------------------------------------------------------------------------


def test_another_tenants_or_companys_ids_file_nothing(
    world_a, world_b, login, delivered_order, make_order
):
    foreign_order = make_order(world_b.company)
    foreign_line = _lines(foreign_order)[0]
    other_company_order = OrderFactory(
        tenant=world_a.tenant,
        customer_account=world_a.other_company,
        order_date=datetime.date.today() - datetime.timedelta(days=4),
        delivery_date=datetime.date.today() - datetime.timedelta(days=3),
    )
    other_company_line = OrderLineFactory(
        tenant=world_a.tenant, order=other_company_order, line_number=1
    )
    client = login(world_a.agent)

    for url in (RETURN_URL, COMPLAINT_URL):
        # Another tenant's company is not a choice, nor are its users or another company's.
        page = client.get(_for(url, world_b.company))
        assert page.context["chooser"].errors["company"]
        assert world_b.company.name not in _text(page)
        for stranger in (world_b.customer, world_a.other_company_user, world_a.agent):
            page = client.get(_for(url, world_a.company, stranger))
            assert page.context["chooser"].errors["customer"], (url, stranger)
            assert "form" not in page.context
        # Posting with them files nothing either.
        for company, user in (
            (world_b.company, world_b.customer),
            (world_a.company, world_a.other_company_user),
            (world_a.company, world_b.customer),
        ):
            response = client.post(_for(url, company, user), _complaint_post(), follow=True)
            assert response.status_code == 200
            assert ("error", "Choose the company and the customer user first.") in _messages(
                response
            )

    # Order lines of another tenant or another company are unknown on this page.
    url = _for(RETURN_URL, world_a.company, world_a.customer)
    for line in (foreign_line, other_company_line):
        page = client.post(
            url,
            _return_post([{"order_line": line.pk, "quantity": 1, "reason": "defective"}]),
        )
        assert page.status_code == 200
        assert page.context["formset"].forms[0].non_field_errors()
        assert line.order.number not in _text(page)

    # Orders and lines of a complaint: the company's only.
    url = _for(COMPLAINT_URL, world_a.company, world_a.customer)
    for order, line in (
        (foreign_order, foreign_line),
        (other_company_order, other_company_line),
    ):
        page = client.post(url, _complaint_post(order=order.pk, order_line=line.pk))
        assert page.status_code == 200
        assert page.context["form"].errors
    _nothing_filed(world_a)
    _nothing_filed(world_b)


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["customer", "customer_admin", "manager"], ids=["customer", "customer-admin", "manager"]
)
def test_customers_and_managers_get_403(world_a, login, delivered_order, who):
    first, _second = _lines(delivered_order)
    client = login(getattr(world_a, who))
    for url, data in (
        (
            _for(RETURN_URL, world_a.company, world_a.customer),
            _return_post([{"order_line": first.pk, "quantity": 1, "reason": "defective"}]),
        ),
        (_for(COMPLAINT_URL, world_a.company, world_a.customer), _complaint_post()),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, data).status_code == 403
    _nothing_filed(world_a)


def test_managers_see_no_filing_button_and_strangers_sign_in_first(world_a, login, client):
    for url in (RETURN_URL, COMPLAINT_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]
    login(world_a.manager)
    for name in ("returns_returnrequest", "complaints_complaint"):
        page = client.get(reverse(f"admin:{name}_changelist"))
        assert page.status_code == 200
        assert 'id="file-for-customer"' not in page.content.decode()


def test_platform_superuser_files_nothing(superuser, client):
    client.force_login(superuser)
    assert client.get(RETURN_URL).status_code == 403
    assert client.get(COMPLAINT_URL).status_code == 403


def test_the_changelists_offer_filing_to_agents(world_a, login):
    client = login(world_a.agent)
    page = client.get(reverse("admin:returns_returnrequest_changelist"))
    assert f'href="{RETURN_URL}"' in page.content.decode()
    assert "File a return for a customer" in _text(page)


# --- the shared filing service --------------------------------------------------------------


def test_the_filing_service_stores_photos_per_line_or_none_at_all(
    world_a, in_tenant, delivered_order, media_root
):
    """The API and the back-office file through one service: photos per line pass the
    portal's upload checks before anything is written, and are stored with the return."""
    from returns import services
    from rma_portal.files.uploads import UploadRejected

    first, second = _lines(delivered_order)
    lines = [
        services.LineInput(order_line_id=first.pk, quantity=1, reason="defective"),
        services.LineInput(order_line_id=second.pk, quantity=2, reason="wrong_item"),
    ]
    arguments = {
        "actor": world_a.agent,
        "customer_id": world_a.customer.pk,
        "channel": CaseChannel.CHAT,
        "lines": lines,
        "requested_resolution": "refund",
        "return_method": "drop_off",
        "submit": True,
    }
    with in_tenant(world_a.tenant):
        with pytest.raises(UploadRejected) as refused:
            services.return_request_file_for_customer(
                **arguments, line_uploads=[[], [png_upload(), exe_upload("scan.pdf")]]
            )
        assert list(refused.value.fields) == ["lines[1].files"]
        with pytest.raises(services.ReturnInvalid) as too_many:
            services.return_request_file_for_customer(
                **arguments, line_uploads=[[], [], [png_upload()]]
            )
        assert list(too_many.value.fields) == ["files"]
        _nothing_filed(world_a)
        assert stored_files(media_root) == []

        rma = services.return_request_file_for_customer(
            **arguments,
            line_uploads=[[], [png_upload("a.png"), png_upload("b.png")]],
            uploads=[png_upload("all.png")],
        )
    stored = ReturnAttachment.unscoped.filter(return_request=rma).order_by("pk")
    assert [(a.original_name, a.line.order_line_id if a.line else None) for a in stored] == [
        ("a.png", second.pk),
        ("b.png", second.pk),
        ("all.png", None),
    ]
    assert ReturnEvent.unscoped.filter(return_request=rma, action="attachment").count() == 3
    assert rma.status == ReturnStatus.SUBMITTED
    assert len(stored_files(media_root)) == 3

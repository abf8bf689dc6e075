"""Back-office for returns: queues, transition buttons, bulk approval, attachment downloads
and the policy editor, for every role and across tenants."""

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
    CategoryWindow,
    ReturnEvent,
    ReturnLine,
    ReturnPolicy,
    ReturnRequest,
    ReturnStatus,
)
from returns.selectors import return_request_detail, return_rules_for, tenant_today
from rma_portal.tenancy.context import tenant_context
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    ProductCategoryFactory,
    ProductFactory,
)
from tests.html import parse

pytestmark = pytest.mark.django_db

BUTTONS = ["approve", "request_info", "reject", "receive", "close", "cancel"]


def _url(name: str, *args) -> str:
    return reverse(f"admin:returns_returnrequest_{name}", args=args)


def _policy_url(name: str, *args) -> str:
    return reverse(f"admin:returns_returnpolicy_{name}", args=args)


def _post(client, url: str, data: dict | None = None):
    """POST and follow the redirect, so the messages are shown (and consumed) right away."""
    return client.post(url, data or {}, follow=True)


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def _levels(response) -> list[str]:
    return [level for level, _text in _messages(response)]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return buffer.getvalue()


def _reload(return_request: ReturnRequest) -> ReturnRequest:
    return ReturnRequest.unscoped.get(pk=return_request.pk)


def _event_count(return_request: ReturnRequest) -> int:
    return ReturnEvent.unscoped.filter(return_request=return_request).count()


def _attach(world, return_request) -> object:
    with tenant_context(world.tenant):
        return services.return_attachment_add(
            return_request=return_request,
            actor=world.customer,
            upload=SimpleUploadedFile("damage.png", _png(), content_type="image/png"),
        )


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def order_lines(delivered_order):
    return list(OrderLine.unscoped.filter(order=delivered_order).order_by("line_number"))


@pytest.fixture
def file_one(world_a, order_lines, file_return):
    """A one-unit return of line 1 (submitted unless told otherwise)."""

    def _file(*, submit=True, line=0):
        return file_return(
            world_a.customer,
            world_a.company,
            [{"order_line_id": order_lines[line].pk, "quantity": 1, "reason": "defective"}],
            submit=submit,
        )

    return _file


@pytest.fixture
def two_line_return(world_a, order_lines, file_return):
    """Line 1: two units at 100, defective; line 2: four units at 20, wrong size."""
    return file_return(
        world_a.customer,
        world_a.company,
        [
            {"order_line_id": order_lines[0].pk, "quantity": 2, "reason": "defective"},
            {"order_line_id": order_lines[1].pk, "quantity": 4, "reason": "wrong_size"},
        ],
        resolution="credit_note",
    )


@pytest.fixture
def foreign_return(world_b, file_return):
    """A submitted return of tenant B, with a photo (tenant B has no policy: defaults)."""
    tenant = world_b.tenant
    order = OrderFactory(
        tenant=tenant,
        customer_account=world_b.company,
        delivery_date=tenant_today(tenant) - datetime.timedelta(days=2),
    )
    line = OrderLineFactory(tenant=tenant, order=order, line_number=1, quantity=3)
    return_request = file_return(
        world_b.customer,
        world_b.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    attachment = _attach(world_b, return_request)
    return return_request, attachment


# --- queues and the list --------------------------------------------------------------------


def _listed(client, query: str = "") -> list[int]:
    response = client.get(_url("changelist") + query)
    assert response.status_code == 200
    return sorted(obj.pk for obj in response.context["cl"].result_list)


def test_queues_show_the_right_returns_and_never_another_tenants(
    world_a, world_b, file_one, foreign_return, login
):
    # given: one new, one approved and one draft return in tenant A; a new one in tenant B
    new = file_one()
    approved = file_one()
    draft = file_one(submit=False)
    with tenant_context(world_a.tenant):
        services.return_request_approve(return_request=approved, actor=world_a.agent)
    foreign, _attachment = foreign_return
    client = login(world_a.agent)

    # then
    assert _listed(client) == sorted([new.pk, approved.pk, draft.pk])
    assert _listed(client, "?queue=new") == [new.pk]
    assert _listed(client, "?queue=awaiting_goods") == [approved.pk]
    assert _listed(client, "?queue=awaiting_inspection") == []
    assert _listed(client, "?queue=unassigned") == sorted([new.pk, approved.pk])
    assert _listed(client, "?queue=mine") == []
    assert _listed(client, "?status__exact=submitted") == [new.pk]
    assert _listed(client, f"?q={world_b.company.name}") == []
    assert _listed(client, f"?q={new.number}") == [new.pk]  # numbers repeat across tenants
    assert foreign.pk not in _listed(client, f"?q={foreign.number}")

    # when the agent takes the new one
    client.post(_url("assign", new.pk), {"assignee": world_a.agent.pk})

    # then it moves from "unassigned" to "mine", and the tabs count it
    assert _listed(client, "?queue=mine") == [new.pk]
    assert _listed(client, "?queue=unassigned") == [approved.pk]
    tabs = {
        str(tab["label"]): tab["count"] for tab in client.get(_url("changelist")).context["queues"]
    }
    assert tabs["New (submitted)"] == 1
    assert tabs["Mine (open)"] == 1
    assert tabs["All"] == 3  # tenant B's return is not counted
    # the coordinator's "mine" is empty
    coordinator = Client()
    coordinator.force_login(world_a.coordinator)
    assert _listed(coordinator, "?queue=mine") == []


def test_search_finds_returns_by_order_number_and_customer(
    world_a, file_one, delivered_order, login
):
    rma = file_one()
    client = login(world_a.agent)
    assert _listed(client, f"?q={delivered_order.number}") == [rma.pk]
    assert _listed(client, f"?q={world_a.company.number}") == [rma.pk]
    assert _listed(client, "?q=no-such-thing") == []


def test_changelist_query_count_does_not_grow_with_rows(world_a, file_return, order_lines, login):
    def file(count: int) -> None:
        for index in range(count):
            rma = file_return(
                world_a.customer,
                world_a.company,
                [
                    {"order_line_id": order_lines[0].pk, "quantity": 1, "reason": "defective"},
                    {"order_line_id": order_lines[1].pk, "quantity": 1, "reason": "wrong_size"},
                ],
                submit=False,
            )
            assignee = world_a.agent if index % 2 else world_a.coordinator
            ReturnRequest.unscoped.filter(pk=rma.pk).update(assignee=assignee)

    client = login(world_a.agent)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_url("changelist"))
        assert response.status_code == 200
        return len(queries)

    file(3)
    with_three = count_queries()
    file(12)
    with_fifteen = count_queries()
    assert with_fifteen == with_three

    response = client.get(_url("changelist"))
    assert len(response.context["cl"].result_list) == 15
    assert {obj.lines_count for obj in response.context["cl"].result_list} == {2}


# --- buttons ----------------------------------------------------------------------------------


def _action_names(response) -> set[str]:
    return {action["name"] for action in response.context["return_actions"]}


def test_agent_takes_a_return_through_every_button(world_a, two_line_return, login):
    rma = two_line_return
    client = login(world_a.agent)

    # submitted: approve, ask, reject or cancel
    page = client.get(_url("change", rma.pk))
    assert page.status_code == 200
    assert _action_names(page) == {"approve", "request-info", "reject", "cancel"}
    assert b'id="return-actions"' in page.content

    response = _post(client, _url("approve", rma.pk), {"note": "Send it back, please."})
    assert response.redirect_chain == [(_url("change", rma.pk), 302)]
    assert _messages(response) == [("success", f"Return {rma.number} approved.")]
    assert _reload(rma).status == ReturnStatus.APPROVED

    page = client.get(_url("change", rma.pk))
    assert _action_names(page) == {"receive", "cancel"}
    client.post(_url("receive", rma.pk))
    assert _reload(rma).status == ReturnStatus.RECEIVED

    # inspect: one row per line, accepted quantity defaults to the quantity returned
    page = client.get(_url("change", rma.pk))
    assert _action_names(page) == {"inspect"}
    page = client.get(_url("inspect", rma.pk))
    assert page.status_code == 200
    lines = list(ReturnLine.unscoped.filter(return_request=rma).order_by("pk"))
    assert [f["accepted_quantity"].value() for f in page.context["line_forms"]] == [2, 4]
    first, second = (f"line-{line.pk}" for line in lines)
    response = client.post(
        _url("inspect", rma.pk),
        {
            f"{first}-condition": "damaged",
            f"{first}-disposition": "scrap",
            f"{first}-accepted_quantity": "2",
            f"{second}-condition": "unopened",
            f"{second}-disposition": "restock",
            f"{second}-accepted_quantity": "3",
            f"{second}-note": "One piece missing.",
            "inspection-note": "Checked at gate 2.",
        },
    )
    assert response.status_code == 302
    assert _reload(rma).status == ReturnStatus.INSPECTED
    lines = list(ReturnLine.unscoped.filter(return_request=rma).order_by("pk"))
    assert [(x.condition, x.disposition, x.accepted_quantity) for x in lines] == [
        ("damaged", "scrap", 2),
        ("unopened", "restock", 3),
    ]
    assert lines[1].inspection_note == "One piece missing."

    # resolve: the amounts are shown before confirming
    page = client.get(_url("resolve", rma.pk))
    assert page.status_code == 200
    line_forms = page.context["line_forms"]
    assert [f["resolution"].value() for f in line_forms] == ["credit_note"] * 2  # as requested
    totals = page.context["totals"]
    assert (totals["accepted_value"], totals["fee"], totals["amount"]) == (
        Decimal("260.00"),
        Decimal("6.00"),
        Decimal("254.00"),
    )
    assert [(f.proposal.accepted_value, f.proposal.fee, f.proposal.amount) for f in line_forms] == [
        (Decimal("200.00"), Decimal("0.00"), Decimal("200.00")),
        (Decimal("60.00"), Decimal("6.00"), Decimal("54.00")),
    ]
    assert parse(page).select_one("#settlement-total").text == "254.00"

    # the proposal as shown, confirmed
    proposed = {
        f"{form.prefix}-{name}": value
        for form in line_forms
        for name, value in form.initial.items()
        if value is not None
    }
    response = client.post(
        _url("resolve", rma.pk),
        {**proposed, "credit_note_number": "KOR/2026/1", "note": "Thanks."},
    )
    assert response.status_code == 302
    resolved = _reload(rma)
    assert resolved.status == ReturnStatus.RESOLVED
    assert (resolved.accepted_value, resolved.restocking_fee, resolved.refund_total) == (
        Decimal("260.00"),
        Decimal("6.00"),
        Decimal("254.00"),
    )
    assert resolved.credit_note_number == "KOR/2026/1"

    page = client.get(_url("change", rma.pk))
    # the ERP's credit note may still be recorded by hand, before and after closing
    assert _action_names(page) == {"close", "confirm-document"}
    client.post(_url("close", rma.pk))
    assert _reload(rma).status == ReturnStatus.CLOSED
    assert _action_names(client.get(_url("change", rma.pk))) == {"confirm-document"}

    # the customer sees every step on their timeline
    with tenant_context(world_a.tenant):
        public = return_request_detail(return_request=rma, public_only=True).events.all()
        steps = [(event.action, event.actor) for event in public]
    assert steps[-5:] == [
        ("approved", world_a.agent),
        ("received", world_a.agent),
        ("inspected", world_a.agent),
        ("resolved", world_a.agent),
        ("closed", world_a.agent),
    ]
    # and the staff's conversation on the change page lists them in the order they happened
    conversation = client.get(_url("change", rma.pk)).context["conversation"]
    steps = [entry.title for entry in conversation if entry.kind == "event"]
    assert steps == [
        "Created",
        "Submitted",
        "Approved",
        "Goods received",
        "Inspected",
        "Resolved",
        "Closed",
    ]


def test_resolve_form_errors_come_from_the_service_and_change_nothing(
    world_a, two_line_return, login
):
    rma = two_line_return
    with tenant_context(world_a.tenant):
        rma = services.return_request_approve(return_request=rma, actor=world_a.agent)
        rma = services.return_request_mark_received(return_request=rma, actor=world_a.agent)
        lines = {line.pk: line for line in rma.lines.all()}
        services.return_request_inspect(
            return_request=rma,
            actor=world_a.agent,
            results={pk: services.InspectionInput("opened", "restock", 1) for pk in lines},
        )
    client = login(world_a.agent)
    first, second = (f"line-{pk}" for pk in sorted(lines))
    # 1 of 2 units at 100 accepted: paying 150 needs a reason
    response = client.post(
        _url("resolve", rma.pk),
        {
            f"{first}-resolution": "credit_note",
            f"{first}-amount": "150.00",
            f"{second}-resolution": "repair",
        },
    )
    assert response.status_code == 200
    line_form = response.context["line_forms"][0]
    assert line_form.errors["amount"]
    assert [level for level, _text in _messages(response)] == ["error"]
    assert "give a reason to pay more" in _messages(response)[0][1]
    assert _reload(rma).status == ReturnStatus.INSPECTED


def test_inspection_rejects_too_many_accepted_units(world_a, two_line_return, login):
    rma = two_line_return
    with tenant_context(world_a.tenant):
        services.return_request_approve(return_request=rma, actor=world_a.agent)
        services.return_request_mark_received(return_request=rma, actor=world_a.agent)
    client = login(world_a.agent)
    data = {}
    for line in ReturnLine.unscoped.filter(return_request=rma):
        data.update(
            {
                f"line-{line.pk}-condition": "opened",
                f"line-{line.pk}-disposition": "restock",
                f"line-{line.pk}-accepted_quantity": str(line.quantity + 1),
            }
        )
    response = client.post(_url("inspect", rma.pk), data)
    assert response.status_code == 200
    assert all(f.errors.get("accepted_quantity") for f in response.context["line_forms"])
    assert _reload(rma).status == ReturnStatus.RECEIVED
    assert (
        ReturnLine.unscoped.filter(return_request=rma, accepted_quantity__isnull=False).count() == 0
    )


def test_request_info_and_reject_need_their_text(world_a, file_one, login):
    rma = file_one()
    client = login(world_a.agent)
    events = _event_count(rma)

    response = _post(client, _url("reject", rma.pk), {"reason": "  "})
    assert response.redirect_chain == [(_url("change", rma.pk), 302)]
    assert _messages(response) == [("error", "A rejection needs a reason the customer can read.")]
    response = _post(client, _url("request_info", rma.pk), {"question": ""})
    assert _levels(response) == ["error"]
    assert _reload(rma).status == ReturnStatus.SUBMITTED
    assert _event_count(rma) == events

    client.post(_url("request_info", rma.pk), {"question": "Which serial number?"})
    asked = _reload(rma)
    assert (asked.status, asked.info_request) == (ReturnStatus.NEEDS_INFO, "Which serial number?")
    client.post(_url("reject", rma.pk), {"reason": "Outside the contract."})
    rejected = _reload(rma)
    assert (rejected.status, rejected.rejection_reason) == (
        ReturnStatus.REJECTED,
        "Outside the contract.",
    )
    assert ReturnEvent.unscoped.filter(
        return_request=rma, action="rejected", is_public=True
    ).exists()


def test_a_button_the_state_does_not_allow_shows_an_error_and_changes_nothing(
    world_a, file_one, login
):
    rma = file_one()
    with tenant_context(world_a.tenant):
        services.return_request_approve(return_request=rma, actor=world_a.agent)
    client = login(world_a.agent)
    events = _event_count(rma)

    for name in ("approve", "reject", "request_info", "close"):
        response = _post(client, _url(name, rma.pk), {"reason": "x", "question": "x"})
        assert response.redirect_chain == [(_url("change", rma.pk), 302)], name
        assert _levels(response) == ["error"], name
    # the form pages send the user back too
    for name in ("inspect", "resolve"):
        response = client.get(_url(name, rma.pk), follow=True)
        assert response.redirect_chain == [(_url("change", rma.pk), 302)], name
        assert _levels(response) == ["error"], name
        response = _post(client, _url(name, rma.pk), {"resolution": "refund"})
        assert _levels(response) == ["error"], name
    assert _reload(rma).status == ReturnStatus.APPROVED
    assert _event_count(rma) == events


def test_state_changes_are_post_only_and_csrf_protected(world_a, file_one):
    rma = file_one()
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.agent)
    assert client.get(_url("approve", rma.pk)).status_code == 405
    assert client.post(_url("approve", rma.pk)).status_code == 403  # no CSRF token
    assert _reload(rma).status == ReturnStatus.SUBMITTED


def test_assign_and_messages(world_a, world_b, file_one, login):
    rma = file_one()
    client = login(world_a.agent)
    page = client.get(_url("change", rma.pk))
    choices = {str(pk) for pk, _label in page.context["assign_form"].fields["assignee"].choices}
    assert str(world_a.coordinator.pk) in choices
    assert str(world_a.customer.pk) not in choices
    assert str(world_b.agent.pk) not in choices
    assert page.context["assign_to_me"]

    _post(client, _url("assign", rma.pk), {"assignee": world_a.agent.pk})
    assert _reload(rma).assignee == world_a.agent
    _post(client, _url("assign", rma.pk), {"assignee": world_a.coordinator.pk})
    assert _reload(rma).assignee == world_a.coordinator
    for stranger in (world_a.customer, world_b.agent):
        response = _post(client, _url("assign", rma.pk), {"assignee": stranger.pk})
        assert _levels(response) == ["error"]
        assert _reload(rma).assignee == world_a.coordinator
    _post(client, _url("assign", rma.pk), {"assignee": ""})
    assert _reload(rma).assignee is None
    assigned = ReturnEvent.unscoped.filter(return_request=rma, action="assigned")
    assert assigned.count() == 3
    assert not assigned.filter(is_public=True).exists()

    response = _post(
        client, _url("comment", rma.pk), {"note": "Photos look fine.", "visibility": "internal"}
    )
    assert _messages(response) == [("success", "Internal note added.")]
    _post(client, _url("comment", rma.pk), {"note": "We are on it.", "visibility": "public"})
    response = _post(client, _url("comment", rma.pk), {"note": " ", "visibility": "public"})
    assert _messages(response) == [("error", "Write a message.")]
    comments = ReturnEvent.unscoped.filter(return_request=rma, action="comment").order_by("pk")
    assert [(c.note, c.is_public) for c in comments] == [
        ("Photos look fine.", False),
        ("We are on it.", True),
    ]

    client.post(_url("cancel", rma.pk), {"note": "Customer called."})
    assert _reload(rma).status == ReturnStatus.CANCELLED
    page = client.get(_url("change", rma.pk))
    assert page.context["assign_form"] is None
    assert _action_names(page) == set()


def test_manager_sees_the_return_read_only_and_cannot_act(world_a, file_one, login):
    rma = file_one()
    attachment = _attach(world_a, rma)
    client = login(world_a.manager)
    events = _event_count(rma)

    page = client.get(_url("change", rma.pk))
    assert page.status_code == 200
    assert page.context["return_actions"] == []
    assert page.context["comment_form"] is None
    assert b'id="return-actions"' not in page.content
    assert b'id="return-message"' not in page.content
    for name in [*BUTTONS, "assign", "comment", "inspect", "resolve"]:
        response = client.post(
            _url(name, rma.pk), {"note": "x", "reason": "x", "question": "x", "assignee": ""}
        )
        assert response.status_code == 403, name
    assert client.get(_url("inspect", rma.pk)).status_code == 403
    # the ordinary change form never saves, whoever posts it
    assert client.post(_url("change", rma.pk), {"status": "approved"}).status_code == 403
    assert _reload(rma).status == ReturnStatus.SUBMITTED
    assert _event_count(rma) == events
    # reading the files is part of reading the return
    assert client.get(_url("attachment", rma.pk, attachment.pk)).status_code == 200


def test_status_is_never_editable_in_the_form(world_a, file_one, login):
    rma = file_one()
    client = login(world_a.tenant_admin)
    page = client.get(_url("change", rma.pk))
    assert "status" not in page.context["adminform"].form.fields
    assert client.post(_url("change", rma.pk), {"status": "approved"}).status_code == 403
    assert client.get(_url("add")).status_code == 403
    assert client.post(_url("delete", rma.pk), {"post": "yes"}).status_code == 403
    assert _reload(rma).status == ReturnStatus.SUBMITTED


def test_another_tenants_return_is_404_everywhere_and_unchanged(
    world_a, file_one, foreign_return, login
):
    foreign, attachment = foreign_return
    own = file_one()
    events = _event_count(foreign)
    client = login(world_a.agent)

    assert client.get(_url("change", foreign.pk)).status_code == 404
    for name in [*BUTTONS, "assign", "comment", "inspect", "resolve"]:
        response = client.post(
            _url(name, foreign.pk),
            {"note": "x", "reason": "x", "question": "x", "assignee": world_a.agent.pk},
        )
        assert response.status_code == 404, name
    for name in ("inspect", "resolve"):
        assert client.get(_url(name, foreign.pk)).status_code == 404
    assert client.get(_url("attachment", foreign.pk, attachment.pk)).status_code == 404
    # a foreign attachment id under an own return id
    assert client.get(_url("attachment", own.pk, attachment.pk)).status_code == 404
    assert client.get(_url("attachment", "nonsense", attachment.pk)).status_code == 404

    unchanged = _reload(foreign)
    assert (unchanged.status, unchanged.assignee_id) == (ReturnStatus.SUBMITTED, None)
    assert _event_count(foreign) == events


def test_staff_download_attachments_of_their_tenant(world_a, file_one, login):
    rma = file_one()
    attachment = _attach(world_a, rma)
    client = login(world_a.agent)
    page = client.get(_url("change", rma.pk))
    link = _url("attachment", rma.pk, attachment.pk)
    assert link in page.content.decode()

    response = client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


# --- bulk approval --------------------------------------------------------------------------


def test_bulk_approve_approves_submitted_and_skips_the_rest(world_a, file_one, login):
    first, second = file_one(), file_one()
    already = file_one()
    draft = file_one(submit=False)
    with tenant_context(world_a.tenant):
        services.return_request_approve(return_request=already, actor=world_a.agent)
    client = login(world_a.agent)

    response = _post(
        client,
        _url("changelist"),
        {
            "action": "approve_selected",
            "_selected_action": [first.pk, second.pk, already.pk, draft.pk],
        },
    )
    assert response.redirect_chain == [(_url("changelist"), 302)]
    assert {_reload(r).status for r in (first, second, already)} == {ReturnStatus.APPROVED}
    assert _reload(draft).status == ReturnStatus.DRAFT
    notes = dict(_messages(response))
    assert notes["success"] == f"2 returns approved: {first.number}, {second.number}."
    assert notes["warning"].startswith("2 returns skipped:")
    assert f"{already.number}: it is approved" in notes["warning"]
    assert f"{draft.number}: it is draft" in notes["warning"]
    assert ReturnEvent.unscoped.filter(return_request=already, action="approved").count() == 1


def test_bulk_approve_is_not_offered_to_managers(world_a, file_one, login):
    rma = file_one()
    client = login(world_a.manager)
    page = client.get(_url("changelist"))
    assert page.context["action_form"] is None or "approve_selected" not in str(
        page.context["action_form"]
    )
    client.post(_url("changelist"), {"action": "approve_selected", "_selected_action": [rma.pk]})
    assert _reload(rma).status == ReturnStatus.SUBMITTED


# --- the return policy ----------------------------------------------------------------------


def _policy_data(policy, **overrides) -> dict:
    """What the change form posts for the fixture policy (its one workwear window kept)."""
    window = CategoryWindow.unscoped.get(policy=policy)
    data = {
        "conditions_text": "Goods must be complete.",
        "default_window_days": "14",
        "restocking_fee_percent": "10",
        "free_shipping_reasons": ["damaged_in_transport", "defective", "wrong_item"],
        "allowed_reasons": ["defective", "wrong_size", "other"],
        "allowed_resolutions": ["refund", "credit_note"],
        "auto_approve_enabled": "false",
        "auto_approve_reasons": ["defective"],
        "auto_approve_max_value": "1000",
        "category_windows-TOTAL_FORMS": "1",
        "category_windows-INITIAL_FORMS": "1",
        "category_windows-MIN_NUM_FORMS": "0",
        "category_windows-MAX_NUM_FORMS": "1000",
        "category_windows-0-id": str(window.pk),
        "category_windows-0-policy": str(policy.pk),
        "category_windows-0-category": str(window.category_id),
        "category_windows-0-days": "30",
    }
    data.update(overrides)
    return data


def test_tenant_admin_edits_reasons_with_checkboxes_and_windows_inline(world_a, policy_a, login):
    client = login(world_a.tenant_admin)
    page = client.get(_policy_url("change", policy_a.pk))
    assert page.status_code == 200
    form = page.context["adminform"].form
    # nothing stored yet: the boxes show what the engine applies today
    assert form["allowed_reasons"].value() == [
        "damaged_in_transport",
        "defective",
        "wrong_item",
        "not_as_described",
        "wrong_size",
        "ordered_by_mistake",
        "late_delivery",
        "other",
    ]
    assert 'type="checkbox" name="allowed_reasons"' in page.content.decode()

    electronics = ProductCategoryFactory(tenant=world_a.tenant, code="electronics")
    response = client.post(
        _policy_url("change", policy_a.pk),
        _policy_data(
            policy_a,
            **{
                "allowed_reasons": ["wrong_size", "defective"],
                "category_windows-TOTAL_FORMS": "2",
                "category_windows-0-days": "45",
                "category_windows-1-policy": str(policy_a.pk),
                "category_windows-1-category": str(electronics.pk),
                "category_windows-1-days": "10",
            },
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    policy = ReturnPolicy.unscoped.get(pk=policy_a.pk)
    assert policy.allowed_reasons == ["defective", "wrong_size"]  # stored in the enum's order
    assert policy.allowed_resolutions == ["refund", "credit_note"]
    windows = CategoryWindow.unscoped.filter(policy=policy)
    assert {(w.category.code, w.days, w.tenant_id) for w in windows} == {
        ("workwear", 45, world_a.tenant.pk),
        ("electronics", 10, world_a.tenant.pk),
    }
    with tenant_context(world_a.tenant):
        rules = return_rules_for(customer_account=world_a.company)
    assert rules.allowed_reasons == ("defective", "wrong_size")
    assert rules.window_days("electronics") == 10


def test_tenant_policy_needs_at_least_one_reason_and_one_window_per_category(
    world_a, policy_a, login
):
    client = login(world_a.tenant_admin)
    response = client.post(
        _policy_url("change", policy_a.pk), _policy_data(policy_a, allowed_reasons=[])
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["allowed_reasons"]

    window = CategoryWindow.unscoped.get(policy=policy_a)
    response = client.post(
        _policy_url("change", policy_a.pk),
        _policy_data(
            policy_a,
            **{
                "category_windows-TOTAL_FORMS": "2",
                "category_windows-1-policy": str(policy_a.pk),
                "category_windows-1-category": str(window.category_id),
                "category_windows-1-days": "5",
            },
        ),
    )
    assert response.status_code == 200
    assert any(f.errors for f in response.context["inline_admin_formsets"][0].formset.forms)

    policy = ReturnPolicy.unscoped.get(pk=policy_a.pk)
    assert policy.allowed_reasons is None
    assert CategoryWindow.unscoped.filter(policy=policy_a).count() == 1


def test_customer_override_inherits_what_it_leaves_empty(world_a, policy_a, login):
    client = login(world_a.tenant_admin)
    page = client.get(_policy_url("add"))
    assert page.context["adminform"].form["allowed_reasons"].value() in (None, [])
    base = {
        "conditions_text": "",
        "default_window_days": "",
        "restocking_fee_percent": "",
        "auto_approve_enabled": "unknown",
        "auto_approve_max_value": "",
        "category_windows-TOTAL_FORMS": "0",
        "category_windows-INITIAL_FORMS": "0",
    }
    # a second tenant policy is a form error
    response = client.post(_policy_url("add"), {**base, "allowed_reasons": ["defective"]})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["customer_account"]

    response = client.post(
        _policy_url("add"),
        {**base, "customer_account": world_a.company.pk, "allowed_resolutions": ["repair"]},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    override = ReturnPolicy.unscoped.get(customer_account=world_a.company)
    assert override.tenant == world_a.tenant
    assert override.allowed_reasons is None
    assert override.free_shipping_reasons is None
    assert override.allowed_resolutions == ["repair"]
    with tenant_context(world_a.tenant):
        rules = return_rules_for(customer_account=world_a.company)
    assert rules.allowed_resolutions == ("repair",)
    assert rules.restocking_fee_percent == Decimal("10")  # inherited


def test_policy_form_offers_only_own_tenants_categories(world_a, world_b, policy_a, login):
    foreign_category = ProductCategoryFactory(tenant=world_b.tenant, code="tools")
    ProductFactory(tenant=world_b.tenant, category=foreign_category)
    client = login(world_a.tenant_admin)
    response = client.post(
        _policy_url("change", policy_a.pk),
        _policy_data(
            policy_a,
            **{
                "non_returnable_categories": [foreign_category.pk],
                "category_windows-0-category": str(foreign_category.pk),
            },
        ),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["non_returnable_categories"]
    with tenant_context(world_a.tenant):
        assert not ReturnPolicy.objects.get(pk=policy_a.pk).non_returnable_categories.exists()


def test_agent_reads_the_policy_but_cannot_change_it(world_a, policy_a, login):
    client = login(world_a.agent)
    page = client.get(_policy_url("change", policy_a.pk))
    assert page.status_code == 200
    assert 'type="checkbox"' not in page.content.decode()
    response = client.post(
        _policy_url("change", policy_a.pk), _policy_data(policy_a, allowed_reasons=["other"])
    )
    assert response.status_code == 403
    assert client.get(_policy_url("add")).status_code == 403
    assert ReturnPolicy.unscoped.get(pk=policy_a.pk).allowed_reasons is None


def test_another_tenants_policy_is_404(world_a, world_b, policy_a, login):
    foreign = ReturnPolicy.unscoped.create(tenant=world_b.tenant, default_window_days=7)
    client = login(world_a.tenant_admin)
    assert client.get(_policy_url("change", foreign.pk)).status_code == 404
    response = client.post(_policy_url("change", foreign.pk), {"default_window_days": "99"})
    assert response.status_code == 404
    assert ReturnPolicy.unscoped.get(pk=foreign.pk).default_window_days == 7
    listed = client.get(_policy_url("changelist")).context["cl"].result_list
    assert [p.pk for p in listed] == [policy_a.pk]


def test_tenant_admin_keeps_the_lists_and_the_sending_days_on_the_policy(
    world_a, world_b, policy_a, login
):
    client = login(world_a.tenant_admin)
    page = client.get(_policy_url("change", policy_a.pk))
    assert "customer_listing" not in page.context["adminform"].form.fields  # tenant policy
    saw = ProductFactory(tenant=world_a.tenant, sku="SAW-9")
    mug = ProductFactory(tenant=world_a.tenant, sku="MUG-1")
    foreign = ProductFactory(tenant=world_b.tenant, sku="SAW-9")

    refused = [
        # not returnable and always returnable at once
        {"non_returnable_products": [mug.pk], "always_returnable_products": [mug.pk]},
        # another tenant's product
        {"review_products": [foreign.pk]},
        # the reminder after the goods are due
        {"ship_reminder_days": "30", "ship_within_days": "30"},
    ]
    for overrides in refused:
        response = client.post(
            _policy_url("change", policy_a.pk), _policy_data(policy_a, **overrides)
        )
        assert response.status_code == 200, overrides
        assert response.context["adminform"].form.errors, overrides
    with tenant_context(world_a.tenant):
        policy = ReturnPolicy.objects.get(pk=policy_a.pk)
        assert not policy.always_returnable_products.exists()
        assert not policy.review_products.exists()
        assert (policy.ship_reminder_days, policy.ship_within_days) == (None, None)

    response = client.post(
        _policy_url("change", policy_a.pk),
        _policy_data(
            policy_a,
            always_returnable_products=[mug.pk],
            review_products=[saw.pk],
            ship_reminder_days="5",
            ship_within_days="21",
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    with tenant_context(world_a.tenant):
        rules = return_rules_for(customer_account=world_a.company)
    assert (rules.always_returnable_skus, rules.review_skus) == ({"MUG-1"}, {"SAW-9"})
    assert (rules.ship_reminder_days, rules.ship_within_days) == (5, 21)


def test_a_customers_override_lists_the_customer(world_a, policy_a, login):
    client = login(world_a.tenant_admin)
    response = client.post(
        _policy_url("add"),
        {
            "customer_account": world_a.company.pk,
            "customer_listing": "refuse",
            "conditions_text": "",
            "auto_approve_enabled": "unknown",
            "category_windows-TOTAL_FORMS": "0",
            "category_windows-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    with tenant_context(world_a.tenant):
        assert return_rules_for(customer_account=world_a.company).customer_listing == "refuse"
        assert return_rules_for(customer_account=world_a.other_company).customer_listing == ""

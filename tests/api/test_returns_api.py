"""Returns through the API: isolation of every endpoint, roles, bad input, files, a full flow,
and query counts that do not grow with rows."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import OrderLine
from returns import services
from returns.models import (
    ReturnAttachment,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)
from rma_portal.tenancy.context import tenant_context
from tests.returns import conftest as returns_fixtures

from . import api_as, assert_error, assert_not_found, delivered_line, png_bytes

pytestmark = pytest.mark.django_db

# The service tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return
return_state = returns_fixtures.return_state

URL = "/api/v1/returns/"


def detail_url(return_request, suffix: str = "") -> str:
    return f"{URL}{return_request.pk}/{suffix}"


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def lines(delivered_order):
    """Line 1: electronics 5 × 100; line 2: workwear 10 × 20 (tenant A, company A)."""
    return list(OrderLine.unscoped.filter(order=delivered_order).order_by("line_number"))


def attach_png(return_request, actor):
    with tenant_context(return_request.tenant):
        return services.return_attachment_add(
            return_request=return_request,
            actor=actor,
            upload=SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png"),
        )


@pytest.fixture
def returns_with_files(world_a, world_b, lines, file_return, media):
    """Submitted returns, each with a photo: company A's customer's (own), company A's other
    company's, and tenant B's."""

    def filed(world_customer, company, order_line):
        return_request = file_return(
            world_customer,
            company,
            [{"order_line_id": order_line.pk, "quantity": 1, "reason": "defective"}],
        )
        attachment = attach_png(return_request, world_customer)
        return return_request, attachment

    return {
        "own": filed(world_a.customer, world_a.company, lines[0]),
        "other_company": filed(
            world_a.other_company_user,
            world_a.other_company,
            delivered_line(world_a.other_company),
        ),
        "other_tenant": filed(world_b.customer, world_b.company, delivered_line(world_b.company)),
    }


# --- isolation ----------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "", None),
    ("post", "submit/", {}),
    ("post", "cancel/", {"note": "no longer needed"}),
    ("post", "provide-info/", {"answer": "It was pallet 3."}),
    ("post", "approve/", {}),
    ("post", "reject/", {"reason": "Not bought from us."}),
    ("post", "request-info/", {"question": "Which pallet?"}),
    ("post", "receive/", {}),
    ("post", "inspect/", {"lines": [], "note": ""}),
    ("post", "resolve/", {"resolution": "refund"}),
    ("upload", "attachments/", None),
    ("download", "attachments/{attachment}/", None),
]

# (who asks, whose return): none of these may see or touch the return.
FOREIGN = [
    ("agent", "other_tenant"),
    ("customer_admin", "other_tenant"),
    ("customer_admin", "other_company"),
    ("colleague", "own"),  # a plain customer user does not see a colleague's return
]


def call(client, method: str, url: str, body):
    if method in ("get", "download"):
        return client.get(url)
    if method == "upload":
        upload = SimpleUploadedFile("more.png", png_bytes(), content_type="image/png")
        return client.post(url, {"file": upload}, format="multipart")
    return client.post(url, body, format="json")


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
@pytest.mark.parametrize(("actor", "target"), FOREIGN)
def test_foreign_returns_answer_404_on_every_endpoint_and_change_nothing(
    world_a, returns_with_files, media, method, suffix, body, actor, target
):
    # given
    return_request, attachment = returns_with_files[target]
    before = return_state(return_request)
    files_before = stored_files(media)
    url = detail_url(return_request, suffix.format(attachment=attachment.pk))
    # when
    response = call(api_as(getattr(world_a, actor)), method, url, body)
    # then
    assert_not_found(response)
    assert return_state(return_request) == before
    assert stored_files(media) == files_before


def test_an_attachment_of_another_return_is_not_reachable_through_ones_own(
    world_a, returns_with_files
):
    own, _own_attachment = returns_with_files["own"]
    _other, other_attachment = returns_with_files["other_company"]

    response = api_as(world_a.customer).get(detail_url(own, f"attachments/{other_attachment.pk}/"))

    assert_not_found(response)


def test_customer_admin_sees_a_colleagues_return_and_its_files(world_a, returns_with_files):
    return_request, attachment = returns_with_files["own"]
    client = api_as(world_a.customer_admin)

    detail = client.get(detail_url(return_request))
    download = client.get(detail_url(return_request, f"attachments/{attachment.pk}/"))

    assert detail.status_code == 200
    assert detail.json()["number"] == return_request.number
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")


def test_list_shows_each_user_what_they_may_see(world_a, world_b, returns_with_files):
    own = returns_with_files["own"][0]
    other_company = returns_with_files["other_company"][0]

    def numbers(user):
        response = api_as(user).get(URL)
        assert response.status_code == 200
        return {row["number"] for row in response.json()["results"]}

    assert numbers(world_a.customer) == {own.number}
    assert numbers(world_a.colleague) == set()
    assert numbers(world_a.customer_admin) == {own.number}  # a colleague's, same company
    assert numbers(world_a.agent) == {own.number, other_company.number}
    assert numbers(world_b.agent) == {returns_with_files["other_tenant"][0].number}


# --- roles --------------------------------------------------------------------------------


def test_role_matrix_for_approval(world_a, lines, file_return):
    # given a submitted return
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    url = detail_url(return_request, "approve/")
    events = ReturnEvent.unscoped.filter(return_request=return_request)
    count = events.count()

    # the customer may not approve their own return, nor may a manager (read-only staff)
    assert_error(api_as(world_a.customer).post(url, {}, format="json"), 403, "forbidden")
    assert_error(api_as(world_a.manager).post(url, {}, format="json"), 403, "forbidden")
    assert ReturnRequest.unscoped.get(pk=return_request.pk).status == ReturnStatus.SUBMITTED
    assert events.count() == count

    # an agent may
    approved = api_as(world_a.agent).post(url, {"note": "OK"}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert approved.json()["status_label"] == "Approved"

    # approving twice is a conflict, in the error shape
    error = assert_error(api_as(world_a.coordinator).post(url, {}, format="json"), 409, "conflict")
    assert return_request.number in error["message"]
    assert events.count() == count + 1


def test_managers_cannot_file_returns_and_agents_name_the_customer(world_a, lines):
    payload = {
        "lines": [{"order_line": lines[0].pk, "quantity": 1, "reason": "defective"}],
        "requested_resolution": "refund",
        "return_method": "drop_off",
    }
    assert_error(api_as(world_a.manager).post(URL, payload, format="json"), 403, "forbidden")
    # agents file for a customer user (tests/api/test_file_on_behalf.py), never for nobody
    error = assert_error(api_as(world_a.agent).post(URL, payload, format="json"), 400, "invalid")
    assert "on_behalf_of" in error["fields"]
    assert not ReturnRequest.unscoped.exists()


# --- create and bad input -----------------------------------------------------------------


def test_customer_creates_a_draft_with_lines(world_a, lines):
    payload = {
        "lines": [
            {"order_line": lines[0].pk, "quantity": 2, "reason": "defective", "comment": "Dead"},
            {
                "order_line": lines[1].pk,
                "quantity": 3,
                "reason": "other",
                "reason_text": "Wrong colour",
            },
        ],
        "requested_resolution": "refund",
        "return_method": "drop_off",
        "customer_note": "Please hurry.",
    }

    response = api_as(world_a.customer).post(URL, payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["number"] is None  # given on submission
    assert body["requested_value"] == "260.00"  # 2 × 100 + 3 × 20
    assert body["currency"] == "PLN"
    assert body["policy"] is None  # snapshotted only on submission
    assert [(line["order_line"]["id"], line["quantity"]) for line in body["lines"]] == [
        (lines[0].pk, 2),
        (lines[1].pk, 3),
    ]
    assert body["lines"][0]["product"]["sku"] == lines[0].product.sku
    assert body["lines"][1]["reason_label"] == "Other"
    assert body["customer_note"] == "Please hurry."
    stored = ReturnRequest.unscoped.get(pk=body["id"])
    assert stored.requester == world_a.customer
    assert stored.customer_account == world_a.company


def valid_payload(order_line_id: int, **changes) -> dict:
    line = {"order_line": order_line_id, "quantity": 1, "reason": "defective"}
    line.update(changes.pop("line", {}))
    payload = {
        "lines": [line],
        "requested_resolution": "refund",
        "return_method": "drop_off",
    }
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("zero quantity", "lines[0].quantity"),
        ("negative quantity", "lines[0].quantity"),
        ("more than delivered", "lines[0].quantity"),
        ("unknown order line", "lines[0].order_line"),
        ("another company's order line", "lines[0].order_line"),
        ("another tenant's order line", "lines[0].order_line"),
        ("no lines", "lines"),
        ("lines missing", "lines"),
        ("lines not a list", "lines"),
        ("resolution missing", "requested_resolution"),
        ("unknown reason", "lines[0].reason"),
        ("other without text", "lines[0].reason_text"),
        ("pickup without date", "pickup_date"),
    ],
)
def test_bad_input_answers_400_with_fields_and_saves_nothing(
    world_a, world_b, lines, case, field, file_return
):
    # given
    own = lines[0].pk
    payloads = {
        "zero quantity": lambda: valid_payload(own, line={"quantity": 0}),
        "negative quantity": lambda: valid_payload(own, line={"quantity": -2}),
        "more than delivered": lambda: valid_payload(own, line={"quantity": 6}),
        "unknown order line": lambda: valid_payload(99_999_999),
        "another company's order line": lambda: valid_payload(
            delivered_line(world_a.other_company).pk
        ),
        "another tenant's order line": lambda: valid_payload(delivered_line(world_b.company).pk),
        "no lines": lambda: valid_payload(own, lines=[]),
        "lines missing": lambda: {k: v for k, v in valid_payload(own).items() if k != "lines"},
        "lines not a list": lambda: valid_payload(own, lines="all of them"),
        "resolution missing": lambda: {
            k: v for k, v in valid_payload(own).items() if k != "requested_resolution"
        },
        "unknown reason": lambda: valid_payload(own, line={"reason": "bored"}),
        "other without text": lambda: valid_payload(own, line={"reason": "other"}),
        "pickup without date": lambda: valid_payload(
            own, return_method="courier_pickup", pickup_address="ul. Prosta 2"
        ),
    }
    payload = payloads[case]()
    # when
    response = api_as(world_a.customer).post(URL, payload, format="json")
    # then
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    assert error["fields"][field][0]
    assert not ReturnRequest.unscoped.exists()
    assert not ReturnEvent.unscoped.exists()


def test_create_and_submit_at_once(world_a, lines):
    payload = valid_payload(lines[0].pk, submit=True)

    response = api_as(world_a.customer).post(URL, payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["policy"]["restocking_fee_percent"] == "10.00"
    assert body["policy"]["conditions_text"] == "Goods must be complete."
    assert [event["action"] for event in body["events"]] == ["created", "submitted"]


def test_a_submission_the_policy_refuses_leaves_no_draft_behind(world_a, lines, file_return):
    # given all five units of line 1 are already held by a submitted return
    file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 5, "reason": "defective"}],
    )
    # when
    response = api_as(world_a.customer).post(
        URL, valid_payload(lines[0].pk, submit=True), format="json"
    )
    # then
    error = assert_error(response, 400, "policy_refused")
    assert error["fields"]["lines[0]"]
    assert ReturnRequest.unscoped.count() == 1


# --- transitions --------------------------------------------------------------------------


def test_full_flow_through_the_api(world_a, lines):
    customer, agent = api_as(world_a.customer), api_as(world_a.agent)

    # the customer files and submits
    created = customer.post(
        URL,
        {
            "lines": [
                {"order_line": lines[0].pk, "quantity": 2, "reason": "defective"},
                {"order_line": lines[1].pk, "quantity": 4, "reason": "wrong_size"},
            ],
            "requested_resolution": "credit_note",
            "return_method": "drop_off",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    url = detail_url(ReturnRequest.unscoped.get(pk=created.json()["id"]))
    submitted = customer.post(url + "submit/", format="json")
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["requested_value"] == "280.00"

    # the agent approves, receives, inspects and resolves
    assert agent.post(url + "approve/", format="json").json()["status"] == "approved"
    assert agent.post(url + "receive/", {"note": "Pallet 3"}, format="json").status_code == 200
    return_lines = {line["order_line"]["id"]: line["id"] for line in submitted.json()["lines"]}
    inspected = agent.post(
        url + "inspect/",
        {
            "lines": [
                {
                    "id": return_lines[lines[0].pk],
                    "condition": "damaged",
                    "disposition": "scrap",
                    "accepted_quantity": 2,
                },
                {
                    "id": return_lines[lines[1].pk],
                    "condition": "unopened",
                    "disposition": "restock",
                    "accepted_quantity": 3,
                    "note": "One missing",
                },
            ],
            "note": "Checked by Ann",
        },
        format="json",
    )
    assert inspected.status_code == 200, inspected.content
    assert inspected.json()["status"] == "inspected"
    resolved = agent.post(
        url + "resolve/",
        {"resolution": "credit_note", "credit_note_number": "KOR/2026/1"},
        format="json",
    )
    assert resolved.status_code == 200, resolved.content

    # then the money: 2 × 100 (defect, no fee) + 3 × 20 = 60 less 10 % fee (6)
    body = customer.get(url).json()
    assert body["status"] == "resolved"
    assert body["resolution"] == "credit_note"
    assert body["resolution_label"] == "Credit note"
    assert body["credit_note_number"] == "KOR/2026/1"
    assert body["accepted_value"] == "260.00"
    assert body["restocking_fee"] == "6.00"
    assert body["refund_total"] == "254.00"
    assert [line["refund_amount"] for line in body["lines"]] == ["200.00", "54.00"]
    assert [line["accepted_quantity"] for line in body["lines"]] == [2, 3]
    assert [event["action"] for event in body["events"]] == [
        "created",
        "submitted",
        "approved",
        "received",
        "inspected",
        "resolved",
    ]


def test_question_answer_and_rejection(world_a, lines, file_return):
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    url = detail_url(return_request)
    customer, agent = api_as(world_a.customer), api_as(world_a.agent)

    # a question needs text
    error = assert_error(agent.post(url + "request-info/", {"question": " "}), 400, "invalid")
    assert "question" in error["fields"]
    asked = agent.post(url + "request-info/", {"question": "Which pallet?"}, format="json")
    assert asked.json()["status"] == "needs_info"
    assert asked.json()["info_request"] == "Which pallet?"

    # the answer is required
    error = assert_error(customer.post(url + "provide-info/", {}, format="json"), 400, "invalid")
    assert "answer" in error["fields"]
    answered = customer.post(url + "provide-info/", {"answer": "Pallet 3"}, format="json")
    assert answered.json()["status"] == "submitted"

    # a rejection needs a reason the customer can read
    error = assert_error(agent.post(url + "reject/", {"reason": ""}, format="json"), 400, "invalid")
    assert "reason" in error["fields"]
    rejected = agent.post(url + "reject/", {"reason": "Outside the contract."}, format="json")
    assert rejected.json()["status"] == "rejected"
    assert customer.get(url).json()["rejection_reason"] == "Outside the contract."

    # and a rejected return cannot be cancelled any more
    assert_error(customer.post(url + "cancel/", {}, format="json"), 409, "conflict")


def test_refused_inspection_and_resolution_change_nothing(world_a, lines, file_return):
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 2, "reason": "defective"}],
    )
    agent = api_as(world_a.agent)
    url = detail_url(return_request)
    agent.post(url + "approve/", format="json")
    agent.post(url + "receive/", format="json")
    line_id = ReturnLine.unscoped.get(return_request=return_request).pk
    before = return_state(return_request)

    too_many = {"id": line_id, "condition": "used", "disposition": "scrap", "accepted_quantity": 3}
    assert_error(agent.post(url + "inspect/", {"lines": [too_many]}, format="json"), 400, "invalid")
    assert_error(agent.post(url + "inspect/", {"lines": []}, format="json"), 400, "invalid")
    assert_error(agent.post(url + "resolve/", {"resolution": "refund"}), 409, "conflict")
    assert return_state(return_request) == before


def test_customers_see_public_events_only(world_a, lines, file_return):
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    with tenant_context(world_a.tenant):
        services.return_request_assign(
            return_request=return_request, actor=world_a.coordinator, assignee=world_a.agent
        )

    as_customer = api_as(world_a.customer).get(detail_url(return_request)).json()
    as_agent = api_as(world_a.agent).get(detail_url(return_request)).json()

    assert "assigned" not in [event["action"] for event in as_customer["events"]]
    assert "assigned" in [event["action"] for event in as_agent["events"]]


# --- files --------------------------------------------------------------------------------


def test_upload_and_download_a_photo(world_a, lines, file_return, media):
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    line_id = ReturnLine.unscoped.get(return_request=return_request).pk
    client = api_as(world_a.customer)
    upload = SimpleUploadedFile("../../etc/broken.png", png_bytes(), content_type="image/png")

    response = client.post(
        detail_url(return_request, "attachments/"),
        {"file": upload, "line": line_id},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == "broken.png"
    assert body["content_type"] == "image/png"
    assert body["line"] == line_id
    assert body["download_url"].endswith(detail_url(return_request, f"attachments/{body['id']}/"))
    download = client.get(body["download_url"], HTTP_ACCEPT="image/png")
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")
    detail = client.get(detail_url(return_request)).json()
    assert [a["id"] for a in detail["attachments"]] == [body["id"]]


def test_a_disguised_executable_is_refused_and_nothing_is_stored(
    world_a, lines, file_return, media
):
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    before = return_state(return_request)
    executable = SimpleUploadedFile(
        "photo.jpg", b"MZ\x90\x00\x03" + b"\x00" * 200, content_type="image/jpeg"
    )

    response = api_as(world_a.customer).post(
        detail_url(return_request, "attachments/"), {"file": executable}, format="multipart"
    )

    assert_error(response, 400, "invalid_upload")
    assert return_state(return_request) == before
    assert not ReturnAttachment.unscoped.exists()
    assert stored_files(media) == []


def test_a_file_for_a_line_of_another_return_is_refused(world_a, lines, file_return, media):
    first = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    second = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[1].pk, "quantity": 1, "reason": "defective"}],
    )
    other_line = ReturnLine.unscoped.get(return_request=second).pk
    upload = SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")

    response = api_as(world_a.customer).post(
        detail_url(first, "attachments/"), {"file": upload, "line": other_line}, format="multipart"
    )

    assert "line" in assert_error(response, 400, "invalid")["fields"]
    assert stored_files(media) == []


# --- list filters ---------------------------------------------------------------------------


def test_list_filters(world_a, lines, file_return):
    submitted = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[1].pk, "quantity": 1, "reason": "defective"}],
        submit=False,
    )
    # Both filed at a fixed moment, late in the tenant's day (its date differs from UTC's):
    # the date filters read dates in the tenant's time zone, whatever the clock says now.
    filed_at = datetime.datetime(2026, 3, 10, 23, 30, tzinfo=ZoneInfo(world_a.tenant.timezone))
    ReturnRequest.unscoped.filter(pk__in=[submitted.pk, draft.pk]).update(created_at=filed_at)
    client = api_as(world_a.customer_admin)

    def numbers(**params):
        """(id, RMA number) of each return listed; a draft's number is null."""
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        return [(row["id"], row["number"]) for row in response.json()["results"]]

    assert numbers(status="draft") == [(draft.pk, None)]
    assert numbers(search=submitted.number[-6:]) == [(submitted.pk, submitted.number)]
    assert set(numbers(order=lines[0].order.number)) == {
        (submitted.pk, submitted.number),
        (draft.pk, None),
    }
    assert numbers(order="NO-SUCH-ORDER") == []
    assert len(numbers(created_from="2026-03-10", created_to="2026-03-10")) == 2
    assert numbers(created_from="2026-03-11", created_to="2026-03-11") == []
    assert numbers(created_from="2026-03-09", created_to="2026-03-09") == []
    assert numbers(created_from="2001-01-01", created_to="2001-01-31") == []
    assert len(numbers(page_size=1)) == 1

    assert "status" in assert_error(client.get(URL, {"status": "lost"}), 400, "invalid")["fields"]
    assert (
        "created_from"
        in (assert_error(client.get(URL, {"created_from": "yesterday"}), 400, "invalid")["fields"])
    )
    assert (
        "created_to"
        in (
            assert_error(
                client.get(URL, {"created_from": "2026-02-01", "created_to": "2026-01-01"}),
                400,
                "invalid",
            )["fields"]
        )
    )


# --- query counts ---------------------------------------------------------------------------


def count_list_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("who", ["customer_admin", "agent"])
def test_list_query_count_does_not_grow_with_rows(world_a, lines, file_return, who):
    client = api_as(getattr(world_a, who))

    def file(count):
        for index in range(count):
            file_return(
                world_a.customer if index % 2 else world_a.colleague,
                world_a.company,
                [{"order_line_id": lines[index % 2].pk, "quantity": 1, "reason": "defective"}],
                submit=False,
            )

    file(3)
    with_three, rows = count_list_queries(client)
    assert rows == 3
    file(12)
    with_fifteen, rows = count_list_queries(client)
    assert rows == 15
    assert with_fifteen == with_three

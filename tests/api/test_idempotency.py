"""`Idempotency-Key` on POST: a retry replays the first answer, another body with the key is
refused, a second request while the first runs is refused at once, failures keep nothing; and
201 answers say where the new object is (Location)."""

from __future__ import annotations

import datetime
import json
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from complaints.models import Complaint, ComplaintMessage
from customers.models import OrderLine
from returns import services
from returns.models import ReturnAttachment, ReturnEvent, ReturnRequest, ReturnStatus
from rma_portal.credentials.models import IdempotencyRecord
from rma_portal.credentials.services import sweep_idempotency_records
from rma_portal.tenancy.context import tenant_context
from tests.concurrency import HANG_GUARD
from tests.returns import conftest as returns_fixtures

from . import api_as, api_with_key, assert_error, personal_token, png_bytes
from .test_api_keys import new_key, with_key

pytestmark = pytest.mark.django_db

policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

RETURNS_URL = "/api/v1/returns/"
COMPLAINTS_URL = "/api/v1/complaints/"


@pytest.fixture
def lines(delivered_order):
    return list(OrderLine.unscoped.filter(order=delivered_order).order_by("line_number"))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def return_payload(line, quantity: int = 1) -> dict:
    return {
        "lines": [{"order_line": line.pk, "quantity": quantity, "reason": "defective"}],
        "requested_resolution": "refund",
        "return_method": "drop_off",
    }


def post(client, url, body, key, **extra):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


# --- replay ---------------------------------------------------------------------------------


def test_a_retry_gets_the_first_answer_and_creates_nothing_more(world_a, lines):
    client = api_as(world_a.customer)

    first = post(client, RETURNS_URL, return_payload(lines[0]), "order-4711-return")
    retry = post(client, RETURNS_URL, return_payload(lines[0]), "order-4711-return")

    assert first.status_code == retry.status_code == 201, first.content
    assert retry.content == first.content
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert ReturnRequest.unscoped.count() == 1
    # another key is another request
    other = post(client, RETURNS_URL, return_payload(lines[1]), "order-4711-return-2")
    assert other.status_code == 201 and ReturnRequest.unscoped.count() == 2


def test_the_same_json_in_another_key_order_is_the_same_request(world_a, lines):
    client = api_as(world_a.customer)
    payload = return_payload(lines[0])
    reordered = {key: payload[key] for key in reversed(list(payload))}

    first = client.post(
        RETURNS_URL,
        json.dumps(payload),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    retry = client.post(
        RETURNS_URL,
        json.dumps(reordered),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert first.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert ReturnRequest.unscoped.count() == 1


def test_another_request_with_a_used_key_is_refused_with_422(world_a, lines):
    client = api_as(world_a.customer)
    post(client, RETURNS_URL, return_payload(lines[0]), "k-2")

    changed_body = post(client, RETURNS_URL, return_payload(lines[0], quantity=2), "k-2")
    changed_path = post(client, f"{RETURNS_URL}?x=1", return_payload(lines[0]), "k-2")

    assert_error(changed_body, 422, "idempotency_key_reused")
    assert_error(changed_path, 422, "idempotency_key_reused")
    assert ReturnRequest.unscoped.count() == 1


def test_keys_belong_to_whoever_sent_them(world_a, world_b, lines):
    post(api_as(world_a.customer), RETURNS_URL, return_payload(lines[0]), "shared-key")

    colleague = post(api_as(world_a.colleague), RETURNS_URL, return_payload(lines[1]), "shared-key")

    assert colleague.status_code == 201 and not colleague.has_header("Idempotent-Replayed")
    assert ReturnRequest.unscoped.count() == 2
    assert IdempotencyRecord.unscoped.filter(key="shared-key").count() == 2


def test_a_transition_retried_is_not_a_conflict(world_a, lines, file_return):
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    url = f"{RETURNS_URL}{return_request.pk}/approve/"
    agent = api_as(world_a.agent)
    events = ReturnEvent.unscoped.filter(return_request=return_request)
    count = events.count()

    first = post(agent, url, {"note": "OK"}, "approve-1")
    retry = post(agent, url, {"note": "OK"}, "approve-1")

    assert first.status_code == retry.status_code == 200, first.content
    assert retry.content == first.content and retry["ETag"] == first["ETag"]
    assert retry["Idempotent-Replayed"] == "true"
    assert events.count() == count + 1
    assert ReturnRequest.unscoped.get(pk=return_request.pk).status == ReturnStatus.APPROVED
    # without the key a second approval is what it is: a conflict
    assert_error(agent.post(url, {}, format="json"), 409, "conflict")


def test_an_api_key_has_its_own_keys(world_a, lines, file_return):
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
    )
    url = f"{RETURNS_URL}{return_request.pk}/approve/"
    api_key, secret = new_key(world_a, scopes=["returns:read", "returns:write"])

    post(with_key(secret), url, {}, "approve-2")
    by_agent = post(api_as(world_a.agent), url, {}, "approve-2")

    assert not by_agent.has_header("Idempotent-Replayed")
    principals = set(IdempotencyRecord.unscoped.values_list("principal", flat=True))
    assert principals == {f"api_key:{api_key.pk}", f"user:{world_a.agent.pk}"}


def test_bad_input_is_answered_the_same_again_and_changes_nothing(world_a, lines):
    client = api_as(world_a.customer)
    bad = return_payload(lines[0], quantity=0)

    first = post(client, RETURNS_URL, bad, "k-3")
    retry = post(client, RETURNS_URL, bad, "k-3")

    assert_error(first, 400, "invalid")
    assert retry.status_code == 400 and retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    assert not ReturnRequest.unscoped.exists()
    assert IdempotencyRecord.unscoped.get(key="k-3").status_code == 400


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "zażółć"])
def test_a_malformed_key_is_refused(world_a, lines, key):
    response = api_as(world_a.customer).post(
        RETURNS_URL, return_payload(lines[0]), format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert "Idempotency-Key" in assert_error(response, 400, "invalid")["fields"]
    assert not ReturnRequest.unscoped.exists() and not IdempotencyRecord.unscoped.exists()


def test_malformed_json_is_a_parse_error_and_claims_nothing(world_a):
    response = api_as(world_a.customer).post(
        RETURNS_URL, data="{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-4"
    )

    assert_error(response, 400, "parse_error")
    assert not IdempotencyRecord.unscoped.exists()


def test_a_failure_keeps_nothing_and_the_retry_runs(world_a, lines, monkeypatch):
    client = api_as(world_a.customer)
    client.raise_request_exception = False
    real = services.return_request_create

    def broken(**kwargs):
        real(**kwargs)  # written, then lost with the failure
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "return_request_create", broken)
    failed = post(client, RETURNS_URL, return_payload(lines[0]), "k-5")
    assert failed.status_code == 500
    assert not ReturnRequest.unscoped.exists() and not IdempotencyRecord.unscoped.exists()

    monkeypatch.setattr(services, "return_request_create", real)
    retry = post(client, RETURNS_URL, return_payload(lines[0]), "k-5")
    assert retry.status_code == 201 and not retry.has_header("Idempotent-Replayed")
    assert ReturnRequest.unscoped.count() == 1


def test_an_expired_key_is_a_new_key_and_the_sweep_deletes_expired_records(world_a, world_b, lines):
    client = api_as(world_a.customer)
    post(client, RETURNS_URL, return_payload(lines[0]), "k-6")
    IdempotencyRecord.unscoped.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    again = post(client, RETURNS_URL, return_payload(lines[0]), "k-6")

    assert again.status_code == 201 and not again.has_header("Idempotent-Replayed")
    assert ReturnRequest.unscoped.count() == 2
    record = IdempotencyRecord.unscoped.get()
    assert record.expires_at - record.created_at == datetime.timedelta(hours=24)
    with tenant_context(world_b.tenant):
        IdempotencyRecord.objects.create(
            principal="user:1",
            key="theirs",
            request_hash="0" * 64,
            method="POST",
            path="/x/",
            expires_at=record.expires_at + datetime.timedelta(seconds=1),
        )
    assert sweep_idempotency_records(now=record.expires_at) == 0
    assert list(IdempotencyRecord.unscoped.values_list("key", flat=True)) == ["theirs"]


def test_an_uploaded_file_is_part_of_the_request(world_a, media):
    with tenant_context(world_a.tenant):
        complaint = _complaint(world_a)
    client = api_as(world_a.customer)
    url = f"{COMPLAINTS_URL}{complaint.pk}/attachments/"

    def upload(content: bytes):
        photo = SimpleUploadedFile("photo.png", content, content_type="image/png")
        return client.post(url, {"file": photo}, format="multipart", HTTP_IDEMPOTENCY_KEY="up-1")

    first = upload(png_bytes())
    retry = upload(png_bytes())
    other = upload(png_bytes((9, 9)))

    assert first.status_code == 201, first.content
    assert retry.content == first.content and retry["Idempotent-Replayed"] == "true"
    assert first["Location"] == first.json()["download_url"] == retry["Location"]
    assert_error(other, 422, "idempotency_key_reused")
    assert ComplaintMessage.unscoped.filter(complaint=complaint).count() == 1


# --- two requests at once -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_second_request_while_the_first_runs_is_refused_at_once(world_a, lines, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    real = services.return_request_create

    def held(**kwargs):
        entered.set()  # the first request is inside the view, its key claimed
        assert release.wait(HANG_GUARD)
        return real(**kwargs)

    monkeypatch.setattr(services, "return_request_create", held)
    token = personal_token(world_a.customer)
    answers = {}

    def first():
        try:
            answers["first"] = post(api_with_key(token), RETURNS_URL, return_payload(lines[0]), "k")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert entered.wait(HANG_GUARD)
        client = api_with_key(token)
        same = post(client, RETURNS_URL, return_payload(lines[0]), "k")
        other_body = post(client, RETURNS_URL, return_payload(lines[1]), "k")
    finally:
        release.set()
        thread.join(HANG_GUARD)

    assert_error(same, 409, "idempotency_key_in_progress")
    assert_error(other_body, 409, "idempotency_key_in_progress")
    assert answers["first"].status_code == 201, answers["first"].content
    replay = post(client, RETURNS_URL, return_payload(lines[0]), "k")
    assert replay.content == answers["first"].content
    assert replay["Idempotent-Replayed"] == "true"
    assert ReturnRequest.unscoped.count() == 1


# --- Location -------------------------------------------------------------------------------


def _complaint(world) -> Complaint:
    from complaints import services as complaint_services

    return complaint_services.complaint_file(
        customer_account=world.company,
        reporter=world.customer,
        category="product_quality",
        priority="normal",
        subject="Drill does not start",
        description="Dead on arrival.",
    )


def test_created_objects_are_named_in_location(world_a, lines, file_return, media):
    customer = api_as(world_a.customer)

    filed = customer.post(RETURNS_URL, return_payload(lines[0]), format="json")
    assert filed["Location"] == f"http://testserver{RETURNS_URL}{filed.json()['id']}/"
    assert customer.get(filed["Location"]).json()["id"] == filed.json()["id"]

    attached = customer.post(
        f"{RETURNS_URL}{filed.json()['id']}/attachments/",
        {"file": SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")},
        format="multipart",
    )
    assert attached.status_code == 201
    assert attached["Location"] == attached.json()["download_url"]
    assert ReturnAttachment.unscoped.count() == 1

    complaint = customer.post(
        COMPLAINTS_URL,
        {
            "category": "product_quality",
            "priority": "normal",
            "subject": "Drill does not start",
            "description": "Dead on arrival.",
        },
        format="json",
    )
    assert complaint.status_code == 201, complaint.content
    assert complaint["Location"] == f"http://testserver{COMPLAINTS_URL}{complaint.json()['id']}/"

    thread = f"{COMPLAINTS_URL}{complaint.json()['id']}/messages/"
    message = customer.post(thread, {"body": "Any news?"}, format="json")
    assert message.status_code == 201
    assert message["Location"] == f"http://testserver{thread}"

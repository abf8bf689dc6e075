"""Bulk actions of the back-office's lists (rma_portal.backoffice.actions.bulk_button_action):
each selected case through the same service as its button, each in its own transaction, with
what happened reported per case; a text asked once and given to each; another tenant's cases
never touched."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint, ComplaintStatus
from returns.models import ReturnRequest, ReturnStatus
from tests.complaints.conftest import complaint_file
from tests.html import parse
from tests.returns import conftest as returns_fixtures

pytestmark = pytest.mark.django_db

policy_a = returns_fixtures.policy_a
make_order_line = returns_fixtures.make_order_line
file_return = returns_fixtures.file_return
RETURNS = "admin:returns_returnrequest_changelist"
COMPLAINTS = "admin:complaints_complaint_changelist"


@pytest.fixture
def file_one(world_a, make_order_line, file_return):
    def _file(world=None):
        world = world or world_a
        line = make_order_line(world.company, quantity=3)
        return file_return(
            world.customer,
            world.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        )

    return _file


def results(response) -> dict[str, str]:
    page = parse(response)
    return {
        tr.select_one("td a").text: tr.select("td")[1].text
        for tr in page.select("table.bulk-results tbody tr")
    }


def test_reject_with_a_reason_asks_once_and_reports_each_case(world_a, file_one, login):
    first, second = file_one(), file_one()
    ReturnRequest.unscoped.filter(pk=second.pk).update(status=ReturnStatus.CANCELLED)
    client = login(world_a.agent)
    data = {"action": "bulk_reject", "_selected_action": [first.pk, second.pk]}

    asked = client.post(reverse(RETURNS), data)
    assert asked.status_code == 200
    assert "admin/bulk_text.html" in [t.name for t in asked.templates]
    assert ReturnRequest.unscoped.get(pk=first.pk).status == ReturnStatus.SUBMITTED
    # confirmed without the required reason: asked again, nothing changed
    again = client.post(reverse(RETURNS), {**data, "bulk_confirmed": "yes", "bulk_text": " "})
    assert parse(again).first("#bulk-text-error") is not None
    assert ReturnRequest.unscoped.get(pk=first.pk).status == ReturnStatus.SUBMITTED

    done = client.post(
        reverse(RETURNS), {**data, "bulk_confirmed": "yes", "bulk_text": "Outside the window."}
    )

    first.refresh_from_db()
    assert first.status == ReturnStatus.REJECTED
    assert first.rejection_reason == "Outside the window."
    outcome = results(done)
    assert outcome[first.number].startswith("Done")
    assert outcome[second.number].startswith("Left as it was")
    assert ReturnRequest.unscoped.get(pk=second.pk).status == ReturnStatus.CANCELLED


def test_close_many_complaints_and_never_another_tenants(world_a, world_b, login):
    now = timezone.now()
    mine = complaint_file(world_a.customer, world_a.company, now=now)
    foreign = complaint_file(world_b.customer, world_b.company, now=now)
    Complaint.unscoped.filter(pk=mine.pk).update(status=ComplaintStatus.RESOLVED, resolved_at=now)
    Complaint.unscoped.filter(pk=foreign.pk).update(
        status=ComplaintStatus.RESOLVED, resolved_at=now
    )
    client = login(world_a.agent)

    response = client.post(
        reverse(COMPLAINTS), {"action": "bulk_close", "_selected_action": [mine.pk, foreign.pk]}
    )

    assert response.status_code == 200
    assert results(response) == {mine.code: results(response)[mine.code]}
    assert Complaint.unscoped.get(pk=mine.pk).status == ComplaintStatus.CLOSED
    assert Complaint.unscoped.get(pk=foreign.pk).status == ComplaintStatus.RESOLVED


def test_managers_have_no_bulk_changes(world_a, file_one, login):
    rma = file_one()
    client = login(world_a.manager)
    page = client.get(reverse(RETURNS))
    offered = {o["value"] for o in parse(page).select("select[name=action] option")}
    assert "bulk_reject" not in offered
    client.post(reverse(RETURNS), {"action": "bulk_close", "_selected_action": [rma.pk]})
    assert ReturnRequest.unscoped.get(pk=rma.pk).status == ReturnStatus.SUBMITTED

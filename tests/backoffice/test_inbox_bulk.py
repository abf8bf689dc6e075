"""Bulk actions from My work (rma_portal/backoffice/inbox_bulk.py): returns and complaints
ticked together, each through its own kind's services with the list actions' checks, in a
transaction of its own, the value asked once, and a result per case; ids that are not the
tenant's cases reported as not found and never touched; managers offered nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints import services as complaint_services
from complaints.models import Complaint, ComplaintEvent, ComplaintMessage, ComplaintStatus
from returns.models import ReturnEvent, ReturnRequest, ReturnStatus
from rma_portal.tenancy.context import tenant_context
from tests.complaints.conftest import complaint_file, complaint_state
from tests.html import parse
from tests.returns import conftest as returns_fixtures

pytestmark = pytest.mark.django_db

policy_a = returns_fixtures.policy_a
make_order_line = returns_fixtures.make_order_line
file_return = returns_fixtures.file_return

HOME = "admin:index"
BULK = "admin:inbox_bulk"


@pytest.fixture
def file_one(world_a, make_order_line, file_return):
    """A submitted return of world A's company, or of `world`'s."""

    def _file(world=None):
        world = world or world_a
        line = make_order_line(world.company, quantity=3)
        return file_return(
            world.customer,
            world.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        )

    return _file


def staff(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def case(obj) -> str:
    kind = "complaint" if isinstance(obj, Complaint) else "return"
    return f"{kind}:{obj.pk}"


def results(response) -> dict[str, tuple[bool, str]]:
    """The case as ticked ("complaint:12") -> (done, what happened), from the results page."""
    assert "admin/bulk_results.html" in [t.name for t in response.templates], response.content
    rows = parse(response).select("table.bulk-results tbody tr")
    return {
        tr["data-case"]: ("done" in tr["class"], tr.select("td")[1].text.split(": ", 1)[1])
        for tr in rows
    }


def snapshot(obj) -> dict:
    if isinstance(obj, Complaint):
        return complaint_state(obj)
    return {
        "row": ReturnRequest.unscoped.filter(pk=obj.pk).values().get(),
        "events": list(ReturnEvent.unscoped.filter(return_request_id=obj.pk).values_list("pk")),
    }


def new_complaint(world, **kwargs) -> Complaint:
    return complaint_file(world.customer, world.company, now=timezone.now(), **kwargs)


def test_staff_get_a_box_per_row_and_the_bar(world_a, file_one):
    rma = file_one()
    complaint = new_complaint(world_a)

    page = parse(staff(world_a.agent).get(reverse(HOME), {"view": "all"}))

    bar = page.first("form#inbox-bulk")
    assert bar is not None and bar["method"] == "post" and bar["action"] == reverse(BULK)
    assert bar.first("input[name=csrfmiddlewaretoken]") is not None
    offered = [o["value"] for o in bar.select("select[name=operation] option")]
    assert offered == ["", "assign_me", "assign", "priority", "request_info", "reject", "close"]
    boxes = {box["value"]: box for box in page.select("tr.inbox-row input[name=cases]")}
    assert set(boxes) == {case(rma), case(complaint)}
    assert all(box["form"] == "inbox-bulk" for box in boxes.values())
    label = page.first(f"tr[data-id='{complaint.pk}'][data-kind=complaint] td.select label")
    assert label.text == f"Tick Complaint {complaint.code}"


def test_a_coordinator_assigns_returns_and_complaints_together(world_a, file_one):
    rma = file_one()
    complaint = new_complaint(world_a)
    client = staff(world_a.coordinator)
    data = {"operation": "assign", "cases": [case(rma), case(complaint)], "next": "view=all"}

    asked = client.post(reverse(BULK), data)

    assert "admin/bulk_text.html" in [t.name for t in asked.templates]
    page = parse(asked)
    people = [o["value"] for o in page.select("select#bulk-text option")]
    assert people[:2] == ["", str(world_a.coordinator.pk)]  # "— choose —", then me
    assert str(world_a.agent.pk) in people and str(world_a.manager.pk) not in people
    assert f"Return {rma.number}" in page.text and f"Complaint {complaint.code}" in page.text
    assert ReturnRequest.unscoped.get(pk=rma.pk).assignee_id is None
    # no one chosen, or someone not offered: asked again, nothing changed
    for bad in ("", str(world_a.manager.pk), "x"):
        again = client.post(reverse(BULK), {**data, "bulk_confirmed": "yes", "bulk_text": bad})
        assert parse(again).first("#bulk-text-error") is not None
    assert Complaint.unscoped.get(pk=complaint.pk).assignee_id is None

    done = client.post(
        reverse(BULK), {**data, "bulk_confirmed": "yes", "bulk_text": str(world_a.agent.pk)}
    )

    outcome = results(done)
    assert outcome[case(rma)][0] and outcome[case(complaint)][0], outcome
    assert ReturnRequest.unscoped.get(pk=rma.pk).assignee_id == world_a.agent.pk
    assigned = Complaint.unscoped.get(pk=complaint.pk)
    assert (assigned.assignee_id, assigned.status) == (world_a.agent.pk, ComplaintStatus.OPEN)
    assert ComplaintEvent.unscoped.filter(complaint=complaint, action="assigned").exists()
    assert parse(done).first("a.button")["href"] == reverse(HOME) + "?view=all&sort=due"


def test_assign_to_me_and_what_an_agent_may_not_do_is_said_per_case(world_a, file_one):
    rma = file_one()
    complaint = new_complaint(world_a)
    taken = new_complaint(world_a)
    with tenant_context(world_a.tenant):
        complaint_services.complaint_assign(
            complaint=taken, actor=world_a.coordinator, assignee=world_a.coordinator
        )
    client = staff(world_a.agent)

    mine = results(
        client.post(
            reverse(BULK),
            {"operation": "assign_me", "cases": [case(rma), case(complaint), case(taken)]},
        )
    )

    assert mine[case(rma)][0] and mine[case(complaint)][0]
    assert not mine[case(taken)][0] and "already taken" in mine[case(taken)][1]
    assert Complaint.unscoped.get(pk=taken.pk).assignee_id == world_a.coordinator.pk
    assert ReturnRequest.unscoped.get(pk=rma.pk).assignee_id == world_a.agent.pk
    # an agent gives a complaint to no one else; a return they may
    other = new_complaint(world_a)
    given = results(
        client.post(
            reverse(BULK),
            {
                "operation": "assign",
                "cases": [case(rma), case(other)],
                "bulk_confirmed": "yes",
                "bulk_text": str(world_a.coordinator.pk),
            },
        )
    )
    assert given[case(rma)][0]
    assert given[case(other)] == (False, "Agents may only take complaints for themselves.")
    assert Complaint.unscoped.get(pk=other.pk).assignee_id is None
    # the same person again: said, nothing recorded
    again = results(
        client.post(reverse(BULK), {"operation": "assign_me", "cases": [case(complaint)]})
    )
    assert not again[case(complaint)][0] and "already assigned" in again[case(complaint)][1]


def test_a_priority_change_reaches_complaints_and_says_returns_have_none(world_a, file_one):
    rma = file_one()
    complaint = new_complaint(world_a)
    before = snapshot(rma)
    client = staff(world_a.agent)
    data = {"operation": "priority", "cases": [case(rma), case(complaint)]}

    asked = parse(client.post(reverse(BULK), data))
    assert [o["value"] for o in asked.select("select#bulk-text option")] == [
        "",
        "low",
        "normal",
        "high",
        "urgent",
    ]
    outcome = results(
        client.post(reverse(BULK), {**data, "bulk_confirmed": "yes", "bulk_text": "urgent"})
    )

    assert outcome[case(complaint)][0]
    assert outcome[case(rma)] == (False, "Returns have no priority.")
    assert Complaint.unscoped.get(pk=complaint.pk).priority == "urgent"
    assert snapshot(rma) == before


def test_ask_for_information_asks_once_and_gives_each_the_question(world_a, file_one):
    rma = file_one()
    working = new_complaint(world_a)
    with tenant_context(world_a.tenant):
        complaint_services.complaint_assign(
            complaint=working, actor=world_a.agent, assignee=world_a.agent
        )
        complaint_services.complaint_start(complaint=working, actor=world_a.agent)
    fresh = new_complaint(world_a)  # new: the page's button is not offered either
    client = staff(world_a.agent)
    data = {"operation": "request_info", "cases": [case(rma), case(working), case(fresh)]}

    asked = client.post(reverse(BULK), data)
    assert parse(asked).first("textarea#bulk-text") is not None
    again = client.post(reverse(BULK), {**data, "bulk_confirmed": "yes", "bulk_text": "  "})
    assert parse(again).first("#bulk-text-error") is not None
    assert ReturnRequest.unscoped.get(pk=rma.pk).status == ReturnStatus.SUBMITTED
    question = "Which batch number is on the box?"

    outcome = results(
        client.post(reverse(BULK), {**data, "bulk_confirmed": "yes", "bulk_text": question})
    )

    assert outcome[case(rma)][0] and outcome[case(working)][0]
    assert not outcome[case(fresh)][0] and "cannot wait" in outcome[case(fresh)][1]
    rma.refresh_from_db()
    assert (rma.status, rma.info_request) == (ReturnStatus.NEEDS_INFO, question)
    assert Complaint.unscoped.get(pk=working.pk).status == ComplaintStatus.AWAITING_CUSTOMER
    assert ComplaintMessage.unscoped.get(complaint=working).body == question
    assert Complaint.unscoped.get(pk=fresh.pk).status == ComplaintStatus.NEW


def test_reject_with_one_reason_and_close_each_reported(world_a, file_one):
    rma = file_one()
    complaint = new_complaint(world_a)
    client = staff(world_a.agent)

    rejected = results(
        client.post(
            reverse(BULK),
            {
                "operation": "reject",
                "cases": [case(rma), case(complaint)],
                "bulk_confirmed": "yes",
                "bulk_text": "Not covered.",
            },
        )
    )
    closed = results(
        client.post(reverse(BULK), {"operation": "close", "cases": [case(rma), case(complaint)]})
    )

    assert rejected[case(rma)][0] and rejected[case(complaint)][0]
    assert ReturnRequest.unscoped.get(pk=rma.pk).rejection_reason == "Not covered."
    assert Complaint.unscoped.get(pk=complaint.pk).rejection_reason == "Not covered."
    # rejected cases cannot be closed: left as they were, each saying why
    assert not closed[case(rma)][0] and not closed[case(complaint)][0]
    assert "Rejected" in closed[case(rma)][1]


def test_ids_that_are_not_the_tenants_cases_are_named_and_never_touched(world_a, world_b, file_one):
    mine = new_complaint(world_a)
    foreign_complaint = new_complaint(world_b)
    foreign_return = file_one(world_b)
    untouched = [snapshot(foreign_complaint), snapshot(foreign_return)]
    values = [
        case(mine),
        case(foreign_complaint),
        case(foreign_return),
        "complaint:987654321",
        "return:abc",
        "invoice:1",
        "complaint:99999999999999999999999",
    ]

    outcome = results(
        staff(world_a.agent).post(reverse(BULK), {"operation": "assign_me", "cases": values})
    )

    assert outcome[case(mine)][0]
    found_nothing = [key for key, (ok, message) in outcome.items() if "No such case" in message]
    assert len(found_nothing) == 6 and len(outcome) == 7
    assert not any(ok for key, (ok, _message) in outcome.items() if key != case(mine))
    assert [snapshot(foreign_complaint), snapshot(foreign_return)] == untouched
    # a value is asked for the tenant's cases only, and for none when no case is the tenant's
    client = staff(world_a.agent)
    data = {"operation": "reject", "cases": [case(foreign_complaint), case(mine)]}
    asked = parse(client.post(reverse(BULK), data))
    assert asked.first("ul.bulk-cases").text == f"Complaint {mine.code}"
    data["cases"] = [case(foreign_complaint)]
    assert not results(client.post(reverse(BULK), data))[case(foreign_complaint)][0]
    assert [snapshot(foreign_complaint), snapshot(foreign_return)] == untouched


def test_managers_are_offered_nothing_and_refused(world_a, file_one):
    rma = file_one()
    before = snapshot(rma)
    client = staff(world_a.manager)

    page = parse(client.get(reverse(HOME), {"view": "all"}))
    assert page.first("form#inbox-bulk") is None
    assert page.first("input[name=cases]") is None
    response = client.post(reverse(BULK), {"operation": "close", "cases": [case(rma)]})

    assert response.status_code == 403
    assert snapshot(rma) == before


def test_bad_requests_are_explained_and_change_nothing(world_a, file_one):
    rma = file_one()
    before = snapshot(rma)
    client = staff(world_a.agent)

    for data in (
        {"operation": "close"},  # nothing ticked
        {"operation": "explode", "cases": [case(rma)]},
        {"cases": [case(rma)]},
        {"operation": "close", "cases": [f"return:{n}" for n in range(1, 102)]},
    ):
        response = client.post(reverse(BULK), data, follow=True)
        assert response.status_code == 200
        assert parse(response).first(".messagelist .error") is not None, data
    assert client.get(reverse(BULK)).status_code == 405
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(world_a.agent)
    response = forged.post(reverse(BULK), {"operation": "close", "cases": [case(rma)]})
    assert response.status_code == 403  # no CSRF token
    assert snapshot(rma) == before


def test_close_finishes_resolved_cases_of_both_kinds(world_a, file_one):
    from tests.complaints.conftest import advance as complaint_advance

    rma = returns_fixtures.advance(file_one(), ReturnStatus.RESOLVED, agent=world_a.agent)
    complaint = complaint_advance(
        new_complaint(world_a), ComplaintStatus.RESOLVED, agent=world_a.agent
    )

    outcome = results(
        staff(world_a.agent).post(
            reverse(BULK), {"operation": "close", "cases": [case(rma), case(complaint)]}
        )
    )

    assert outcome[case(rma)][0] and outcome[case(complaint)][0], outcome
    assert ReturnRequest.unscoped.get(pk=rma.pk).status == ReturnStatus.CLOSED
    assert Complaint.unscoped.get(pk=complaint.pk).status == ComplaintStatus.CLOSED

"""Concurrent and stale changes of a complaint: every change page form carries the version it
was rendered with, the API takes it as If-Match, and a change based on an older version is
refused with a clear message — one winner, one timeline event, one e-mail."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from complaints.models import Complaint, ComplaintEvent, ComplaintStatus
from rma_portal.accounts.models import Role
from rma_portal.notifications.models import Notification
from tests.concurrency import (
    messages_of,
    press,
    run_concurrently,
    signed_in,
    version_on_page,
)
from tests.factories import UserFactory

from .conftest import complaint_file

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _url(name: str, complaint: Complaint) -> str:
    return reverse(f"admin:complaints_complaint_{name}", args=[complaint.pk])


def _reload(complaint: Complaint) -> Complaint:
    return Complaint.unscoped.select_related("assignee").get(pk=complaint.pk)


def _assigned_events(complaint: Complaint) -> int:
    return ComplaintEvent.unscoped.filter(complaint=complaint, action="assigned").count()


@pytest.fixture
def new_complaint(world_a) -> Complaint:
    return complaint_file(world_a.customer, world_a.company)


def test_twenty_agents_taking_one_complaint_at_once_make_one_owner(world_a, new_complaint):
    # given: twenty agents with the complaint's page open
    agents = [UserFactory(tenant=world_a.tenant, role=Role.AGENT) for _ in range(20)]
    browsers = [signed_in(agent) for agent in agents]
    seen = [
        version_on_page(browser, _url("change", new_complaint), "action-take")
        for browser in browsers
    ]

    # when: all press "Take" together
    outcomes = run_concurrently(
        None,
        [
            (lambda b=browser, v=version: b.post(_url("take", new_complaint), {"version": v}))
            for browser, version in zip(browsers, seen, strict=True)
        ],
    )

    # then: one took it; every other one was told, and nothing else changed
    assert [kind for kind, _ in outcomes] == ["ok"] * 20, outcomes
    messages = [messages_of(response) for _, response in outcomes]
    winners = [i for i, m in enumerate(messages) if m[0][0] == "success"]
    assert len(winners) == 1, messages
    [winner] = winners
    assert messages[winner] == [("success", f"You took complaint {new_complaint.code}.")]
    for index, told in enumerate(messages):
        if index != winner:
            [(level, text)] = told
            assert level == "error"
            assert text.startswith(f"Complaint {new_complaint.code} has changed since you")
            assert f"assigned to {agents[winner].full_name}" in text
    complaint = _reload(new_complaint)
    assert complaint.assignee == agents[winner]
    assert complaint.status == ComplaintStatus.OPEN
    assert _assigned_events(complaint) == 1


def test_coordinators_assigning_at_once_send_one_assignment_email(world_a, new_complaint):
    # given: ten coordinators, each about to hand the complaint to another agent
    coordinators = [UserFactory(tenant=world_a.tenant, role=Role.COORDINATOR) for _ in range(10)]
    agents = [UserFactory(tenant=world_a.tenant, role=Role.AGENT) for _ in range(10)]
    browsers = [signed_in(coordinator) for coordinator in coordinators]
    seen = [
        version_on_page(browser, _url("change", new_complaint), "action-assign")
        for browser in browsers
    ]
    mails_before = Notification.unscoped.count()

    outcomes = run_concurrently(
        None,
        [
            (
                lambda b=browser, v=version, a=agent: b.post(
                    _url("assign", new_complaint), {"version": v, "assignee": a.pk}
                )
            )
            for browser, version, agent in zip(browsers, seen, agents, strict=True)
        ],
    )

    assert [kind for kind, _ in outcomes] == ["ok"] * 10, outcomes
    levels = [[level for level, _ in messages_of(response)] for _, response in outcomes]
    assert sorted(levels) == [["error"]] * 9 + [["success"]]
    [winner] = [agents[i] for i, level in enumerate(levels) if level == ["success"]]
    assert _reload(new_complaint).assignee == winner
    assert _assigned_events(new_complaint) == 1
    # the winner's assignment is the only change: no e-mail for the nine refused ones
    written = Notification.unscoped.count() - mails_before
    assert written <= 1
    assert (
        not Notification.unscoped.exclude(recipient=winner)
        .filter(event="complaint.assigned")
        .exists()
    )


def test_a_take_based_on_a_page_opened_before_someone_else_took_it_is_refused(
    world_a, new_complaint
):
    second = UserFactory(tenant=world_a.tenant, role=Role.AGENT)
    first_browser, second_browser = signed_in(world_a.agent), signed_in(second)
    first_saw = version_on_page(first_browser, _url("change", new_complaint), "action-take")
    second_saw = version_on_page(second_browser, _url("change", new_complaint), "action-take")

    first_browser.post(_url("take", new_complaint), {"version": first_saw})
    response = second_browser.post(_url("take", new_complaint), {"version": second_saw})

    [(level, text)] = messages_of(response)
    assert level == "error"
    assert f"assigned to {world_a.agent.full_name}" in text
    assert _reload(new_complaint).assignee == world_a.agent
    assert _assigned_events(new_complaint) == 1


def test_an_agent_cannot_take_a_complaint_someone_else_has(world_a, new_complaint):
    second = UserFactory(tenant=world_a.tenant, role=Role.AGENT)
    first_browser = signed_in(world_a.agent)
    press(first_browser, _url("change", new_complaint), "action-take", _url("take", new_complaint))

    # the second agent opens the page after the first took it: still not theirs to take
    second_browser = signed_in(second)
    response = press(
        second_browser, _url("change", new_complaint), "action-take", _url("take", new_complaint)
    )

    assert messages_of(response) == [
        (
            "error",
            f"Complaint {new_complaint.code} is already taken by {world_a.agent.full_name}; "
            "ask a coordinator to reassign it.",
        )
    ]
    assert _reload(new_complaint).assignee == world_a.agent
    assert _assigned_events(new_complaint) == 1


def test_a_transition_button_on_a_stale_page_changes_nothing(world_a, new_complaint):
    browser = signed_in(world_a.agent)
    press(browser, _url("change", new_complaint), "action-take", _url("take", new_complaint))
    stale = version_on_page(browser, _url("change", new_complaint), "action-start")
    # meanwhile a coordinator reassigns it
    coordinator = signed_in(world_a.coordinator)
    press(
        coordinator,
        _url("change", new_complaint),
        "action-assign",
        _url("assign", new_complaint),
        {"assignee": world_a.coordinator.pk},
    )
    before = _reload(new_complaint)

    response = browser.post(_url("start", new_complaint), {"version": stale})

    [(level, text)] = messages_of(response)
    assert level == "error"
    assert "has changed since you opened it" in text
    after = _reload(new_complaint)
    assert (after.status, after.assignee_id, after.version) == (
        before.status,
        before.assignee_id,
        before.version,
    )


# --- API ------------------------------------------------------------------------------------


def _api(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api_url(complaint: Complaint, action: str = "") -> str:
    return f"/api/v1/complaints/{complaint.pk}/" + (f"{action}/" if action else "")


def test_the_api_gives_the_version_as_etag_and_refuses_a_stale_if_match(world_a, new_complaint):
    client = _api(world_a.agent)
    detail = client.get(_api_url(new_complaint))
    assert detail.status_code == 200
    etag = detail["ETag"]
    assert etag == f'"{detail.json()["version"]}"'

    taken = client.post(
        _api_url(new_complaint, "assign"), {}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert taken.status_code == 200, taken.json()
    assert taken["ETag"] != etag

    # a second agent whose read is older than the take
    other = _api(UserFactory(tenant=world_a.tenant, role=Role.AGENT))
    refused = other.post(
        _api_url(new_complaint, "assign"), {}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    assert _reload(new_complaint).assignee == world_a.agent
    assert _assigned_events(new_complaint) == 1


def test_an_api_take_of_a_taken_complaint_is_409_even_without_if_match(world_a, new_complaint):
    _api(world_a.agent).post(_api_url(new_complaint, "assign"), {}, content_type="application/json")
    other = _api(UserFactory(tenant=world_a.tenant, role=Role.AGENT))

    response = other.post(_api_url(new_complaint, "assign"), {}, content_type="application/json")

    assert response.status_code == 409
    assert "already taken" in response.json()["error"]["message"]
    assert _reload(new_complaint).assignee == world_a.agent


def test_an_api_reassignment_needs_if_match(world_a, new_complaint):
    _api(world_a.agent).post(_api_url(new_complaint, "assign"), {}, content_type="application/json")
    coordinator = _api(world_a.coordinator)
    body = {"assignee": world_a.coordinator.pk}

    blind = coordinator.post(
        _api_url(new_complaint, "assign"), body, content_type="application/json"
    )
    assert blind.status_code == 428
    assert blind.json()["error"]["code"] == "precondition_required"
    assert _reload(new_complaint).assignee == world_a.agent

    malformed = coordinator.post(
        _api_url(new_complaint, "assign"),
        body,
        content_type="application/json",
        HTTP_IF_MATCH="yesterday",
    )
    assert malformed.status_code == 400
    assert "If-Match" in malformed.json()["error"]["fields"]

    etag = coordinator.get(_api_url(new_complaint))["ETag"]
    moved = coordinator.post(
        _api_url(new_complaint, "assign"), body, content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert moved.status_code == 200
    assert _reload(new_complaint).assignee == world_a.coordinator
    assert _assigned_events(new_complaint) == 2


def test_another_tenants_complaint_answers_404_whatever_the_if_match(
    world_a, world_b, new_complaint
):
    before = _reload(new_complaint)
    response = _api(world_b.agent).post(
        _api_url(new_complaint, "assign"),
        {},
        content_type="application/json",
        HTTP_IF_MATCH=f'"{before.version}"',
    )
    assert response.status_code == 404
    after = _reload(new_complaint)
    assert (after.assignee_id, after.version) == (before.assignee_id, before.version)

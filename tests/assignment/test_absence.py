"""Re-assignment on absence: the cases not yet started of staff away today (complaints
assigned but not started, returns waiting for a decision) are re-routed through the rules,
never to someone away, each audited; by beat's task, by `manage.py reassign_absent`, and at
once when an absence of today is saved in the back-office."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from complaints import services as complaint_services
from complaints.models import Complaint, ComplaintEvent, ComplaintStatus
from customers.routing import reassign_away
from customers.tasks import reassign_absent_task
from returns import services as return_services
from returns.models import ReturnRequest, ReturnStatus
from rma_portal.accounts.models import Absence
from rma_portal.accounts.services import tenant_today
from rma_portal.security.models import AuditAction, AuditEvent
from rma_portal.tenancy.context import tenant_context
from tests.assignment.conftest import (
    file_complaint,
    make_absence,
    make_agent,
    make_rule,
    make_team,
    submit_return,
)
from tests.html import parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_cases(world_a, agents):
    """Bob has an open complaint, one in progress and a submitted return, all given to him
    by the first rule; a team of Ann and Cid comes next."""
    ann, bob, cid = agents
    first = make_rule(world_a.tenant, agent=bob, name="Bob first")
    make_rule(world_a.tenant, team=make_team(world_a.tenant, [ann, cid]), name="Team")
    open_complaint = file_complaint(world_a)
    started = file_complaint(world_a)
    with tenant_context(world_a.tenant):
        started = complaint_services.complaint_start(complaint=started, actor=bob)
    returned = submit_return(world_a)
    approved = submit_return(world_a)
    with tenant_context(world_a.tenant):
        return_services.return_request_approve(return_request=approved, actor=bob)
    assert {c.assignee_id for c in (open_complaint, started, returned, approved)} == {bob.pk}
    AuditEvent.objects.all().delete()
    return {
        "rule": first,
        "open": open_complaint,
        "started": started,
        "return": returned,
        "approved": approved,
    }


def _assignee(case):
    return type(case).unscoped.get(pk=case.pk).assignee_id


def test_cases_not_started_of_an_agent_away_go_through_the_rules_again(world_a, agents, bobs_cases):
    ann, bob, cid = agents
    make_absence(bob)

    with tenant_context(world_a.tenant):
        moved = reassign_away(tenant=world_a.tenant)

    assert moved == 2
    # Bob's own rule is passed by (he is away): the team takes them in turn.
    assert _assignee(bobs_cases["open"]) == ann.pk
    assert _assignee(bobs_cases["return"]) == cid.pk
    # Work under way stays with him.
    assert _assignee(bobs_cases["started"]) == bob.pk
    assert _assignee(bobs_cases["approved"]) == bob.pk
    complaint = Complaint.unscoped.get(pk=bobs_cases["open"].pk)
    assert complaint.status == ComplaintStatus.OPEN
    event = ComplaintEvent.unscoped.filter(complaint=complaint, action="assigned").last()
    assert event.actor is None and not event.is_public
    assert event.note == (
        "Re-assigned automatically from Agent Bob (away) to Agent Ann of team Support by "
        "rule “Team”."
    )
    audits = AuditEvent.objects.filter(action=AuditAction.CASE_AUTO_ASSIGNED).order_by("pk")
    # Complaints are handed on first, then returns (the case kinds in order).
    assert [(a.target_type, a.details["reason"]) for a in audits] == [
        ("complaints.Complaint", "absence"),
        ("returns.ReturnRequest", "absence"),
    ]
    for audit in audits:
        assert audit.details["previous_assignee_id"] == bob.pk
        assert audit.details["rule"] == "Team"


def test_nobody_left_to_take_them_leaves_the_cases_where_they_are(world_a, agents, bobs_cases):
    ann, bob, cid = agents
    for agent in (ann, bob, cid):
        make_absence(agent)

    with tenant_context(world_a.tenant):
        assert reassign_away(tenant=world_a.tenant) == 0

    assert _assignee(bobs_cases["open"]) == bob.pk
    assert _assignee(bobs_cases["return"]) == bob.pk
    assert not AuditEvent.objects.filter(action=AuditAction.CASE_AUTO_ASSIGNED).exists()


def test_an_absence_not_covering_today_moves_nothing(world_a, agents, bobs_cases):
    bob = agents[1]
    tomorrow = tenant_today(world_a.tenant) + datetime.timedelta(days=2)
    make_absence(bob, first_day=tomorrow, last_day=tomorrow)

    with tenant_context(world_a.tenant):
        assert reassign_away(tenant=world_a.tenant) == 0
    assert _assignee(bobs_cases["open"]) == bob.pk


def test_the_beat_task_runs_for_every_tenant_and_keeps_them_apart(
    world_a, world_b, agents, bobs_cases
):
    bob = agents[1]
    make_absence(bob)
    beta_away = make_agent(world_b.tenant, "Agent Beta")
    beta_other = make_agent(world_b.tenant, "Agent Beta Two")
    make_rule(world_b.tenant, agent=beta_away)
    beta_complaint = file_complaint(world_b)
    make_absence(beta_away)
    make_rule(world_b.tenant, agent=beta_other, position=100_000)

    assert reassign_absent_task.apply().get() == 3

    assert _assignee(bobs_cases["open"]) != bob.pk
    assert _assignee(beta_complaint) == beta_other.pk
    # Each audit row belongs to its case's tenant.
    rows = AuditEvent.objects.filter(
        action=AuditAction.CASE_AUTO_ASSIGNED, details__reason="absence"
    )
    assert {(row.tenant_id, row.details["assignee_id"] == beta_other.pk) for row in rows} == {
        (world_a.tenant.pk, False),
        (world_b.tenant.pk, True),
    }


def test_the_command_reports_what_it_moved(world_a, agents, bobs_cases):
    make_absence(agents[1])
    out = io.StringIO()

    call_command("reassign_absent", "--tenant", world_a.tenant.slug, stdout=out)

    assert f"{world_a.tenant.slug}: 2 case(s) re-assigned." in out.getvalue()
    assert ReturnRequest.unscoped.get(pk=bobs_cases["return"].pk).status == ReturnStatus.SUBMITTED


def _absence_form(user, first_day, last_day) -> dict:
    return {
        "user": user.pk,
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "note": "Holiday",
    }


def test_saving_an_absence_of_today_in_the_back_office_hands_the_cases_on_at_once(
    world_a, agents, bobs_cases, login
):
    ann, bob, cid = agents
    client = login(world_a.coordinator)
    today = tenant_today(world_a.tenant)

    response = client.post(
        reverse("admin:accounts_absence_add"),
        _absence_form(bob, today, today + datetime.timedelta(days=7)),
        follow=True,
    )

    assert response.status_code == 200
    assert Absence.unscoped.filter(user=bob).exists()
    assert "2 cases of Agent Bob were handed on to colleagues." in parse(response).text
    assert _assignee(bobs_cases["open"]) in {ann.pk, cid.pk}
    assert _assignee(bobs_cases["return"]) in {ann.pk, cid.pk}


def test_saving_a_future_absence_moves_nothing_yet(world_a, agents, bobs_cases, login):
    bob = agents[1]
    client = login(world_a.coordinator)
    later = tenant_today(world_a.tenant) + datetime.timedelta(days=3)

    response = client.post(
        reverse("admin:accounts_absence_add"), _absence_form(bob, later, later), follow=True
    )

    assert response.status_code == 200
    assert Absence.unscoped.filter(user=bob).exists()
    assert _assignee(bobs_cases["open"]) == bob.pk

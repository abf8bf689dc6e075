"""Automatic assignment never crosses tenants: another tenant's rules, teams and agents are
never chosen, not even when a row links across tenants by mistake; and it works inside a web
request, under PostgreSQL's row-level security."""

from __future__ import annotations

import pytest
from django.urls import reverse

from complaints.models import Complaint, ComplaintStatus
from customers.models import AssignmentRule
from rma_portal.accounts.models import TeamMembership
from rma_portal.security.models import AuditAction, AuditEvent
from tests.assignment.conftest import (
    file_complaint,
    make_agent,
    make_rule,
    make_team,
    submit_return,
)

pytestmark = pytest.mark.django_db


def test_another_tenants_rules_never_assign_our_cases(world_a, world_b, agents):
    beta = make_agent(world_b.tenant, "Agent of Beta")
    make_rule(world_b.tenant, agent=beta)
    make_rule(world_b.tenant, team=make_team(world_b.tenant, [beta]))

    complaint = file_complaint(world_a)
    returned = submit_return(world_a)

    assert complaint.assignee is None and returned.assignee is None
    assert not AuditEvent.objects.filter(action=AuditAction.CASE_AUTO_ASSIGNED).exists()
    # And the other way round: their own case goes to their own agent.
    assert file_complaint(world_b).assignee == beta


def test_a_rule_or_a_team_linking_to_another_tenants_agent_is_passed_by(world_a, world_b, agents):
    ann = agents[0]
    beta = make_agent(world_b.tenant, "Agent of Beta")
    # Rows the back-office refuses (clean()), written directly as a bug or an import might.
    AssignmentRule.unscoped.create(tenant=world_a.tenant, name="Broken", position=1, agent=beta)
    team = make_team(world_a.tenant, [])
    TeamMembership.unscoped.create(tenant=world_a.tenant, team=team, user=beta)
    make_rule(world_a.tenant, team=team, position=2, name="Team with a stranger")
    make_rule(world_a.tenant, agent=ann, position=3, name="Ann")

    complaint = file_complaint(world_a)

    assert complaint.assignee == ann
    audit = AuditEvent.objects.get(action=AuditAction.CASE_AUTO_ASSIGNED)
    assert audit.tenant == world_a.tenant and audit.details["rule"] == "Ann"


def test_a_complaint_filed_in_the_portal_is_assigned_under_row_level_security(
    world_a, world_b, agents, login
):
    team = make_team(world_a.tenant, agents[1:])
    make_rule(world_a.tenant, team=team)
    make_rule(world_b.tenant, agent=make_agent(world_b.tenant, "Agent of Beta"), position=0)
    client = login(world_a.customer)

    response = client.post(
        reverse("portal:complaint_new"),
        {
            "category": "delivery",
            "priority": "normal",
            "order": "",
            "order_line": "",
            "subject": "Late pallet",
            "description": "The pallet came two days late.",
        },
    )

    assert response.status_code == 302
    complaint = Complaint.unscoped.get(reporter=world_a.customer)
    assert complaint.assignee_id == agents[1].pk
    assert complaint.status == ComplaintStatus.OPEN
    # The customer's page does not show the internal assignment note.
    page = client.get(response["Location"]).content.decode()
    assert "automatically" not in page

"""Teams: round robin in the order of the members' ids, or the fewest open cases (returns and
complaints together); members away on the tenant's today or inactive are passed by; an agent
away falls through to the next rule."""

from __future__ import annotations

import datetime

import pytest

from complaints import services
from complaints.models import ComplaintStatus
from rma_portal.accounts.models import Role, Team
from rma_portal.accounts.services import tenant_today
from rma_portal.security.models import AuditAction, AuditEvent
from rma_portal.tenancy.context import tenant_context
from tests.assignment.conftest import (
    file_complaint,
    make_absence,
    make_rule,
    make_team,
    submit_return,
)

pytestmark = pytest.mark.django_db


def test_round_robin_takes_the_three_members_in_turn(world_a, agents):
    team = make_team(world_a.tenant, agents)
    make_rule(world_a.tenant, team=team)

    assignees = [file_complaint(world_a).assignee for _ in range(4)]
    assignees.append(submit_return(world_a).assignee)  # returns share the same turn

    ann, bob, cid = agents
    assert assignees == [ann, bob, cid, ann, bob]
    assert Team.unscoped.get(pk=team.pk).last_assigned == bob


def test_round_robin_continues_after_the_last_member_even_when_members_change(world_a, agents):
    ann, bob, cid = agents
    team = make_team(world_a.tenant, [ann, bob])
    make_rule(world_a.tenant, team=team)
    assert file_complaint(world_a).assignee == ann
    team.memberships.model.unscoped.create(tenant=world_a.tenant, team=team, user=cid)
    team.memberships.model.unscoped.filter(team=team, user=bob).delete()

    assert [file_complaint(world_a).assignee for _ in range(3)] == [cid, ann, cid]


def test_fewest_open_cases_counts_returns_and_complaints(world_a, agents):
    ann, bob, cid = agents
    make_rule(world_a.tenant, agent=ann, case_kind="complaint", complaint_category="billing")
    make_rule(world_a.tenant, agent=bob, case_kind="return")
    team = make_team(world_a.tenant, agents, strategy="least_open")
    make_rule(world_a.tenant, team=team)
    billing = [file_complaint(world_a, category="billing") for _ in range(2)]  # Ann: 2 open
    submit_return(world_a)  # Bob: 1 open

    assert file_complaint(world_a).assignee == cid  # Ann 2, Bob 1, Cid 0
    assert file_complaint(world_a).assignee == bob  # Bob and Cid 1: in turn after Cid
    assert file_complaint(world_a).assignee == cid  # Ann 2, Bob 2, Cid 1

    # A case no longer open does not count: Ann is down to one.
    with tenant_context(world_a.tenant):
        services.complaint_reject(complaint=billing[0], actor=world_a.coordinator, reason="No.")
    assert submit_return(world_a, reason="wrong_item").assignee == bob  # the returns rule
    assert file_complaint(world_a).assignee == ann  # Ann 1, Bob 3, Cid 2


def test_members_away_today_are_passed_by(world_a, agents):
    ann, bob, cid = agents
    team = make_team(world_a.tenant, agents)
    make_rule(world_a.tenant, team=team)
    make_absence(bob)

    assert [file_complaint(world_a).assignee for _ in range(3)] == [ann, cid, ann]


def test_only_absences_covering_today_count(world_a, agents):
    ann, bob, cid = agents
    today = tenant_today(world_a.tenant)
    make_absence(
        ann,
        first_day=today - datetime.timedelta(days=9),
        last_day=today - datetime.timedelta(days=2),
    )
    make_absence(
        bob,
        first_day=today + datetime.timedelta(days=2),
        last_day=today + datetime.timedelta(days=9),
    )
    team = make_team(world_a.tenant, agents)
    make_rule(world_a.tenant, team=team)

    assert [submit_return(world_a).assignee for _ in range(3)] == [ann, bob, cid]


def test_inactive_members_and_members_no_longer_agents_are_passed_by(world_a, agents):
    ann, bob, cid = agents
    team = make_team(world_a.tenant, agents)
    make_rule(world_a.tenant, team=team)
    bob.is_active = False
    bob.save()
    cid.role = Role.MANAGER
    cid.save()

    assert [file_complaint(world_a).assignee for _ in range(2)] == [ann, ann]


def test_an_agent_away_falls_through_to_the_next_rule(world_a, agents):
    ann, bob, _cid = agents
    make_rule(world_a.tenant, agent=ann, name="Ann first")
    make_rule(world_a.tenant, agent=bob, name="Then Bob")
    make_absence(ann)

    complaint = file_complaint(world_a)

    assert complaint.assignee == bob
    audit = AuditEvent.objects.get(action=AuditAction.CASE_AUTO_ASSIGNED)
    assert audit.details["rule"] == "Then Bob"


def test_a_team_with_everybody_away_falls_through(world_a, agents):
    ann, bob, cid = agents
    team = make_team(world_a.tenant, [ann, bob])
    make_rule(world_a.tenant, team=team, name="Team")
    make_rule(world_a.tenant, agent=cid, name="Cid covers")
    make_absence(ann)
    make_absence(bob)

    assert submit_return(world_a).assignee == cid


def test_with_everybody_away_the_case_stays_unassigned(world_a, agents):
    ann, bob, _cid = agents
    make_rule(world_a.tenant, team=make_team(world_a.tenant, [ann]))
    make_rule(world_a.tenant, agent=bob)
    make_absence(ann)
    make_absence(bob)

    complaint = file_complaint(world_a)

    assert complaint.assignee is None and complaint.status == ComplaintStatus.NEW
    assert not AuditEvent.objects.filter(action=AuditAction.CASE_AUTO_ASSIGNED).exists()

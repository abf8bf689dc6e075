"""Cases routed to one team at the same moment, on real PostgreSQL connections released
together: the team's row lock makes them take turns, so round robin never gives two of them
to the same member, and "fewest open cases" counts the one before."""

from __future__ import annotations

from collections import Counter

import pytest

from complaints import services as complaint_services
from complaints.models import Complaint
from returns import services as return_services
from returns.models import ReturnRequest
from rma_portal.accounts.models import Team
from rma_portal.security.models import AuditAction, AuditEvent
from tests.assignment.conftest import draft_return, make_rule, make_team
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _submit(draft):
    return lambda: return_services.return_request_submit(
        return_request=draft, actor=draft.requester
    )


def test_two_returns_submitted_at_once_go_to_two_members_in_turn(world_a, agents):
    ann, bob, _cid = agents
    team = make_team(world_a.tenant, [ann, bob])
    make_rule(world_a.tenant, team=team)
    drafts = [draft_return(world_a), draft_return(world_a)]

    outcomes = run_concurrently(world_a.tenant, [_submit(draft) for draft in drafts])

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assignees = {
        r.assignee_id for r in ReturnRequest.unscoped.filter(pk__in=[d.pk for d in drafts])
    }
    assert assignees == {ann.pk, bob.pk}
    assert Team.unscoped.get(pk=team.pk).last_assigned_id in {ann.pk, bob.pk}
    assert AuditEvent.objects.filter(action=AuditAction.CASE_AUTO_ASSIGNED).count() == 2


def test_six_returns_at_once_are_shared_evenly_by_three_members(world_a, agents):
    team = make_team(world_a.tenant, agents)
    make_rule(world_a.tenant, team=team)
    drafts = [draft_return(world_a) for _ in range(6)]

    outcomes = run_concurrently(world_a.tenant, [_submit(draft) for draft in drafts])

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    shares = Counter(
        ReturnRequest.unscoped.filter(pk__in=[d.pk for d in drafts]).values_list(
            "assignee_id", flat=True
        )
    )
    assert shares == {agent.pk: 2 for agent in agents}


def test_a_complaint_and_a_return_at_once_on_a_fewest_open_cases_team(world_a, agents):
    ann, bob, _cid = agents
    team = make_team(world_a.tenant, [ann, bob], strategy="least_open")
    make_rule(world_a.tenant, team=team)
    draft = draft_return(world_a)

    def file_complaint():
        return complaint_services.complaint_file(
            customer_account=world_a.company,
            reporter=world_a.customer,
            category="delivery",
            priority="normal",
            subject="Late",
            description="Two days late.",
        )

    outcomes = run_concurrently(world_a.tenant, [file_complaint, _submit(draft)])

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    complaint = Complaint.unscoped.get()
    returned = ReturnRequest.unscoped.get(pk=draft.pk)
    # Whichever came second saw the first one's open case and chose the other member.
    assert {complaint.assignee_id, returned.assignee_id} == {ann.pk, bob.pk}

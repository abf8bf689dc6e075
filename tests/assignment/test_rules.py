"""Assignment rules: tried in order of position, every condition set must hold, the first
that names someone decides; no match leaves the case unassigned. Each filing and each
submission assigns through the timeline ("assigned", by nobody) and writes one audit row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from complaints import services as complaint_services
from complaints.models import ComplaintEvent, ComplaintStatus
from customers.models import AssignmentRule
from returns import services as return_services
from returns.models import ReturnEvent, ReturnStatus
from rma_portal.security.models import ActorKind, AuditAction, AuditEvent
from rma_portal.tenancy.context import tenant_context
from tests.assignment.conftest import (
    delivered_line,
    draft_return,
    file_complaint,
    make_agent,
    make_rule,
    make_team,
    submit_return,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _audits():
    return list(AuditEvent.objects.filter(action=AuditAction.CASE_AUTO_ASSIGNED).order_by("pk"))


# --- no rule, and the order of rules --------------------------------------------------------


def test_without_rules_a_complaint_and_a_return_stay_unassigned(world_a, agents):
    complaint = file_complaint(world_a)
    returned = submit_return(world_a)

    assert complaint.status == ComplaintStatus.NEW and complaint.assignee is None
    assert returned.status == ReturnStatus.SUBMITTED and returned.assignee is None
    assert not ComplaintEvent.unscoped.filter(action="assigned").exists()
    assert not ReturnEvent.unscoped.filter(action="assigned").exists()
    assert _audits() == []


def test_rules_are_tried_by_position_and_inactive_ones_skipped(world_a, agents):
    ann, bob, cid = agents
    make_rule(world_a.tenant, agent=cid, position=30, name="Last")
    make_rule(world_a.tenant, agent=bob, position=20, name="Second")
    make_rule(world_a.tenant, agent=ann, position=10, name="Switched off", is_active=False)

    complaint = file_complaint(world_a)

    assert complaint.assignee == bob
    assert complaint.status == ComplaintStatus.OPEN


def test_no_matching_rule_leaves_the_case_unassigned(world_a, agents):
    make_rule(world_a.tenant, agent=agents[0], case_kind="complaint", complaint_category="billing")

    complaint = file_complaint(world_a, category="delivery")

    assert complaint.assignee is None and complaint.status == ComplaintStatus.NEW
    assert _audits() == []


def test_the_case_kind_decides_which_cases_a_rule_sees(world_a, agents):
    ann, bob, cid = agents
    make_rule(world_a.tenant, agent=ann, case_kind="return")
    make_rule(world_a.tenant, agent=bob, case_kind="complaint")
    make_rule(world_a.tenant, agent=cid, case_kind="any")

    assert file_complaint(world_a).assignee == bob
    assert submit_return(world_a).assignee == ann


# --- each condition -------------------------------------------------------------------------


COMPLAINT_CONDITIONS = [
    # (the rule's condition, a complaint that meets it, one that does not)
    ({"complaint_category": "delivery"}, {"category": "delivery"}, {"category": "billing"}),
    ({"complaint_priority": "urgent"}, {"priority": "urgent"}, {"priority": "normal"}),
    ({"channel": "phone"}, {"channel": "phone"}, {"channel": "portal"}),
]


@pytest.mark.parametrize(("condition", "meets", "misses"), COMPLAINT_CONDITIONS)
def test_each_complaint_condition(world_a, agents, condition, meets, misses):
    ann, bob, _cid = agents
    make_rule(world_a.tenant, agent=ann, case_kind="complaint", **condition)
    make_rule(world_a.tenant, agent=bob, name="Everything else")

    assert file_complaint(world_a, **meets).assignee == ann
    assert file_complaint(world_a, **misses).assignee == bob


def test_a_complaint_rule_by_customer_account(world_a, agents):
    ann, bob, _cid = agents
    make_rule(world_a.tenant, agent=ann, customer_account=world_a.company)
    make_rule(world_a.tenant, agent=bob)

    assert file_complaint(world_a).assignee == ann
    other = file_complaint(
        world_a, customer=world_a.other_company_user, company=world_a.other_company
    )
    assert other.assignee == bob


def test_a_complaint_rule_by_the_product_category(world_a, agents):
    ann, bob, _cid = agents
    tools = ProductFactory(tenant=world_a.tenant)
    paints = ProductFactory(tenant=world_a.tenant, category__code="paint", category__name="Paint")
    make_rule(world_a.tenant, agent=ann, product_category=paints.category)
    make_rule(world_a.tenant, agent=bob)

    assert file_complaint(world_a, product_id=paints.pk).assignee == ann
    assert file_complaint(world_a, product_id=tools.pk).assignee == bob
    assert file_complaint(world_a).assignee == bob  # no product: no category to match


def test_a_return_rule_by_reason_of_any_line(world_a, agents):
    ann, bob, _cid = agents
    make_rule(world_a.tenant, agent=ann, case_kind="return", return_reason="wrong_item")
    make_rule(world_a.tenant, agent=bob)

    assert submit_return(world_a, reason="wrong_item").assignee == ann
    assert submit_return(world_a, reason="defective").assignee == bob


def test_a_return_rule_by_requested_value(world_a, agents):
    ann, bob, _cid = agents
    make_rule(world_a.tenant, agent=ann, case_kind="return", min_requested_value=Decimal("300.00"))
    make_rule(world_a.tenant, agent=bob)

    line = delivered_line(world_a.company, unit_price=Decimal("100.00"))
    assert submit_return(world_a, line=line, quantity=3).assignee == ann  # 300.00
    line = delivered_line(world_a.company, unit_price=Decimal("100.00"))
    assert submit_return(world_a, line=line, quantity=2).assignee == bob  # 200.00


def test_a_return_rule_by_customer_account_product_category_and_channel(world_a, agents):
    ann, bob, _cid = agents
    paint = delivered_line(world_a.company, category=("paint", "Paint"))
    make_rule(
        world_a.tenant,
        agent=ann,
        customer_account=world_a.company,
        product_category=paint.product.category,
        channel="portal",
    )
    make_rule(world_a.tenant, agent=bob)

    assert submit_return(world_a, line=paint).assignee == ann
    # Another category, another customer: the rule no longer holds.
    assert submit_return(world_a).assignee == bob
    other_line = delivered_line(world_a.other_company, category=("paint", "Paint"))
    other = submit_return(
        world_a,
        customer=world_a.other_company_user,
        company=world_a.other_company,
        line=other_line,
    )
    assert other.assignee == bob


# --- through the existing paths: timeline, audit, filing for a customer ---------------------


def test_a_complaint_assigned_automatically_says_so_on_its_timeline_and_in_the_audit_log(
    world_a, agents
):
    ann = agents[0]
    rule = make_rule(world_a.tenant, agent=ann, name="Quality to Ann")

    complaint = file_complaint(world_a)

    event = ComplaintEvent.unscoped.get(complaint=complaint, action="assigned")
    assert event.actor is None and not event.is_public
    assert (event.from_status, event.to_status) == (ComplaintStatus.NEW, ComplaintStatus.OPEN)
    assert event.note == "Assigned automatically to Agent Ann by rule “Quality to Ann”."
    [audit] = _audits()
    assert audit.tenant == world_a.tenant
    assert audit.actor is None and audit.actor_kind == ActorKind.SYSTEM
    assert (audit.target_type, audit.target_id) == ("complaints.Complaint", str(complaint.pk))
    assert audit.details == {
        "kind": "complaint",
        "reason": "filed",
        "rule_id": rule.pk,
        "rule": "Quality to Ann",
        "team_id": None,
        "team": "",
        "assignee_id": ann.pk,
        "assignee": ann.email,
    }


def test_a_return_assigned_to_a_team_names_rule_team_and_assignee(world_a, agents):
    team = make_team(world_a.tenant, agents, name="Returns desk")
    rule = make_rule(world_a.tenant, team=team, name="All returns", case_kind="return")

    returned = submit_return(world_a)

    assert returned.assignee == agents[0]
    event = ReturnEvent.unscoped.get(return_request=returned, action="assigned")
    assert event.actor is None and not event.is_public
    assert event.note == (
        "Assigned automatically to Agent Ann of team Returns desk by rule “All returns”."
    )
    [audit] = _audits()
    assert audit.target_type == "returns.ReturnRequest"
    assert audit.details["rule_id"] == rule.pk
    assert audit.details["team_id"] == team.pk and audit.details["team"] == "Returns desk"
    assert audit.details["assignee_id"] == agents[0].pk


def test_a_phone_complaint_filed_by_an_agent_is_routed_by_its_channel(world_a, agents):
    ann, bob, _cid = agents
    make_rule(world_a.tenant, agent=ann, channel="phone")
    make_rule(world_a.tenant, agent=bob)

    with tenant_context(world_a.tenant):
        complaint = complaint_services.complaint_file_for_customer(
            actor=world_a.agent,
            customer_id=world_a.customer.pk,
            channel="phone",
            category="delivery",
            priority="high",
            subject="Pallet late",
            description="Called in: the pallet is two days late.",
        )
    complaint.refresh_from_db()
    assert complaint.assignee == ann
    assert complaint.filed_by == world_a.agent


def test_a_return_filed_and_submitted_for_a_customer_is_routed(world_a, agents):
    ann, bob, _cid = agents
    make_rule(world_a.tenant, agent=ann, channel="email", case_kind="return")
    make_rule(world_a.tenant, agent=bob)
    line = delivered_line(world_a.company)

    with tenant_context(world_a.tenant):
        returned = return_services.return_request_file_for_customer(
            actor=world_a.agent,
            customer_id=world_a.customer.pk,
            channel="email",
            lines=[
                return_services.LineInput(order_line_id=line.pk, quantity=1, reason="defective")
            ],
            requested_resolution="refund",
            return_method="drop_off",
            submit=True,
        )
    returned.refresh_from_db()
    assert returned.status == ReturnStatus.SUBMITTED
    assert returned.assignee == ann


def test_a_draft_is_not_routed_until_it_is_submitted(world_a, agents):
    make_rule(world_a.tenant, agent=agents[0])

    draft = draft_return(world_a)
    assert draft.assignee is None
    assert submit_return(world_a, draft=draft).assignee == agents[0]


def test_an_answer_to_a_question_routes_a_return_nobody_has(world_a, agents):
    returned = submit_return(world_a)  # no rule yet: unassigned
    with tenant_context(world_a.tenant):
        asked = return_services.return_request_request_info(
            return_request=returned, actor=world_a.coordinator, question="Photos, please?"
        )
    make_rule(world_a.tenant, agent=agents[1])

    with tenant_context(world_a.tenant):
        answered = return_services.return_request_provide_info(
            return_request=asked, actor=world_a.customer, answer="Attached."
        )

    answered.refresh_from_db()
    assert answered.status == ReturnStatus.SUBMITTED
    assert answered.assignee == agents[1]


# --- what a rule may say ------------------------------------------------------------------


def _invalid(tenant, **fields) -> dict:
    rule = AssignmentRule(tenant=tenant, name="Bad", **fields)
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    return caught.value.message_dict


def test_a_rule_names_exactly_one_team_or_agent(world_a, agents):
    team = make_team(world_a.tenant, agents)
    assert "team" in _invalid(world_a.tenant)
    assert "team" in _invalid(world_a.tenant, team=team, agent=agents[0])


def test_conditions_must_fit_the_case_kind(world_a, agents):
    ann = agents[0]
    errors = _invalid(world_a.tenant, agent=ann, case_kind="return", complaint_category="billing")
    assert "complaint_category" in errors
    errors = _invalid(world_a.tenant, agent=ann, case_kind="any", return_reason="defective")
    assert "return_reason" in errors
    errors = _invalid(
        world_a.tenant, agent=ann, case_kind="complaint", min_requested_value=Decimal("1")
    )
    assert "min_requested_value" in errors


def test_a_rule_names_an_agent_or_coordinator_of_its_own_tenant(world_a, world_b):
    foreign = make_agent(world_b.tenant, "Agent of Beta")
    assert "agent" in _invalid(world_a.tenant, agent=foreign)
    assert "agent" in _invalid(world_a.tenant, agent=world_a.manager)
    assert "agent" in _invalid(world_a.tenant, agent=world_a.customer)
    foreign_team = make_team(world_b.tenant, [foreign])
    assert "team" in _invalid(world_a.tenant, team=foreign_team)

"""Approval tiers: from a requested value (or for a return filed against the policy) a
coordinator or a manager approves; an agent asks them to, they are told by e-mail, the
return waits in "Awaiting approval", and who approved is recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.models import OrderLine
from returns import services
from returns.models import ReturnEvent, ReturnPolicy, ReturnRequest, ReturnStatus
from returns.policies import PolicyRules
from rma_portal.notifications.models import Notification
from rma_portal.security.models import AuditAction, AuditEvent
from rma_portal.tenancy.context import tenant_context

from .conftest import return_state

pytestmark = pytest.mark.django_db

S = ReturnStatus


# --- the level (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "overridden", "expected"),
    [
        ("299.99", False, ""),
        ("300.00", False, "coordinator"),  # at the limit: in the tier
        ("999.99", False, "coordinator"),
        ("1000.00", False, "manager"),
        ("10.00", True, "manager"),  # an override needs a manager whatever the value
    ],
)
def test_the_level_is_the_highest_tier_the_return_reaches(value, overridden, expected):
    rules = PolicyRules(
        approval_coordinator_from=Decimal("300"),
        approval_manager_from=Decimal("1000"),
        override_approval="manager",
    )
    assert rules.approval_level(Decimal(value), overridden=overridden) == expected


def test_without_tiers_any_agent_approves():
    assert PolicyRules().approval_level(Decimal("1000000")) == ""
    snapshot = PolicyRules(approval_coordinator_from=Decimal("5")).to_snapshot()
    assert PolicyRules.from_snapshot(snapshot).approval_coordinator_from == Decimal("5")
    for name in ("approval_coordinator_from", "approval_manager_from", "override_approval"):
        del snapshot[name]
    assert PolicyRules.from_snapshot(snapshot).approval_level(Decimal("1000000")) == ""


# --- through the services -------------------------------------------------------------------


@pytest.fixture
def tiers(policy_a):
    """Coordinators approve from 300, managers from 1000 (line 1 of delivered_order: 100 each)."""
    policy_a.approval_coordinator_from = Decimal("300")
    policy_a.approval_manager_from = Decimal("1000")
    policy_a.save()
    return policy_a


@pytest.fixture
def file_units(world_a, delivered_order, file_return):
    def _file(quantity: int):
        line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
        return file_return(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line.pk, "quantity": quantity, "reason": "wrong_size"}],
        )

    return _file


def _mails(event: str) -> set[str]:
    return set(Notification.unscoped.filter(event=event).values_list("recipient__email", flat=True))


def test_submission_records_the_level_the_value_needs(world_a, tiers, file_units):
    assert (file_units(2).approval_level, file_units(3).approval_level) == ("", "coordinator")


def test_an_agent_may_not_approve_above_the_limit_and_asks_instead(world_a, tiers, file_units):
    rma = file_units(3)  # 300.00: a coordinator approves
    before = return_state(rma)

    with tenant_context(world_a.tenant):
        with pytest.raises(services.ReturnAccessDenied) as refused:
            services.return_request_approve(return_request=rma, actor=world_a.agent)
        assert "ask for approval" in refused.value.message
        assert return_state(rma) == before

        asked = services.return_request_ask_approval(
            return_request=rma, actor=world_a.agent, note="Long-standing customer."
        )

    assert asked.status == S.AWAITING_APPROVAL
    event = ReturnEvent.unscoped.filter(return_request=rma).latest("pk")
    assert (event.action, event.is_public, event.note) == (
        "approval_requested",
        False,
        "Long-standing customer.",
    )
    # every active coordinator, manager and tenant admin is told; the customer hears nothing
    assert _mails("return.approval_requested") == {
        world_a.coordinator.email,
        world_a.manager.email,
        world_a.tenant_admin.email,
    }
    assert AuditEvent.objects.filter(
        action=AuditAction.RETURN_APPROVAL_REQUESTED, actor=world_a.agent
    ).exists()

    with tenant_context(world_a.tenant):
        approved = services.return_request_approve(
            return_request=ReturnRequest.objects.get(pk=rma.pk), actor=world_a.coordinator
        )
    assert (approved.status, approved.approved_by) == (S.APPROVED, world_a.coordinator)
    assert _mails("return.approved") == {world_a.customer.email}
    audit = AuditEvent.objects.get(action=AuditAction.RETURN_APPROVED_ABOVE_LIMIT)
    assert (audit.actor, audit.details["approval_level"]) == (world_a.coordinator, "coordinator")


def test_below_the_limit_the_agent_approves_and_is_recorded(world_a, tiers, file_units):
    rma = file_units(2)
    with tenant_context(world_a.tenant):
        approved = services.return_request_approve(return_request=rma, actor=world_a.agent)
        with pytest.raises(services.ReturnConflict):
            services.return_request_ask_approval(return_request=approved, actor=world_a.agent)
    assert approved.approved_by == world_a.agent
    assert not AuditEvent.objects.filter(action=AuditAction.RETURN_APPROVED_ABOVE_LIMIT).exists()


def test_a_managers_tier_is_beyond_a_coordinator_and_a_manager_decides(world_a, tiers, file_units):
    rma = file_units(5)  # 500.00 of the 1,000 a manager's tier starts at: set it as reached
    ReturnRequest.unscoped.filter(pk=rma.pk).update(approval_level="manager")
    rma = ReturnRequest.unscoped.get(pk=rma.pk)
    with tenant_context(world_a.tenant):
        for nobody in (world_a.agent, world_a.coordinator):
            with pytest.raises(services.ReturnAccessDenied):
                services.return_request_approve(return_request=rma, actor=nobody)
        rma = services.return_request_ask_approval(return_request=rma, actor=world_a.coordinator)
        assert _mails("return.approval_requested") == {
            world_a.manager.email,
            world_a.tenant_admin.email,
        }
        rejected = services.return_request_reject(
            return_request=rma, actor=world_a.manager, reason="Outside the contract."
        )
    assert rejected.status == S.REJECTED


def test_a_manager_acts_only_on_returns_awaiting_approval(world_a, tiers, file_units):
    rma = file_units(1)
    with tenant_context(world_a.tenant):
        for call in (
            lambda: services.return_request_reject(
                return_request=rma, actor=world_a.manager, reason="No."
            ),
            lambda: services.return_request_mark_received(
                return_request=rma, actor=world_a.manager
            ),
        ):
            with pytest.raises(services.ReturnAccessDenied):
                call()
    assert ReturnRequest.unscoped.get(pk=rma.pk).status == S.SUBMITTED


def test_the_customer_may_still_cancel_while_it_awaits_approval(world_a, tiers, file_units):
    rma = file_units(3)
    with tenant_context(world_a.tenant):
        rma = services.return_request_ask_approval(return_request=rma, actor=world_a.agent)
        cancelled = services.return_request_cancel(return_request=rma, actor=world_a.customer)
    assert cancelled.status == S.CANCELLED


def test_a_return_filed_against_the_policy_needs_the_override_level_and_is_audited(
    world_a, policy_a, make_order_line
):
    policy_a.override_approval = "manager"
    policy_a.save()
    late = make_order_line(world_a.company, delivered_days_ago=45)  # beyond the 14 days

    with tenant_context(world_a.tenant):
        rma = services.return_request_file_for_customer(
            actor=world_a.agent,
            customer_id=world_a.customer.pk,
            lines=[services.LineInput(order_line_id=late.pk, quantity=1, reason="defective")],
            requested_resolution="refund",
            return_method="drop_off",
            channel="phone",
            submit=True,
            override_reason="Goodwill: the pump failed in the first week of use.",
        )

    assert rma.approval_level == "manager"
    audit = AuditEvent.objects.get(action=AuditAction.RETURN_POLICY_OVERRIDDEN)
    assert audit.actor == world_a.agent
    assert audit.details["reason"] == "Goodwill: the pump failed in the first week of use."
    assert "45 days ago" in " ".join(audit.details["refusals"])


# --- the back-office ------------------------------------------------------------------------


def _url(name: str, *args) -> str:
    return reverse(f"admin:returns_returnrequest_{name}", args=args)


def _buttons(client, rma) -> list[str]:
    page = client.get(_url("change", rma.pk))
    assert page.status_code == 200
    return [button["name"] for button in page.context["return_actions"]]


def test_the_page_offers_approve_or_ask_by_who_looks(world_a, tiers, file_units, client, login):
    rma = file_units(3)

    assert "approve" not in _buttons(login(world_a.agent), rma)
    assert "ask-approval" in _buttons(client, rma)
    client.logout()
    coordinator_buttons = _buttons(login(world_a.coordinator), rma)
    assert "approve" in coordinator_buttons
    assert "ask-approval" not in coordinator_buttons


def test_a_manager_approves_from_the_awaiting_approval_queue(
    world_a, tiers, file_units, client, login
):
    rma = file_units(3)
    with tenant_context(world_a.tenant):
        services.return_request_ask_approval(return_request=rma, actor=world_a.agent)
    client = login(world_a.manager)

    queue = client.get(_url("changelist") + "?queue=awaiting_approval")
    assert [r.pk for r in queue.context["cl"].result_list] == [rma.pk]
    assert sorted(_buttons(client, rma)) == ["approve", "reject"]
    version = ReturnRequest.unscoped.get(pk=rma.pk).version
    response = client.post(_url("approve", rma.pk), {"note": "", "version": version})

    assert response.status_code == 302
    row = ReturnRequest.unscoped.get(pk=rma.pk)
    assert (row.status, row.approved_by) == (S.APPROVED, world_a.manager)
    # once approved the manager is back to reading it
    assert client.post(_url("receive", rma.pk), {"version": row.version}).status_code == 403


def test_a_managers_limit_below_a_coordinators_is_refused(world_a, policy_a):
    policy = ReturnPolicy(
        tenant=world_a.tenant,
        approval_coordinator_from=Decimal("1000"),
        approval_manager_from=Decimal("500"),
    )
    with tenant_context(world_a.tenant), pytest.raises(ValidationError) as refused:
        policy.clean()
    assert "approval_manager_from" in refused.value.message_dict

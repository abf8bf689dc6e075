"""The clocks of returns (docs/returns-rules.md#clocks-of-returns): the decision clock from
submission to approval or rejection, paused while waiting for the customer; the refund clock
from the goods' arrival to the resolution. Hand-computed in the tenant's calendar (Europe/Warsaw,
Monday to Friday 8:00–16:00 unless the test says otherwise), with the services' time injected.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from complaints.models import Holiday, SupportSettings
from customers.calendar import business_calendar
from returns import services
from returns.models import ReturnPolicy, ReturnRequest, ReturnStatus
from returns.policies import PolicyLayer, PolicyRules, effective_rules
from returns.selectors import return_rules_for
from rma_portal.sla import BusinessCalendar, SlaState
from rma_portal.tenancy.context import tenant_context

from .conftest import full_inspection

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = datetime.UTC
HOUR = 3600


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=WARSAW)


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """Sets the moment the services (and the model's transitions) take as now."""

    class Clock:
        def set(self, moment: datetime.datetime) -> None:
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


@pytest.fixture
def submitted(world_a, policy_a, make_order_line, clock):
    """A return of company A submitted by its customer at `at` (the goods delivered 5 days
    before, in the return window)."""

    def _submit(at: datetime.datetime, *, world=None) -> ReturnRequest:
        clock.set(at)
        world = world or world_a
        line = make_order_line(world.company, quantity=3)
        with tenant_context(world.tenant):
            draft = services.return_request_create(
                customer_account=world.company,
                requester=world.customer,
                lines=[services.LineInput(order_line_id=line.pk, quantity=1, reason="defective")],
                requested_resolution="refund",
                return_method="drop_off",
            )
            return services.return_request_submit(return_request=draft, actor=world.customer)

    return _submit


def reload(rma: ReturnRequest) -> ReturnRequest:
    return ReturnRequest.unscoped.get(pk=rma.pk)


# --- the decision clock -----------------------------------------------------------------------


def test_decision_clock_skips_the_weekend(submitted):
    # when: submitted on Friday 20 November 2026 at 14:00
    rma = submitted(local(2026, 11, 20, 14))
    # then: 16 business hours = Fri 14–16 (2) + Mon 8–16 (8) + Tue 8–14 (6)
    assert rma.decision_started_at == local(2026, 11, 20, 14)
    assert rma.decision_due_at == local(2026, 11, 24, 14)
    # ... at risk after 12 h 48 min of them: Fri 2 + Mon 8 + Tue 2:48
    assert rma.decision_at_risk_at == local(2026, 11, 24, 10, 48)
    assert rma.decision_paused_at is None and rma.decided_at is None


def test_decision_clock_skips_the_tenants_holiday(world_a, submitted):
    # given: 11 November 2026 (a Wednesday) is a holiday of tenant A
    Holiday.unscoped.create(tenant=world_a.tenant, date=datetime.date(2026, 11, 11), name="Indep.")
    # when: submitted on Tuesday at 10:00
    rma = submitted(local(2026, 11, 10, 10))
    # then: Tue 10–16 (6) + Thu 8–16 (8) + Fri 8–10 (2)
    assert rma.decision_due_at == local(2026, 11, 13, 10)


def test_decision_clock_over_the_spring_dst_change(submitted):
    # when: submitted on Friday 27 March 2026 at 12:00 CET; clocks go forward on Sunday 29th
    rma = submitted(local(2026, 3, 27, 12))
    # then: Fri 12–16 (4) + Mon 8–16 (8) + Tue 8–12 (4): 12:00 CEST, which is 10:00 UTC
    assert rma.decision_due_at == utc(2026, 3, 31, 10)
    assert rma.decision_due_at == local(2026, 3, 31, 12)


def test_the_tenants_working_hours_and_hours_of_the_policy(world_a, policy_a, submitted):
    # given: tenant A works 9:00–17:00 Monday to Saturday; its policy allows 4 business hours
    SupportSettings.unscoped.create(
        tenant=world_a.tenant,
        day_start=datetime.time(9),
        day_end=datetime.time(17),
        working_weekdays=[0, 1, 2, 3, 4, 5],
    )
    ReturnPolicy.unscoped.filter(pk=policy_a.pk).update(decision_hours=4)
    # when: submitted on Friday at 15:00
    rma = submitted(local(2026, 11, 20, 15))
    # then: Fri 15–17 (2) + Sat 9–11 (2)
    assert rma.decision_due_at == local(2026, 11, 21, 11)
    assert rma.rules_applied().decision_hours == 4


def test_pause_while_waiting_for_the_customer_and_resume_with_the_time_left(
    world_a, submitted, clock
):
    # given: submitted Monday 16 November 2026 at 9:00: due Wednesday 9:00
    rma = submitted(local(2026, 11, 16, 9))
    assert rma.decision_due_at == local(2026, 11, 18, 9)
    # when: a question at 15:00 (6 business hours used, 10 left)
    clock.set(local(2026, 11, 16, 15))
    with tenant_context(world_a.tenant):
        rma = services.return_request_request_info(
            return_request=rma, actor=world_a.agent, question="Photos of the damage?"
        )
    # then: paused; its state is judged at the pause, whatever the time
    assert rma.decision_paused_at == local(2026, 11, 16, 15)
    assert rma.decision_state(local(2026, 11, 30, 12)) == SlaState.ON_TRACK
    # when: the customer answers on Thursday at 10:00
    clock.set(local(2026, 11, 19, 10))
    with tenant_context(world_a.tenant):
        rma = services.return_request_provide_info(
            return_request=reload(rma), actor=world_a.customer, answer="Attached."
        )
    # then: the 10 hours left count from the answer: Thu 10–16 (6) + Fri 8–12 (4)
    rma = reload(rma)
    assert rma.status == ReturnStatus.SUBMITTED
    assert rma.decision_paused_at is None
    assert rma.decision_due_at == local(2026, 11, 20, 12)
    # Mon 15–16 + Tue + Wed + Thu 8–10 were paused: 19 business hours
    assert rma.decision_paused_seconds == 19 * HOUR
    # at risk after 12.8 of the 16 hours: 6 before the pause, Thu 6, Fri 0:48
    assert rma.decision_at_risk_at == local(2026, 11, 20, 8, 48)


def test_taking_the_return_back_pauses_and_submitting_again_resumes(world_a, submitted, clock):
    rma = submitted(local(2026, 11, 16, 9))
    clock.set(local(2026, 11, 16, 11))  # 2 business hours used
    with tenant_context(world_a.tenant):
        rma = services.return_request_reopen(return_request=rma, actor=world_a.customer)
    assert rma.decision_paused_at == local(2026, 11, 16, 11)
    clock.set(local(2026, 11, 17, 8))
    with tenant_context(world_a.tenant):
        rma = services.return_request_submit(return_request=reload(rma), actor=world_a.customer)
    # 14 hours left from Tuesday 8:00: Tue 8 + Wed 6
    assert rma.decision_due_at == local(2026, 11, 18, 14)
    assert rma.decision_started_at == local(2026, 11, 16, 9)  # one clock, not a new one


def test_awaiting_approval_does_not_pause_and_approval_stops_the_clock(
    world_a, policy_a, submitted, clock
):
    # given: returns from 1 PLN are approved by a coordinator
    ReturnPolicy.unscoped.filter(pk=policy_a.pk).update(approval_coordinator_from=Decimal("1"))
    rma = submitted(local(2026, 11, 16, 9))
    clock.set(local(2026, 11, 16, 10))
    with tenant_context(world_a.tenant):
        rma = services.return_request_ask_approval(return_request=rma, actor=world_a.agent)
    assert rma.status == ReturnStatus.AWAITING_APPROVAL
    assert rma.decision_paused_at is None
    assert rma.decision_due_at == local(2026, 11, 18, 9)
    # when: the coordinator approves on Tuesday at 14:00 (at risk from 13:48)
    clock.set(local(2026, 11, 17, 14))
    with tenant_context(world_a.tenant):
        rma = services.return_request_approve(return_request=reload(rma), actor=world_a.coordinator)
    # then: met, and so it stays
    assert rma.decided_at == local(2026, 11, 17, 14)
    assert rma.decision_state(local(2026, 12, 30)) == SlaState.MET


def test_the_due_moment_itself_is_breached_and_a_decision_then_is_met(world_a, submitted, clock):
    rma = submitted(local(2026, 11, 16, 9))
    due = rma.decision_due_at
    assert rma.decision_state(due - datetime.timedelta(microseconds=1)) == SlaState.AT_RISK
    assert rma.decision_state(due) == SlaState.BREACHED
    clock.set(due)
    with tenant_context(world_a.tenant):
        rma = services.return_request_reject(
            return_request=rma, actor=world_a.agent, reason="Outside the terms."
        )
    assert rma.decision_state(due) == SlaState.MET
    # one second later it would have been missed
    late = submitted(local(2026, 11, 16, 9))
    clock.set(late.decision_due_at + datetime.timedelta(seconds=1))
    with tenant_context(world_a.tenant):
        late = services.return_request_approve(return_request=late, actor=world_a.agent)
    assert late.decision_state(local(2026, 12, 30)) == SlaState.MISSED


def test_rejected_while_waiting_for_the_customer_the_wait_does_not_count(world_a, submitted, clock):
    rma = submitted(local(2026, 11, 16, 9))
    clock.set(local(2026, 11, 16, 10))
    with tenant_context(world_a.tenant):
        rma = services.return_request_request_info(
            return_request=rma, actor=world_a.agent, question="Which serial number?"
        )
    clock.set(local(2026, 11, 25, 10))  # long after the first due moment
    with tenant_context(world_a.tenant):
        rma = services.return_request_reject(
            return_request=reload(rma), actor=world_a.agent, reason="No answer."
        )
    assert rma.decision_state(local(2026, 11, 25, 10)) == SlaState.MET


def test_cancelled_before_a_decision_has_no_outcome(world_a, submitted, clock):
    rma = submitted(local(2026, 11, 16, 9))
    clock.set(local(2026, 11, 16, 10))
    with tenant_context(world_a.tenant):
        rma = services.return_request_cancel(return_request=rma, actor=world_a.customer)
    assert rma.decision_state(local(2026, 12, 30)) is None


def test_auto_approved_return_meets_its_clock_at_once(world_a, policy_a, submitted):
    ReturnPolicy.unscoped.filter(pk=policy_a.pk).update(auto_approve_enabled=True)
    rma = submitted(local(2026, 11, 16, 9))
    assert rma.status == ReturnStatus.APPROVED
    assert rma.decided_at == local(2026, 11, 16, 9)
    assert rma.decision_state(local(2026, 12, 30)) == SlaState.MET


def test_no_clock_when_the_policy_sets_zero(policy_a, submitted):
    ReturnPolicy.unscoped.filter(pk=policy_a.pk).update(decision_hours=0)
    rma = submitted(local(2026, 11, 16, 9))
    assert rma.decision_due_at is None and rma.decision_state(local(2026, 12, 30)) is None


# --- the refund clock -------------------------------------------------------------------------


def _received(world, rma, at, clock) -> ReturnRequest:
    clock.set(at)
    with tenant_context(world.tenant):
        rma = services.return_request_approve(return_request=rma, actor=world.agent)
        return services.return_request_mark_received(return_request=rma, actor=world.agent)


def test_refund_clock_over_the_autumn_dst_change_and_its_resolution(world_a, submitted, clock):
    # given: goods received on Thursday 22 October 2026 at 15:00 CEST; clocks go back on
    # Sunday 25th
    rma = _received(world_a, submitted(local(2026, 10, 21, 9)), local(2026, 10, 22, 15), clock)
    # then: 7 working days of 8 hours (56 h): Thu 1, Fri, Mon–Fri (41 + 8 = 49), Mon 2 Nov 7 h
    assert rma.refund_due_at == local(2026, 11, 2, 15)
    assert rma.refund_due_at == utc(2026, 11, 2, 14)  # CET again
    # at risk after 44.8 h: Thu 1 + Fri 8 + Mon–Thu 32 = 41, Fri 30 Oct 3:48
    assert rma.refund_at_risk_at == local(2026, 10, 30, 11, 48)
    assert rma.refund_state(local(2026, 10, 30, 11, 47)) == SlaState.ON_TRACK
    assert rma.refund_state(local(2026, 10, 30, 11, 48)) == SlaState.AT_RISK
    # when: inspected and resolved on Monday 2 November at 14:00
    clock.set(local(2026, 11, 2, 14))
    with tenant_context(world_a.tenant):
        rma = services.return_request_inspect(
            return_request=rma, actor=world_a.agent, results=full_inspection(rma)
        )
        rma = services.return_request_resolve(
            return_request=rma, actor=world_a.agent, resolution="refund"
        )
    # then: the resolution stops the clock in time
    assert rma.resolved_at == local(2026, 11, 2, 14)
    assert rma.refund_state(local(2026, 12, 30)) == SlaState.MET


def test_refund_days_of_a_customers_override(world_a, submitted, clock):
    # given: company A's contract promises the refund within 2 working days
    ReturnPolicy.unscoped.create(
        tenant=world_a.tenant, customer_account=world_a.company, refund_days=2
    )
    rma = _received(world_a, submitted(local(2026, 11, 16, 9)), local(2026, 11, 19, 12), clock)
    # Thu 12–16 (4) + Fri (8) + Mon 8–12 (4)
    assert rma.refund_due_at == local(2026, 11, 23, 12)


# --- policy and calendar -----------------------------------------------------------------------


def test_policy_rules_merge_and_snapshot_the_clocks(world_a, policy_a):
    assert (PolicyRules().decision_hours, PolicyRules().refund_days) == (16, 7)
    rules = effective_rules([PolicyLayer(decision_hours=8), PolicyLayer(refund_days=0)])
    assert (rules.decision_hours, rules.refund_days) == (8, 0)
    assert PolicyRules.from_snapshot(rules.to_snapshot()) == rules
    # a snapshot taken before the clocks existed: the defaults
    old = {
        k: v for k, v in rules.to_snapshot().items() if k not in ("decision_hours", "refund_days")
    }
    assert (
        PolicyRules.from_snapshot(old).decision_hours,
        PolicyRules.from_snapshot(old).refund_days,
    ) == (16, 7)
    ReturnPolicy.unscoped.filter(pk=policy_a.pk).update(decision_hours=24, refund_days=5)
    with tenant_context(world_a.tenant):
        rules = return_rules_for(customer_account=world_a.company)
    assert (rules.decision_hours, rules.refund_days) == (24, 5)


def test_the_calendar_comes_from_the_support_settings_of_the_tenant(world_a, world_b):
    SupportSettings.unscoped.create(
        tenant=world_a.tenant, day_start=datetime.time(7), day_end=datetime.time(15)
    )
    Holiday.unscoped.create(tenant=world_a.tenant, date=datetime.date(2026, 12, 24), name="Eve")
    calendar_a = business_calendar(world_a.tenant)
    assert isinstance(calendar_a, BusinessCalendar)
    assert (calendar_a.day_start, calendar_a.day_end) == (datetime.time(7), datetime.time(15))
    assert calendar_a.holidays == frozenset({datetime.date(2026, 12, 24)})
    assert business_calendar(world_b.tenant).holidays == frozenset()


# --- back-office ----------------------------------------------------------------------------


def test_back_office_shows_the_clocks_and_queues_them(world_a, world_b, submitted, login):
    # given: three submitted returns, their decision clocks moved so that one is on track, one
    # at risk and one breached now; a breached return of tenant B
    on_track, at_risk, breached = (submitted(local(2026, 11, 16, 9)) for _ in range(3))
    foreign = submitted(local(2026, 11, 16, 9), world=world_b)
    now = timezone.now()
    day = datetime.timedelta(days=30)
    moments = {
        on_track.pk: (now + day, now + 2 * day),
        at_risk.pk: (now - day, now + day),
        breached.pk: (now - 2 * day, now - day),
        foreign.pk: (now - 2 * day, now - day),
    }
    for pk, (risk, due) in moments.items():
        ReturnRequest.unscoped.filter(pk=pk).update(decision_at_risk_at=risk, decision_due_at=due)
    client = login(world_a.agent)
    changelist = reverse("admin:returns_returnrequest_changelist")

    def listed(query: str) -> list[int]:
        response = client.get(changelist + query)
        return sorted(obj.pk for obj in response.context["cl"].result_list)

    # then
    assert listed("?queue=sla_at_risk") == [at_risk.pk]
    assert listed("?queue=sla_breached") == [breached.pk]
    tabs = {str(t["label"]): t["count"] for t in client.get(changelist).context["queues"]}
    assert (tabs["SLA at risk"], tabs["SLA breached"]) == (1, 1)
    page = client.get(changelist).content.decode()
    assert 'class="sla-badge sla-breached"' in page and 'class="sla-badge sla-on_track"' in page
    detail = client.get(reverse("admin:returns_returnrequest_change", args=[breached.pk]))
    text = detail.content.decode()
    due = date_format(timezone.localtime(moments[breached.pk][1], WARSAW), "DATETIME_FORMAT")
    assert f"due {due} (Europe/Warsaw)" in text
    assert 'class="sla-badge sla-breached"' in text

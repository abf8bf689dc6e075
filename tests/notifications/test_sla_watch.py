"""The SLA watch and auto-close, with injected time: each threshold is announced once, to the
right people, per tenant; resolved cases close after the tenant's days, not before."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, ComplaintEvent, ComplaintStatus, SupportSettings
from complaints.sla_watch import complaints_auto_close, sla_scan
from complaints.tasks import auto_close_complaints_task, scan_sla_task
from returns.maintenance import returns_auto_close
from returns.maintenance_tasks import auto_close_returns_task
from returns.models import ReturnEvent, ReturnRequest, ReturnStatus
from rma_portal.accounts.models import Role
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import tenant_context
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")


def nov(day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    """November 2026 in Warsaw: Mon 16 – Fri 20 and Mon 23 – Fri 27 are working days."""
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=WARSAW)


# Filed Monday 09:00, normal priority (8 h / 40 h): the first response is at risk from 15:24
# (80 % of 8 business hours) and due Tuesday 09:00; the resolution is due Monday 23rd 09:00.
FILED = nov(16, 9)


def file_complaint(world, *, now=FILED) -> Complaint:
    with tenant_context(world.tenant):
        return services.complaint_file(
            customer_account=world.company,
            reporter=world.customer,
            category="delivery",
            priority="normal",
            subject="Pallet arrived late",
            description="Three days late.",
            now=now,
        )


def scan(world, now) -> int:
    with tenant_context(world.tenant):
        return sla_scan(tenant=world.tenant, now=now)


def sla_mails(event: str) -> list[tuple[str, str]]:
    """(recipient e-mail, clock) of every queued SLA e-mail of `event`."""
    return [
        (n.email, n.context["clock"])
        for n in Notification.unscoped.filter(event=event).order_by("pk")
    ]


def sla_events(complaint) -> list[tuple[str, str, bool]]:
    return list(
        ComplaintEvent.unscoped.filter(complaint=complaint, action__startswith="sla_")
        .order_by("pk")
        .values_list("action", "note", "is_public")
    )


def test_at_risk_mails_the_assignee_once(world_a):
    # given: a complaint assigned to the agent
    complaint = file_complaint(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_assign(
            complaint=complaint,
            actor=world_a.coordinator,
            assignee=world_a.agent,
            now=nov(16, 10),
        )
    # when: scanned just before and after the at-risk moment, then again
    assert scan(world_a, nov(16, 15, 20)) == 0
    assert scan(world_a, nov(16, 15, 30)) == 1
    assert scan(world_a, nov(16, 15, 35)) == 0
    assert scan(world_a, nov(16, 16, 0)) == 0
    # then
    assert sla_mails("complaint.sla_at_risk") == [(world_a.agent.email, "first_response")]
    assert sla_mails("complaint.sla_breached") == []
    assert sla_events(complaint) == [("sla_at_risk", "first_response", False)]
    complaint.refresh_from_db()
    assert complaint.sla_warned == ["first_response:at_risk"]


def test_at_risk_without_an_assignee_is_recorded_without_mail(world_a):
    complaint = file_complaint(world_a)

    assert scan(world_a, nov(16, 15, 30)) == 1
    assert scan(world_a, nov(16, 15, 40)) == 0

    assert sla_mails("complaint.sla_at_risk") == []
    assert sla_events(complaint) == [("sla_at_risk", "first_response", False)]


def test_breach_mails_every_active_coordinator_of_the_tenant_once(world_a, world_b):
    # given: a second and an inactive coordinator in A, and B's coordinator
    second = UserFactory(tenant=world_a.tenant, role=Role.COORDINATOR)
    UserFactory(tenant=world_a.tenant, role=Role.COORDINATOR, is_active=False)
    complaint = file_complaint(world_a)
    # when: scanned after the first-response due time (Tuesday 09:00), twice
    assert scan(world_a, nov(17, 10)) == 1
    assert scan(world_a, nov(17, 11)) == 0
    # then
    assert sorted(sla_mails("complaint.sla_breached")) == sorted(
        [(world_a.coordinator.email, "first_response"), (second.email, "first_response")]
    )
    assert sla_mails("complaint.sla_at_risk") == []  # a breach makes "at risk" moot
    assert sla_events(complaint) == [("sla_breached", "first_response", False)]
    # The e-mail carries the case and when it was due, in the tenant's time.
    notification = Notification.unscoped.filter(event="complaint.sla_breached").first()
    assert notification.context["code"] == complaint.code
    assert notification.context["due_at"] == "2026-11-17 09:00"


def test_each_clock_is_announced_at_each_threshold(world_a):
    complaint = file_complaint(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_assign(
            complaint=complaint, actor=world_a.agent, assignee=world_a.agent, now=nov(16, 9, 5)
        )
    moments = [nov(16, 15, 30), nov(17, 10), nov(20, 9, 30), nov(23, 9, 30), nov(24, 9)]
    announced = [scan(world_a, moment) for moment in moments]

    assert announced == [1, 1, 1, 1, 0]
    complaint.refresh_from_db()
    assert complaint.sla_warned == [
        "first_response:at_risk",
        "first_response:breached",
        "resolution:at_risk",
        "resolution:breached",
    ]
    assert sla_mails("complaint.sla_at_risk") == [
        (world_a.agent.email, "first_response"),
        (world_a.agent.email, "resolution"),
    ]
    assert sla_mails("complaint.sla_breached") == [
        (world_a.coordinator.email, "first_response"),
        (world_a.coordinator.email, "resolution"),
    ]


def test_answered_clocks_and_paused_or_resolved_complaints_are_skipped(world_a):
    answered = file_complaint(world_a)
    paused = file_complaint(world_a)
    resolved = file_complaint(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=answered, actor=world_a.agent, body="Looking into it.", now=nov(16, 10)
        )
        services.complaint_assign(
            complaint=paused, actor=world_a.agent, assignee=world_a.agent, now=nov(16, 10)
        )
        services.complaint_start(complaint=paused, actor=world_a.agent, now=nov(16, 10))
        services.complaint_wait_for_customer(complaint=paused, actor=world_a.agent, now=nov(16, 11))
        services.complaint_assign(
            complaint=resolved, actor=world_a.agent, assignee=world_a.agent, now=nov(16, 10)
        )
        services.complaint_resolve(
            complaint=resolved, actor=world_a.agent, resolution="Credited.", now=nov(16, 12)
        )

    # Tuesday 10:00: every first response would be breached, no resolution is at risk yet.
    assert scan(world_a, nov(17, 10)) == 0

    assert not Notification.unscoped.filter(event__startswith="complaint.sla_").exists()
    assert not ComplaintEvent.unscoped.filter(action__startswith="sla_").exists()


def test_the_scan_of_one_tenant_never_touches_another(world_a, world_b):
    complaint_b = file_complaint(world_b)

    assert scan(world_a, nov(17, 10)) == 0

    complaint_b.refresh_from_db()
    assert complaint_b.sla_warned == []
    assert not Notification.unscoped.filter(event__startswith="complaint.sla_").exists()


def test_the_task_scans_every_tenant_and_mails_each_its_own_coordinators(world_a, world_b):
    # Filed long ago, so both clocks are breached whatever day the test runs.
    long_ago = timezone.now() - datetime.timedelta(days=30)
    complaint_a = file_complaint(world_a, now=long_ago)
    complaint_b = file_complaint(world_b, now=long_ago)

    assert scan_sla_task() == 4
    assert scan_sla_task() == 0

    def recipients(complaint):
        return {
            n.email
            for n in Notification.unscoped.filter(event="complaint.sla_breached")
            if n.context["complaint_id"] == complaint.pk
        }

    assert recipients(complaint_a) == {world_a.coordinator.email}
    assert recipients(complaint_b) == {world_b.coordinator.email}
    assert Notification.unscoped.get(email=world_b.coordinator.email, context__clock="resolution")
    assert {n.tenant_id for n in Notification.unscoped.filter(email=world_a.coordinator.email)} == {
        world_a.tenant.pk
    }


def test_a_reopened_complaint_has_its_new_resolution_clock_announced_again(world_a):
    complaint = file_complaint(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_assign(
            complaint=complaint, actor=world_a.agent, assignee=world_a.agent, now=nov(16, 9, 5)
        )
    scan(world_a, nov(23, 10))  # first response and resolution breached
    with tenant_context(world_a.tenant):
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="Credited.", now=nov(23, 11)
        )
        services.complaint_reopen(
            complaint=complaint, actor=world_a.customer, reason="Not credited.", now=nov(23, 12)
        )

    assert scan(world_a, datetime.datetime(2026, 12, 10, 12, tzinfo=WARSAW)) == 1

    assert sla_mails("complaint.sla_breached") == [
        (world_a.coordinator.email, "first_response"),
        (world_a.coordinator.email, "resolution"),
        (world_a.coordinator.email, "resolution"),
    ]


# --- auto-close -------------------------------------------------------------------------


def resolved_complaint(world, *, resolved_at) -> Complaint:
    complaint = file_complaint(world, now=resolved_at - datetime.timedelta(hours=2))
    with tenant_context(world.tenant):
        services.complaint_assign(
            complaint=complaint, actor=world.agent, assignee=world.agent, now=resolved_at
        )
        return services.complaint_resolve(
            complaint=complaint, actor=world.agent, resolution="Credited.", now=resolved_at
        )


def test_resolved_complaints_close_after_the_tenants_days_and_not_before(world_a, world_b):
    SupportSettings.unscoped.create(tenant=world_a.tenant, auto_close_days=5)
    resolved_at = nov(16, 12)
    complaint = resolved_complaint(world_a, resolved_at=resolved_at)
    open_one = file_complaint(world_a)
    other_tenant = resolved_complaint(world_b, resolved_at=resolved_at)

    def close(now):
        with tenant_context(world_a.tenant):
            return complaints_auto_close(tenant=world_a.tenant, now=now)

    assert close(resolved_at + datetime.timedelta(days=4, hours=23)) == 0
    assert Complaint.unscoped.get(pk=complaint.pk).status == ComplaintStatus.RESOLVED

    assert close(resolved_at + datetime.timedelta(days=5, minutes=1)) == 1
    closed = Complaint.unscoped.get(pk=complaint.pk)
    assert closed.status == ComplaintStatus.CLOSED
    event = ComplaintEvent.unscoped.filter(complaint=complaint).order_by("pk").last()
    assert (event.action, event.actor_id) == ("closed", None)
    assert Complaint.unscoped.get(pk=open_one.pk).status == ComplaintStatus.NEW
    assert Complaint.unscoped.get(pk=other_tenant.pk).status == ComplaintStatus.RESOLVED
    assert close(resolved_at + datetime.timedelta(days=6)) == 0


def test_the_complaint_task_uses_the_default_days_per_tenant(world_a, world_b):
    now = timezone.now()
    old = resolved_complaint(world_a, resolved_at=now - datetime.timedelta(days=15))
    recent = resolved_complaint(world_b, resolved_at=now - datetime.timedelta(days=13))

    assert auto_close_complaints_task() == 1

    assert Complaint.unscoped.get(pk=old.pk).status == ComplaintStatus.CLOSED
    assert Complaint.unscoped.get(pk=recent.pk).status == ComplaintStatus.RESOLVED


def resolved_return(world, *, resolved_at, number) -> ReturnRequest:
    return ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number=number,
        customer_account=world.company,
        requester=world.customer,
        status=ReturnStatus.RESOLVED,
        resolved_at=resolved_at,
    )


def test_resolved_returns_close_after_the_tenants_days_and_not_before(world_a):
    SupportSettings.unscoped.create(tenant=world_a.tenant, auto_close_days=3)
    resolved_at = nov(16, 12)
    rma = resolved_return(world_a, resolved_at=resolved_at, number="RMA-1")

    def close(now):
        with tenant_context(world_a.tenant):
            return returns_auto_close(tenant=world_a.tenant, now=now)

    assert close(resolved_at + datetime.timedelta(days=2, hours=23)) == 0
    assert ReturnRequest.unscoped.get(pk=rma.pk).status == ReturnStatus.RESOLVED

    assert close(resolved_at + datetime.timedelta(days=3, minutes=1)) == 1
    assert ReturnRequest.unscoped.get(pk=rma.pk).status == ReturnStatus.CLOSED
    event = ReturnEvent.unscoped.filter(return_request=rma).order_by("pk").last()
    assert (event.action, event.actor_id) == ("closed", None)


def test_the_return_task_closes_each_tenants_old_resolved_returns(world_a, world_b):
    now = timezone.now()
    SupportSettings.unscoped.create(tenant=world_b.tenant, auto_close_days=30)
    old_a = resolved_return(world_a, resolved_at=now - datetime.timedelta(days=15), number="A1")
    old_b = resolved_return(world_b, resolved_at=now - datetime.timedelta(days=15), number="B1")

    assert auto_close_returns_task() == 1

    assert ReturnRequest.unscoped.get(pk=old_a.pk).status == ReturnStatus.CLOSED
    assert ReturnRequest.unscoped.get(pk=old_b.pk).status == ReturnStatus.RESOLVED

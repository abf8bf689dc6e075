"""The SLA watch on complaint stages, with injected time: a stage at risk mails the assignee,
an overdue stage every active coordinator, each once per visit and kind however often the
watch runs (also two at once); paused stages and other tenants are left alone; a stage
entered again is a new visit, announced anew."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, ComplaintEvent, ComplaintStageVisit
from complaints.sla_watch import sla_scan, stage_scan
from complaints.tasks import scan_sla_task
from rma_portal.accounts.models import Role
from rma_portal.notifications.models import Notification
from rma_portal.notifications.rendering import render_email
from rma_portal.tenancy.context import tenant_context
from tests.concurrency import run_concurrently
from tests.factories import UserFactory

WARSAW = ZoneInfo("Europe/Warsaw")
AT_RISK = "complaint.stage_at_risk"
BREACHED = "complaint.stage_breached"


def nov(day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    """November 2026 in Warsaw: Mon 16 – Fri 20 and Mon 23 – Fri 27 are working days."""
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=WARSAW)


# Filed Monday 09:00: the acknowledge stage (1 working day = 8 h) is at risk from 15:24 and
# due Tuesday 09:00.
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


ASSIGNED = nov(16, 9, 5)


def assign(world, complaint, now=ASSIGNED) -> Complaint:
    with tenant_context(world.tenant):
        return services.complaint_assign(
            complaint=complaint, actor=world.agent, assignee=world.agent, now=now
        )


def scan(world, now) -> int:
    with tenant_context(world.tenant):
        return stage_scan(tenant=world.tenant, now=now)


def mails(event: str) -> list[tuple[str, str]]:
    """(recipient e-mail, stage key) of every queued stage e-mail of `event`."""
    return [
        (n.email, n.context["stage"])
        for n in Notification.unscoped.filter(event=event).order_by("pk")
    ]


def stage_events(complaint) -> list[tuple[str, str, bool]]:
    return list(
        ComplaintEvent.unscoped.filter(complaint=complaint, action__startswith="stage_")
        .order_by("pk")
        .values_list("action", "note", "is_public")
    )


@pytest.mark.django_db
def test_at_risk_mails_the_assignee_once_then_the_breach_mails_the_coordinators_once(
    world_a, world_b
):
    second = UserFactory(tenant=world_a.tenant, role=Role.COORDINATOR)
    UserFactory(tenant=world_a.tenant, role=Role.COORDINATOR, is_active=False)
    complaint = assign(world_a, file_complaint(world_a))

    announced = [
        scan(world_a, moment)
        for moment in (
            nov(16, 15, 23),  # a minute before the at-risk moment
            nov(16, 15, 24),  # the at-risk moment itself
            nov(16, 15, 30),
            nov(17, 8, 59),
            nov(17, 9),  # the due moment itself
            nov(17, 10),
            nov(18, 10),
        )
    ]

    assert announced == [0, 1, 0, 0, 1, 0, 0]
    assert mails(AT_RISK) == [(world_a.agent.email, "acknowledge")]
    assert sorted(mails(BREACHED)) == sorted(
        [(world_a.coordinator.email, "acknowledge"), (second.email, "acknowledge")]
    )
    assert not Notification.unscoped.filter(email=world_b.coordinator.email).exists()
    assert stage_events(complaint) == [
        ("stage_at_risk", "Acknowledge", False),
        ("stage_breached", "Acknowledge", False),
    ]
    visit = ComplaintStageVisit.unscoped.get(complaint=complaint)
    assert (visit.at_risk_notified_at, visit.breach_notified_at) == (nov(16, 15, 24), nov(17, 9))
    # The e-mail names the stage and when it was due, in the tenant's time.
    notice = Notification.unscoped.filter(event=BREACHED).first()
    assert (notice.context["stage_name"], notice.context["due_at"]) == (
        "Acknowledge",
        "2026-11-17 09:00",
    )
    assert notice.context["code"] == complaint.code


@pytest.mark.django_db
def test_a_breach_found_late_is_announced_alone_and_unassigned_complaints_mail_nobody_at_risk(
    world_a,
):
    late = file_complaint(world_a)
    unassigned = file_complaint(world_a)
    assign(world_a, late)

    assert scan(world_a, nov(16, 15, 30)) == 2  # both at risk; only the assigned one mails
    assert mails(AT_RISK) == [(world_a.agent.email, "acknowledge")]
    assert stage_events(unassigned) == [("stage_at_risk", "Acknowledge", False)]

    third = file_complaint(world_a)
    assert scan(world_a, nov(18, 9)) == 3  # the first two breached, the third as well
    assert stage_events(third) == [("stage_breached", "Acknowledge", False)]  # no "at risk"
    assert len(mails(BREACHED)) == 3


@pytest.mark.django_db
def test_paused_left_and_finished_stages_are_not_announced(world_a):
    paused = assign(world_a, file_complaint(world_a))
    left = file_complaint(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_start(complaint=paused, actor=world_a.agent, now=nov(16, 9, 10))
        services.complaint_wait_for_customer(
            complaint=paused, actor=world_a.agent, now=nov(16, 9, 20)
        )
        services.complaint_reject(
            complaint=left, actor=world_a.agent, reason="Not ours.", now=nov(16, 10)
        )

    assert scan(world_a, nov(30, 12)) == 0

    assert not Notification.unscoped.filter(event__startswith="complaint.stage_").exists()
    assert not ComplaintEvent.unscoped.filter(action__startswith="stage_").exists()


@pytest.mark.django_db
def test_a_stage_entered_again_is_a_new_visit_announced_anew(world_a):
    complaint = assign(world_a, file_complaint(world_a))
    with tenant_context(world_a.tenant):
        services.complaint_start(complaint=complaint, actor=world_a.agent, now=nov(16, 10))
    # analysis from Monday 10:00 is due Thursday 10:00
    assert scan(world_a, nov(19, 11)) == 1
    with tenant_context(world_a.tenant):
        services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, question="Batch?", now=nov(19, 12)
        )
        services.complaint_reply(
            complaint=complaint, actor=world_a.customer, body="42.", now=nov(19, 13)
        )
        services.complaint_reply(
            complaint=complaint, actor=world_a.agent, body="Thanks.", now=nov(19, 14)
        )
    # the second analysis visit from Thursday 14:00 is due Tuesday 24th 14:00
    assert scan(world_a, nov(24, 13)) == 1  # at risk
    assert scan(world_a, nov(24, 15)) == 1  # overdue
    assert scan(world_a, nov(25, 9)) == 0

    assert [key for _email, key in mails(BREACHED)] == ["analysis", "analysis"]
    keys = set(
        Notification.unscoped.filter(event=BREACHED).values_list("idempotency_key", flat=True)
    )
    assert len(keys) == 2  # one per visit


@pytest.mark.django_db
def test_the_sla_watch_runs_the_stage_watch_and_keeps_its_own_count(world_a):
    complaint = assign(world_a, file_complaint(world_a))

    with tenant_context(world_a.tenant):
        announced = sla_scan(tenant=world_a.tenant, now=nov(16, 15, 30))

    assert announced == 1  # the first-response clock only
    assert mails(AT_RISK) == [(world_a.agent.email, "acknowledge")]
    assert stage_events(complaint) == [("stage_at_risk", "Acknowledge", False)]
    with tenant_context(world_a.tenant):
        assert sla_scan(tenant=world_a.tenant, now=nov(16, 15, 40)) == 0
    assert len(mails(AT_RISK)) == 1


@pytest.mark.django_db
def test_the_task_announces_each_tenants_overdue_stages_to_its_own_coordinators(world_a, world_b):
    long_ago = timezone.now() - datetime.timedelta(days=30)
    complaint_a = file_complaint(world_a, now=long_ago)
    complaint_b = file_complaint(world_b, now=long_ago)

    scan_sla_task()
    scan_sla_task()

    def recipients(complaint):
        return [
            n.email
            for n in Notification.unscoped.filter(event=BREACHED)
            if n.context["complaint_id"] == complaint.pk
        ]

    assert recipients(complaint_a) == [world_a.coordinator.email]
    assert recipients(complaint_b) == [world_b.coordinator.email]


@pytest.mark.django_db
@pytest.mark.parametrize("event", [AT_RISK, BREACHED])
def test_the_stage_emails_render_in_english_and_polish(world_a, event):
    complaint = assign(world_a, file_complaint(world_a))
    scan(world_a, nov(16, 15, 30) if event == AT_RISK else nov(17, 10))
    notice = Notification.unscoped.get(event=event)
    context = {**notice.context, "tenant": world_a.tenant}

    for language, due in (("en", "17 Nov 2026, 09:00"), ("pl", "17.11.2026, 09:00")):
        email = render_email(event=event, language=language, context=context)
        assert complaint.code in email.subject
        assert "Acknowledge" in email.subject
        assert due in email.text
        assert due in email.html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_watches_at_once_announce_each_threshold_once(world_a):
    for _ in range(3):
        assign(world_a, file_complaint(world_a))

    outcomes = run_concurrently(
        world_a.tenant,
        [lambda: stage_scan(tenant=world_a.tenant, now=nov(17, 10)) for _ in range(4)],
    )

    assert [kind for kind, _result in outcomes] == ["ok"] * 4, outcomes
    assert sum(result for _kind, result in outcomes) == 3
    assert len(mails(BREACHED)) == 3
    assert ComplaintEvent.unscoped.filter(action="stage_breached").count() == 3

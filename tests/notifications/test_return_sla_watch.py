"""The SLA watch of returns (returns/sla_watch.py), with injected time: each clock's "at risk"
is e-mailed to the assignee and its breach to the tenant's coordinators, once each, with an
internal timeline entry; paused, decided and resolved clocks and other tenants' returns are
left alone."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from returns import services
from returns.maintenance_tasks import scan_return_sla_task
from returns.models import ReturnEvent, ReturnLine, ReturnRequest
from returns.sla_watch import return_sla_scan
from rma_portal.accounts.models import Role
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import tenant_context
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")


def nov(day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    """November 2026 in Warsaw: Mon 16 – Fri 20 and Mon 23 – Fri 27 are working days."""
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=WARSAW)


# Submitted Monday 16 November at 9:00: the decision (16 business hours) is at risk from
# Tuesday 13:48 and due Wednesday 9:00.
SUBMITTED = nov(16, 9)
AT_RISK = nov(17, 13, 48)
DUE = nov(18, 9)


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        def set(self, moment: datetime.datetime) -> None:
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


@pytest.fixture
def submit(clock):
    """A return of `world`'s company submitted at `at`, assigned to its agent."""

    def _submit(world, at=SUBMITTED, *, assign=True) -> ReturnRequest:
        clock.set(at)
        tenant = world.tenant
        order = OrderFactory(
            tenant=tenant,
            customer_account=world.company,
            order_date=at.date() - datetime.timedelta(days=7),
            delivery_date=at.date() - datetime.timedelta(days=5),
        )
        line = OrderLineFactory(
            tenant=tenant, order=order, line_number=1, product=ProductFactory(tenant=tenant)
        )
        with tenant_context(tenant):
            rma = services.return_request_create(
                customer_account=world.company,
                requester=world.customer,
                lines=[services.LineInput(order_line_id=line.pk, quantity=1, reason="defective")],
                requested_resolution="refund",
                return_method="drop_off",
            )
            rma = services.return_request_submit(return_request=rma, actor=world.customer)
            if assign:
                rma = services.return_request_assign(
                    return_request=rma, actor=world.agent, assignee=world.agent
                )
        return rma

    return _submit


def scan(world, now) -> int:
    with tenant_context(world.tenant):
        return return_sla_scan(tenant=world.tenant, now=now)


def mails(event: str) -> list[tuple[str, str, str]]:
    """(recipient, clock, return number) of each queued e-mail of `event`."""
    return [
        (n.email, n.context["clock"], n.context["number"])
        for n in Notification.unscoped.filter(event=event).order_by("pk")
    ]


def sla_events(rma) -> list[tuple[str, str, bool, datetime.datetime]]:
    return list(
        ReturnEvent.unscoped.filter(return_request=rma, action__startswith="sla_")
        .order_by("pk")
        .values_list("action", "note", "is_public", "created_at")
    )


def test_at_risk_mails_the_assignee_once(world_a, submit):
    rma = submit(world_a)
    before = Notification.unscoped.count()
    # when: scanned just before and at the at-risk moment, then again
    assert scan(world_a, AT_RISK - datetime.timedelta(seconds=1)) == 0
    assert scan(world_a, AT_RISK) == 1
    assert scan(world_a, AT_RISK + datetime.timedelta(minutes=5)) == 0
    # then: one e-mail to the agent, an internal timeline entry; nothing to the customer
    assert mails("return.sla_at_risk") == [(world_a.agent.email, "decision", rma.number)]
    assert Notification.unscoped.count() == before + 1
    assert sla_events(rma) == [("sla_at_risk", "decision", False, AT_RISK)]
    # the notice is bookkeeping: the version staff see stays
    assert ReturnRequest.unscoped.get(pk=rma.pk).version == rma.version
    assert ReturnRequest.unscoped.get(pk=rma.pk).sla_warned == ["decision:at_risk"]


def test_breach_mails_the_coordinators_once_at_the_due_moment(world_a, submit):
    second = UserFactory(tenant=world_a.tenant, role=Role.COORDINATOR)
    UserFactory(tenant=world_a.tenant, role=Role.COORDINATOR, is_active=False)
    rma = submit(world_a)
    scan(world_a, AT_RISK)
    assert scan(world_a, DUE - datetime.timedelta(seconds=1)) == 0
    assert scan(world_a, DUE) == 1
    assert scan(world_a, DUE + datetime.timedelta(hours=3)) == 0
    assert sorted(mails("return.sla_breached")) == sorted(
        [
            (world_a.coordinator.email, "decision", rma.number),
            (second.email, "decision", rma.number),
        ]
    )
    assert [e[0] for e in sla_events(rma)] == ["sla_at_risk", "sla_breached"]


def test_first_seen_past_due_only_the_breach_is_announced(world_a, submit):
    submit(world_a)
    assert scan(world_a, DUE + datetime.timedelta(days=1)) == 1
    assert mails("return.sla_at_risk") == []
    assert len(mails("return.sla_breached")) == 1


def test_a_paused_or_decided_clock_is_not_announced(world_a, submit, clock):
    waiting = submit(world_a)
    decided = submit(world_a)
    clock.set(nov(16, 10))
    with tenant_context(world_a.tenant):
        services.return_request_request_info(
            return_request=waiting, actor=world_a.agent, question="Photos?"
        )
        services.return_request_approve(return_request=decided, actor=world_a.agent)
    assert scan(world_a, DUE + datetime.timedelta(days=5)) == 0
    assert Notification.unscoped.filter(event__startswith="return.sla").count() == 0


def test_the_refund_clock_is_announced_on_its_own(world_a, submit, clock):
    rma = submit(world_a)
    scan(world_a, AT_RISK)  # the decision clock's notice
    # when: approved in time, the goods arrive on Friday 20 November at 8:00: 7 working days
    # (56 h) are due on Monday 30th at 16:00 and at risk after 44.8 h, Friday 27th at 12:48
    clock.set(nov(17, 14))
    with tenant_context(world_a.tenant):
        rma = services.return_request_approve(return_request=rma, actor=world_a.agent)
    clock.set(nov(20, 8))
    with tenant_context(world_a.tenant):
        rma = services.return_request_mark_received(return_request=rma, actor=world_a.agent)
    assert rma.refund_at_risk_at == nov(27, 12, 48)
    assert scan(world_a, nov(27, 12, 47)) == 0
    assert scan(world_a, nov(27, 12, 48)) == 1
    assert rma.refund_due_at == nov(30, 16)
    assert scan(world_a, nov(30, 15, 59)) == 0
    assert scan(world_a, nov(30, 16)) == 1
    assert scan(world_a, datetime.datetime(2026, 12, 2, 8, tzinfo=WARSAW)) == 0
    assert [(e[0], e[1]) for e in sla_events(rma)] == [
        ("sla_at_risk", "decision"),
        ("sla_at_risk", "refund"),
        ("sla_breached", "refund"),
    ]
    assert mails("return.sla_at_risk")[-1] == (world_a.agent.email, "refund", rma.number)


def test_resolved_in_time_nothing_is_announced(world_a, submit, clock):
    rma = submit(world_a)
    clock.set(nov(16, 10))
    with tenant_context(world_a.tenant):
        rma = services.return_request_approve(return_request=rma, actor=world_a.agent)
        rma = services.return_request_mark_received(return_request=rma, actor=world_a.agent)
        line = ReturnLine.unscoped.get(return_request=rma)
        rma = services.return_request_inspect(
            return_request=rma,
            actor=world_a.agent,
            results={line.pk: services.InspectionInput("unopened", "restock", 1)},
        )
        services.return_request_resolve(
            return_request=rma, actor=world_a.agent, resolution="refund"
        )
    assert scan(world_a, nov(30, 12)) == 0


def test_unassigned_at_risk_is_recorded_without_an_email(world_a, submit):
    rma = submit(world_a, assign=False)
    assert scan(world_a, AT_RISK) == 1
    assert mails("return.sla_at_risk") == []
    assert [e[0] for e in sla_events(rma)] == ["sla_at_risk"]
    assert scan(world_a, AT_RISK) == 0


def test_another_tenants_returns_are_untouched(world_a, world_b, submit):
    rma_a = submit(world_a)
    rma_b = submit(world_b)
    assert scan(world_a, DUE) == 1
    assert sla_events(rma_b) == []
    assert ReturnRequest.unscoped.get(pk=rma_b.pk).sla_warned == []
    assert [m[0] for m in mails("return.sla_breached")] == [world_a.coordinator.email]
    # tenant B's own scan announces its own
    assert scan(world_b, DUE) == 1
    assert {m[0] for m in mails("return.sla_breached")} == {
        world_a.coordinator.email,
        world_b.coordinator.email,
    }
    assert ReturnRequest.unscoped.get(pk=rma_a.pk).sla_warned == ["decision:breached"]


def test_the_beat_task_scans_every_tenant(world_a, world_b, submit, clock):
    submit(world_a)
    submit(world_b)
    clock.set(DUE)
    assert scan_return_sla_task.apply().get() == 2
    assert scan_return_sla_task.apply().get() == 0


def test_the_emails_render(world_a, submit, mailoutbox):
    from rma_portal.notifications.services import notification_deliver

    rma = submit(world_a)
    scan(world_a, DUE)
    with tenant_context(world_a.tenant):
        for row in Notification.unscoped.filter(event="return.sla_breached"):
            notification_deliver(notification_id=row.pk)
    message = mailoutbox[-1]
    assert rma.number in message.subject and "deadline has been missed" in message.subject
    assert "18 Nov 2026, 09:00 (Europe/Warsaw)" in message.body
    assert "still waits for a decision" in message.body
    (html, _mimetype), *_rest = message.alternatives
    assert rma.number in html and "still waits for a decision" in html

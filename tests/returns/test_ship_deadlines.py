"""Approved returns whose goods never come: a reminder to send them, then expiry, which
releases the quantity they held in the ledger and tells the customer (returns.maintenance)."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from customers.models import OrderLine
from returns import services
from returns.maintenance import returns_ship_deadlines
from returns.maintenance_tasks import ship_deadlines_task
from returns.models import ReturnEvent, ReturnPolicy, ReturnRequest, ReturnStatus
from returns.policies import PolicyRules
from returns.selectors import claimed_quantities
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import tenant_context

from .conftest import return_state, run_concurrently

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
SECOND = datetime.timedelta(seconds=1)


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def local_day(rma) -> str:
    """The last day the goods may arrive, in the tenant's calendar."""
    return rma.ship_by.astimezone(ZoneInfo(rma.tenant.timezone)).date().isoformat()


# --- the arithmetic (pure) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approved_at", "timezone", "within", "remind", "expected_remind", "expected_ship_by"),
    [
        # Approved on Tuesday 3 March 2026 at 10:00 in Warsaw (CET, UTC+1): 30 days later is
        # Thursday 2 April, now CEST (UTC+2): until 23:59:59 local = 21:59:59 UTC.
        (
            "2026-03-03T09:00:00+00:00",
            "Europe/Warsaw",
            30,
            7,
            "2026-03-10T09:00:00+00:00",
            "2026-04-02T21:59:59+00:00",
        ),
        # The last day is the day clocks go forward (Sunday 29 March 2026).
        (
            "2026-03-27T09:00:00+00:00",
            "Europe/Warsaw",
            2,
            1,
            "2026-03-28T09:00:00+00:00",
            "2026-03-29T21:59:59+00:00",
        ),
        # Approved at 23:30 local on 31 October (UTC 22:30): the local day counts, not UTC's.
        (
            "2026-10-31T22:30:00+00:00",
            "Europe/Warsaw",
            1,
            0,
            None,
            "2026-11-01T22:59:59+00:00",
        ),
        # Vilnius is UTC+2 in winter.
        (
            "2026-12-01T12:00:00+00:00",
            "Europe/Vilnius",
            14,
            7,
            "2026-12-08T12:00:00+00:00",
            "2026-12-15T21:59:59+00:00",
        ),
        # A reminder not before the last moment is no reminder; expiry off keeps the reminder.
        ("2026-12-01T12:00:00+00:00", "Europe/Warsaw", 3, 10, None, "2026-12-04T22:59:59+00:00"),
        ("2026-12-01T12:00:00+00:00", "Europe/Warsaw", 0, 10, "2026-12-11T12:00:00+00:00", None),
    ],
)
def test_deadlines_count_calendar_days_in_the_tenants_time_zone(
    approved_at, timezone, within, remind, expected_remind, expected_ship_by
):
    rules = PolicyRules(ship_within_days=within, ship_reminder_days=remind)

    remind_at, ship_by = rules.ship_deadlines(at(approved_at), timezone)

    assert remind_at == (at(expected_remind) if expected_remind else None)
    assert ship_by == (at(expected_ship_by) if expected_ship_by else None)


def test_a_snapshot_from_before_deadlines_gets_the_defaults():
    snapshot = PolicyRules().to_snapshot()
    del snapshot["ship_reminder_days"], snapshot["ship_within_days"]

    rules = PolicyRules.from_snapshot(snapshot)

    assert (rules.ship_reminder_days, rules.ship_within_days) == (7, 30)


# --- approval sets them from the policy applied ----------------------------------------------


def test_approval_sets_the_deadlines_of_the_policy_the_return_was_submitted_under(
    world_a, policy_a, return_in
):
    policy_a.ship_reminder_days, policy_a.ship_within_days = 5, 20
    policy_a.save()
    rma = return_in(ReturnStatus.APPROVED)

    expected = PolicyRules(ship_reminder_days=5, ship_within_days=20).ship_deadlines(
        rma.approved_at, world_a.tenant.timezone
    )
    assert (rma.ship_reminder_at, rma.ship_by) == expected
    assert rma.policy_snapshot["ship_within_days"] == 20
    # a later change of the policy does not move a return's deadlines
    policy_a.ship_within_days = 5
    policy_a.save()
    rma.refresh_from_db()
    assert rma.ship_by == expected[1]


def test_a_customers_contract_overrides_the_tenants_days(world_a, policy_a, return_in):
    ReturnPolicy.unscoped.create(
        tenant=world_a.tenant, customer_account=world_a.company, ship_within_days=0
    )

    rma = return_in(ReturnStatus.APPROVED)

    assert rma.ship_by is None  # never expires
    assert rma.ship_reminder_at == rma.approved_at + datetime.timedelta(days=7)


def test_a_policy_whose_reminder_is_not_before_the_expiry_is_refused(world_a, policy_a):
    policy_a.ship_reminder_days, policy_a.ship_within_days = 30, 30
    with tenant_context(world_a.tenant):
        with pytest.raises(ValidationError) as refused:
            policy_a.full_clean()
        assert "ship_reminder_days" in refused.value.message_dict
        policy_a.ship_within_days = 0  # never expires: any reminder is fine
        policy_a.full_clean()


# --- the reminder ---------------------------------------------------------------------------


def _mails(event: str) -> list[tuple[int, str]]:
    return sorted(
        (n.context["return_id"], n.recipient.email)
        for n in Notification.unscoped.filter(event=event).select_related("recipient")
    )


def test_the_customer_is_reminded_once_when_the_reminder_is_due(world_a, return_in):
    rma = return_in(ReturnStatus.APPROVED)
    version = rma.version

    with tenant_context(world_a.tenant):
        # a second before: nothing
        assert returns_ship_deadlines(tenant=world_a.tenant, now=rma.ship_reminder_at - SECOND) == 0
        assert _mails("return.ship_reminder") == []
        # at the moment: one e-mail, one timeline entry
        assert returns_ship_deadlines(tenant=world_a.tenant, now=rma.ship_reminder_at) == 1
        # and never again
        assert returns_ship_deadlines(tenant=world_a.tenant, now=rma.ship_by) == 0

    assert _mails("return.ship_reminder") == [(rma.pk, world_a.customer.email)]
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.APPROVED
    assert rma.ship_reminded_at == rma.ship_reminder_at
    assert rma.version == version  # bookkeeping: staff with the page open are not refused
    event = ReturnEvent.unscoped.get(return_request=rma, action="ship_reminder")
    assert (event.actor, event.is_public) == (None, True)
    notification = Notification.unscoped.get(event="return.ship_reminder")
    assert notification.is_essential
    assert notification.context["ship_by"] == local_day(rma)


def test_no_reminder_once_the_goods_arrived(world_a, return_in):
    rma = return_in(ReturnStatus.RECEIVED)

    with tenant_context(world_a.tenant):
        done = returns_ship_deadlines(tenant=world_a.tenant, now=rma.ship_by + SECOND)

    assert done == 0
    assert _mails("return.ship_reminder") == []


# --- expiry ---------------------------------------------------------------------------------


def test_a_return_expires_after_the_last_moment_and_releases_its_quantity(
    world_a, delivered_order, file_return, return_in
):
    rma = return_in(ReturnStatus.APPROVED, quantity=5)
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    with tenant_context(world_a.tenant):
        assert claimed_quantities(order_line_ids=[line.pk]) == {line.pk: 5}

        # at the last moment it is still approved
        assert returns_ship_deadlines(tenant=world_a.tenant, now=rma.ship_by) == 1  # reminder
        rma.refresh_from_db()
        assert rma.status == ReturnStatus.APPROVED

        # a second later it has expired
        after = rma.ship_by + SECOND
        assert returns_ship_deadlines(tenant=world_a.tenant, now=after) == 1
        rma.refresh_from_db()
        assert (rma.status, rma.expired_at) == (ReturnStatus.EXPIRED, after)
        assert claimed_quantities(order_line_ids=[line.pk]) == {line.pk: 0}

        # the same quantity can be returned again
        again = file_return(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line.pk, "quantity": 5, "reason": "defective"}],
        )
    assert again.status == ReturnStatus.SUBMITTED

    event = ReturnEvent.unscoped.get(return_request=rma, action="expired")
    assert (event.actor, event.from_status, event.to_status) == (None, "approved", "expired")
    assert _mails("return.expired") == [(rma.pk, world_a.customer.email)]
    # the label is gone with it, and nothing can be uploaded any more
    from returns import labels

    assert not labels.label_available(rma)


def test_a_return_that_never_expires_stays_approved(world_a, policy_a, return_in):
    policy_a.ship_within_days = 0
    policy_a.save()
    rma = return_in(ReturnStatus.APPROVED)
    far = rma.approved_at + datetime.timedelta(days=3650)

    with tenant_context(world_a.tenant):
        returns_ship_deadlines(tenant=world_a.tenant, now=far)

    rma.refresh_from_db()
    assert rma.status == ReturnStatus.APPROVED


def test_an_expired_return_takes_no_more_steps(world_a, return_in):
    rma = return_in(ReturnStatus.APPROVED)
    with tenant_context(world_a.tenant):
        returns_ship_deadlines(tenant=world_a.tenant, now=rma.ship_by + SECOND)
        rma.refresh_from_db()
        before = return_state(rma)
        for call in (
            lambda: services.return_request_mark_received(return_request=rma, actor=world_a.agent),
            lambda: services.return_request_cancel(return_request=rma, actor=world_a.customer),
        ):
            with pytest.raises(services.ReturnConflict):
                call()
    assert return_state(rma) == before


def test_the_task_runs_every_active_tenant_on_the_clock(world_a, world_b, return_in, monkeypatch):
    rma = return_in(ReturnStatus.APPROVED)
    later = rma.ship_by + SECOND
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: later)

    assert ship_deadlines_task() == 2  # the reminder, then the expiry, in one run

    rma.refresh_from_db()
    assert rma.status == ReturnStatus.EXPIRED


def test_the_approval_email_says_by_when(world_a, return_in):
    rma = return_in(ReturnStatus.APPROVED)

    approved = Notification.unscoped.get(event="return.approved", context__return_id=rma.pk)

    assert approved.context["ship_by"] == local_day(rma)


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_goods_received_while_the_return_expires_win_or_lose_whole(world_a, return_in):
    for _round in range(4):
        rma = return_in(ReturnStatus.APPROVED)
        now = rma.ship_by + SECOND

        outcomes = run_concurrently(
            world_a.tenant,
            [
                lambda rma=rma, now=now: services.return_request_expire(
                    return_request=rma, now=now
                ),
                lambda rma=rma: services.return_request_mark_received(
                    return_request=ReturnRequest.objects.get(pk=rma.pk), actor=world_a.agent
                ),
            ],
        )

        rma.refresh_from_db()
        expired, received = outcomes
        assert expired[0] == "ok"
        if expired[1] is True:  # expiry locked the row first: the receipt is refused
            assert rma.status == ReturnStatus.EXPIRED
            assert received[0] == "error"
            assert isinstance(received[1], services.ReturnConflict)
        else:  # the receipt came first: nothing expired
            assert received[0] == "ok"
            assert rma.status == ReturnStatus.RECEIVED
            assert rma.expired_at is None
        actions = list(
            ReturnEvent.unscoped.filter(
                return_request=rma, action__in=["expired", "received"]
            ).values_list("action", flat=True)
        )
        assert len(actions) == 1
        # the ledger holds what the received returns of the line hold (1 each), no more
        with tenant_context(world_a.tenant):
            line_id = rma.lines.get().order_line_id
            held = claimed_quantities(order_line_ids=[line_id])[line_id]
        received_returns = ReturnRequest.unscoped.filter(
            status=ReturnStatus.RECEIVED, lines__order_line_id=line_id
        ).count()
        assert held == received_returns

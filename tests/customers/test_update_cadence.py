"""The customer-update cadence of returns and complaints (rma_portal/cadence.py,
customers/update_cadence.py): while the next move is the merchant's, the customer hears from
the merchant at least every 48 hours; a lapse is flagged once to the assignee (coordinators
when nobody has the case), counted, and, when the tenant wishes, answered by an automatic
status e-mail that restarts the clock. Hand-computed in Europe/Warsaw, Monday to Friday
8:00–16:00, with the services' time injected."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services as complaint_services
from complaints import sla_watch as complaint_watch
from complaints.models import ComplaintEvent, Holiday, SupportSettings
from customers.calendar import update_cadence
from returns import services
from returns import sla_watch as return_watch
from returns.models import ReturnEvent, ReturnRequest, ReturnStatus
from rma_portal import cadence
from rma_portal.notifications.models import Notification
from rma_portal.notifications.rendering import render_email
from rma_portal.sla import BusinessCalendar
from rma_portal.tenancy.context import tenant_context
from tests.complaints.conftest import complaint_file
from tests.returns import conftest as returns_fixtures

# The returns' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
make_order_line = returns_fixtures.make_order_line

WARSAW = ZoneInfo("Europe/Warsaw")
CALENDAR = BusinessCalendar()


def return_update_scan(*, tenant, now) -> int:
    """The returns' watch as beat runs it: in the tenant's context."""
    with tenant_context(tenant):
        return return_watch.update_scan(tenant=tenant, now=now)


def complaint_update_scan(*, tenant, now) -> int:
    with tenant_context(tenant):
        return complaint_watch.update_scan(tenant=tenant, now=now)


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=WARSAW)


# --- the arithmetic (no database) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "due"),
    [
        # Monday 10:00 + 48 h = Wednesday 10:00, inside working hours
        (local(2026, 11, 16, 10), local(2026, 11, 18, 10)),
        # Thursday 15:00: Thu 9 h + Fri 24 h, the weekend does not count, + Mon 15 h
        (local(2026, 11, 19, 15), local(2026, 11, 23, 15)),
        # Friday 10:00: Fri 14 h + Mon 24 h + Tue 10 h = Tuesday 10:00
        (local(2026, 11, 20, 10), local(2026, 11, 24, 10)),
        # Saturday: counted from Monday 0:00, due Tuesday 24:00, outside hours: Wed 8:00
        (local(2026, 11, 21, 12), local(2026, 11, 25, 8)),
        # Monday 15:30 + 48 h = Wednesday 15:30, half an hour before closing
        (local(2026, 11, 16, 15, 30), local(2026, 11, 18, 15, 30)),
        # Tuesday 16:00 + 48 h = Thursday 16:00, the closing instant: Friday 8:00
        (local(2026, 11, 17, 16), local(2026, 11, 20, 8)),
        # over the autumn DST change (Sunday 25 October, 25 hours, not counted): Friday 23rd
        # 10:00 CEST: Fri 14 h + Mon 24 h + Tue 10 h = Tuesday 27th 10:00 CET
        (local(2026, 10, 23, 10), local(2026, 10, 27, 10)),
        # over the spring change (Sunday 29 March): Thursday 26th 12:00 CET: Thu 12 h +
        # Fri 24 h + Mon 12 h = Monday 30th 12:00 CEST
        (local(2026, 3, 26, 12), local(2026, 3, 30, 12)),
    ],
)
def test_due_moment_counts_working_days_and_moves_to_the_next_opening(since, due):
    assert cadence.due_moment(CALENDAR, since, 48) == due


def test_a_holiday_moves_the_due_moment_on():
    calendar = BusinessCalendar(holidays=frozenset({datetime.date(2026, 11, 11)}))
    # Monday 9 November 20:00: Mon 4 h + Tue 24 h, Wednesday 11th (a holiday) does not
    # count, + Thu 20 h = Thursday 20:00, outside hours: Friday 8:00
    assert cadence.due_moment(calendar, local(2026, 11, 9, 20), 48) == local(2026, 11, 13, 8)


class Case:
    """The cadence's fields without a model."""

    def __init__(self, **fields):
        self.customer_updated_at = None
        self.update_due_at = None
        self.update_flagged_at = None
        self.update_lapses = 0
        self.__dict__.update(fields)


def rule(hours=48):
    return lambda: (CALENDAR, cadence.Cadence(hours=hours))


def test_track_starts_restarts_keeps_and_stops():
    case = Case()
    # back with the merchant (submitted): due 48 h later
    changed = cadence.track(
        case,
        rule=rule(),
        at=local(2026, 11, 16, 10),
        running=True,
        was_running=False,
        told_customer=False,
    )
    assert changed == {"update_due_at": local(2026, 11, 18, 10)}
    # the customer writes: nothing changes (they are still owed an update)
    assert not cadence.track(
        case,
        rule=rule(),
        at=local(2026, 11, 17, 9),
        running=True,
        was_running=True,
        told_customer=False,
    )
    # flagged, then a public reply: the flag goes, the clock restarts from the reply
    case.update_flagged_at = local(2026, 11, 18, 10)
    changed = cadence.track(
        case,
        rule=rule(),
        at=local(2026, 11, 18, 11),
        running=True,
        was_running=True,
        told_customer=True,
    )
    assert changed == {
        "customer_updated_at": local(2026, 11, 18, 11),
        "update_flagged_at": None,
        "update_due_at": local(2026, 11, 20, 11),
    }
    # a question to the customer: told, and the clock stops while they are to act
    changed = cadence.track(
        case,
        rule=rule(),
        at=local(2026, 11, 19, 9),
        running=False,
        was_running=True,
        told_customer=True,
    )
    assert changed == {"customer_updated_at": local(2026, 11, 19, 9), "update_due_at": None}


def test_no_cadence_when_the_tenant_sets_zero_hours():
    case = Case()
    changed = cadence.track(
        case,
        rule=rule(0),
        at=local(2026, 11, 16, 10),
        running=True,
        was_running=False,
        told_customer=False,
    )
    assert changed == {} and case.update_due_at is None


# --- returns ----------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        def set(self, moment: datetime.datetime) -> None:
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


@pytest.fixture
def submitted(world_a, policy_a, make_order_line, clock):
    def _submit(at: datetime.datetime) -> ReturnRequest:
        clock.set(at)
        line = make_order_line(world_a.company, quantity=3)
        with tenant_context(world_a.tenant):
            draft = services.return_request_create(
                customer_account=world_a.company,
                requester=world_a.customer,
                lines=[services.LineInput(order_line_id=line.pk, quantity=1, reason="defective")],
                requested_resolution="refund",
                return_method="drop_off",
            )
            return services.return_request_submit(return_request=draft, actor=world_a.customer)

    return _submit


def reload(rma: ReturnRequest) -> ReturnRequest:
    return ReturnRequest.unscoped.get(pk=rma.pk)


def mails(event: str, **filters) -> list[Notification]:
    return list(Notification.unscoped.filter(event=event, **filters).order_by("pk"))


@pytest.mark.django_db
def test_a_return_owes_its_customer_an_update_48_hours_after_submission(world_a, submitted):
    rma = reload(submitted(local(2026, 11, 16, 10)))
    assert rma.update_due_at == local(2026, 11, 18, 10)
    assert rma.customer_updated_at is None and rma.update_lapses == 0


@pytest.mark.django_db
def test_staff_messages_restart_the_clock_internal_notes_and_the_customers_do_not(
    world_a, submitted, clock
):
    rma = submitted(local(2026, 11, 16, 10))
    clock.set(local(2026, 11, 17, 9))
    with tenant_context(world_a.tenant):
        services.return_request_comment(
            return_request=rma, actor=world_a.agent, note="Checking stock.", is_public=False
        )
        services.return_request_comment(
            return_request=rma, actor=world_a.customer, note="Any news?", is_public=True
        )
    assert reload(rma).update_due_at == local(2026, 11, 18, 10)
    clock.set(local(2026, 11, 17, 11))
    with tenant_context(world_a.tenant):
        services.return_request_comment(
            return_request=rma, actor=world_a.agent, note="Tomorrow.", is_public=True
        )
    rma = reload(rma)
    assert rma.customer_updated_at == local(2026, 11, 17, 11)
    assert rma.update_due_at == local(2026, 11, 19, 11)


@pytest.mark.django_db
def test_waiting_for_the_customer_stops_it_and_their_answer_restarts_it(world_a, submitted, clock):
    rma = submitted(local(2026, 11, 16, 10))
    clock.set(local(2026, 11, 16, 12))
    with tenant_context(world_a.tenant):
        rma = services.return_request_request_info(
            return_request=rma, actor=world_a.agent, question="Serial number?"
        )
    rma = reload(rma)
    assert rma.status == ReturnStatus.NEEDS_INFO
    assert rma.update_due_at is None and rma.customer_updated_at == local(2026, 11, 16, 12)
    # a week later the customer answers (Monday 23rd 9:00): owed an update by Wednesday 9:00
    clock.set(local(2026, 11, 23, 9))
    with tenant_context(world_a.tenant):
        services.return_request_provide_info(
            return_request=rma, actor=world_a.customer, answer="SN-1."
        )
    assert reload(rma).update_due_at == local(2026, 11, 25, 9)


@pytest.mark.django_db
def test_approval_tells_the_customer_and_the_clock_stops_until_the_goods_arrive(
    world_a, submitted, clock
):
    rma = submitted(local(2026, 11, 16, 10))
    clock.set(local(2026, 11, 16, 14))
    with tenant_context(world_a.tenant):
        rma = services.return_request_approve(return_request=rma, actor=world_a.agent)
    rma = reload(rma)
    assert rma.update_due_at is None and rma.customer_updated_at == local(2026, 11, 16, 14)
    clock.set(local(2026, 11, 19, 15))
    with tenant_context(world_a.tenant):
        services.return_request_mark_received(return_request=rma, actor=world_a.agent)
    # the arrival is news to the customer, and the refund is the merchant's move now:
    # Thursday 15:00 + 48 h of working days = Monday 15:00
    rma = reload(rma)
    assert rma.customer_updated_at == local(2026, 11, 19, 15)
    assert rma.update_due_at == local(2026, 11, 23, 15)


@pytest.mark.django_db
def test_the_watch_flags_a_lapse_once_to_the_assignee_and_counts_it(world_a, submitted, clock):
    rma = submitted(local(2026, 11, 16, 10))
    with tenant_context(world_a.tenant):
        services.return_request_assign(
            return_request=rma, actor=world_a.agent, assignee=world_a.agent
        )
    # one second before the due moment: nothing
    assert return_update_scan(tenant=world_a.tenant, now=local(2026, 11, 18, 9, 59, 59)) == 0
    # at the due moment: flagged
    assert return_update_scan(tenant=world_a.tenant, now=local(2026, 11, 18, 10)) == 1
    assert return_update_scan(tenant=world_a.tenant, now=local(2026, 11, 18, 11)) == 0
    rma = reload(rma)
    assert rma.update_flagged_at == local(2026, 11, 18, 10) and rma.update_lapses == 1
    [mail] = mails("return.update_due")
    assert mail.recipient == world_a.agent
    assert mail.context["hours"] == 48 and mail.context["number"] == rma.number
    assert not mails("return.status_update")  # the tenant did not ask for them
    overdue = ReturnEvent.unscoped.get(return_request=rma, action="update_overdue")
    assert not overdue.is_public
    # the next public reply clears the flag; a later lapse is counted again
    clock.set(local(2026, 11, 18, 12))
    with tenant_context(world_a.tenant):
        services.return_request_comment(
            return_request=rma, actor=world_a.agent, note="Approved soon.", is_public=True
        )
    rma = reload(rma)
    assert rma.update_flagged_at is None and rma.update_due_at == local(2026, 11, 20, 12)
    assert return_update_scan(tenant=world_a.tenant, now=local(2026, 11, 20, 12)) == 1
    assert reload(rma).update_lapses == 2


@pytest.mark.django_db
def test_without_an_assignee_the_coordinators_are_told(world_a, submitted):
    submitted(local(2026, 11, 16, 10))
    assert return_update_scan(tenant=world_a.tenant, now=local(2026, 11, 18, 10)) == 1
    assert [m.recipient for m in mails("return.update_due")] == [world_a.coordinator]


@pytest.mark.django_db
def test_the_tenants_status_e_mail_tells_the_customer_and_restarts_the_clock(world_a, submitted):
    SupportSettings.unscoped.create(tenant=world_a.tenant, status_update_emails=True)
    rma = submitted(local(2026, 11, 16, 10))
    assert return_update_scan(tenant=world_a.tenant, now=local(2026, 11, 18, 10, 5)) == 1
    [status_mail] = mails("return.status_update")
    assert status_mail.recipient == world_a.customer
    assert status_mail.context["stage"] == "review"
    assert status_mail.context["return_id"] == rma.pk  # replies thread into the return
    rma = reload(rma)
    assert rma.update_lapses == 1 and rma.update_flagged_at is None
    assert rma.customer_updated_at == local(2026, 11, 18, 10, 5)
    assert rma.update_due_at == local(2026, 11, 20, 10, 5)
    actions = list(
        ReturnEvent.unscoped.filter(return_request=rma, is_public=False)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["update_overdue", "status_update_sent"]


@pytest.mark.django_db
def test_a_customer_without_status_e_mails_is_not_counted_as_told(world_a, submitted):
    SupportSettings.unscoped.create(tenant=world_a.tenant, status_update_emails=True)
    type(world_a.customer).objects.filter(pk=world_a.customer.pk).update(
        email_preferences={"return_progress": "never"}
    )
    rma = submitted(local(2026, 11, 16, 10))
    assert return_update_scan(tenant=world_a.tenant, now=local(2026, 11, 18, 10)) == 1
    assert not mails("return.status_update")
    rma = reload(rma)
    assert rma.update_flagged_at == local(2026, 11, 18, 10)
    assert rma.update_due_at == local(2026, 11, 18, 10)  # still owed


@pytest.mark.django_db
def test_the_watch_reads_only_its_tenant(world_a, world_b, submitted):
    submitted(local(2026, 11, 16, 10))
    assert return_update_scan(tenant=world_b.tenant, now=local(2026, 11, 30, 10)) == 0
    assert not mails("return.update_due")


@pytest.mark.django_db
def test_the_tenants_settings_give_the_hours(world_a, world_b):
    SupportSettings.unscoped.create(tenant=world_a.tenant, update_cadence_hours=24)
    Holiday.unscoped.create(tenant=world_a.tenant, date=datetime.date(2026, 11, 11), name="x")
    assert update_cadence(world_a.tenant) == cadence.Cadence(hours=24, status_emails=False)
    assert update_cadence(world_b.tenant) == cadence.Cadence()


# --- complaints -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_complaint_owes_updates_while_it_is_ours(world_a):
    complaint = complaint_file(world_a.customer, world_a.company, now=local(2026, 11, 16, 9))
    assert complaint.update_due_at == local(2026, 11, 18, 9)
    with tenant_context(world_a.tenant):
        complaint = complaint_services.complaint_assign(
            complaint=complaint,
            actor=world_a.agent,
            assignee=world_a.agent,
            now=local(2026, 11, 16, 10),
        )
        # a public reply is an update
        complaint_services.complaint_reply(
            complaint=complaint,
            actor=world_a.agent,
            body="We are looking into it.",
            now=local(2026, 11, 17, 10),
        )
    complaint.refresh_from_db()
    assert complaint.customer_updated_at == local(2026, 11, 17, 10)
    assert complaint.update_due_at == local(2026, 11, 19, 10)
    with tenant_context(world_a.tenant):
        # an internal note is not
        complaint_services.complaint_reply(
            complaint=complaint,
            actor=world_a.agent,
            body="Supplier asked.",
            is_internal=True,
            now=local(2026, 11, 18, 10),
        )
    complaint.refresh_from_db()
    assert complaint.update_due_at == local(2026, 11, 19, 10)
    # the watch flags it at the due moment, once
    assert complaint_update_scan(tenant=world_a.tenant, now=local(2026, 11, 19, 10)) == 1
    assert complaint_update_scan(tenant=world_a.tenant, now=local(2026, 11, 19, 12)) == 0
    [mail] = mails("complaint.update_due")
    assert mail.recipient == world_a.agent and mail.context["complaint_id"] == complaint.pk
    assert ComplaintEvent.unscoped.filter(
        complaint=complaint, action="update_overdue", is_public=False
    ).exists()
    with tenant_context(world_a.tenant):
        # waiting for the customer: the clock stops
        complaint_services.complaint_wait_for_customer(
            complaint=complaint,
            actor=world_a.agent,
            question="Photos please.",
            now=local(2026, 11, 19, 13),
        )
    complaint.refresh_from_db()
    assert complaint.update_due_at is None and complaint.update_flagged_at is None
    assert complaint.update_lapses == 1


# --- back-office ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_back_office_queues_the_cases_owed_an_update_and_shows_the_cadence(
    world_a, world_b, submitted, clock, login
):
    rma = submitted(local(2026, 11, 16, 10))
    on_time = submitted(local(2026, 11, 17, 10))
    complaint = complaint_file(world_a.customer, world_a.company, now=local(2026, 11, 16, 9))
    foreign = complaint_file(world_b.customer, world_b.company, now=local(2026, 11, 16, 9))
    clock.set(local(2026, 11, 18, 11))
    client = login(world_a.agent)

    def listed(name: str) -> list[int]:
        url = reverse(f"admin:{name}_changelist") + "?queue=update_owed"
        return sorted(obj.pk for obj in client.get(url).context["cl"].result_list)

    assert listed("returns_returnrequest") == [rma.pk]
    assert listed("complaints_complaint") == [complaint.pk]  # not tenant B's
    page = client.get(reverse("admin:returns_returnrequest_change", args=[rma.pk]))
    text = page.content.decode()
    assert "Next update due 18 Nov 2026, 10:00 (Europe/Warsaw)" in text
    assert "The customer has had no update from us yet." in text
    assert 'class="sla-badge sla-breached"' in text
    page = client.get(reverse("admin:returns_returnrequest_change", args=[on_time.pk]))
    assert "Next update due 19 Nov 2026, 10:00 (Europe/Warsaw)" in page.content.decode()
    page = client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk]))
    assert "Next update due 18 Nov 2026, 09:00 (Europe/Warsaw)" in page.content.decode()
    foreign_page = reverse("admin:complaints_complaint_change", args=[foreign.pk])
    assert client.get(foreign_page).status_code == 404


@pytest.mark.django_db
def test_the_e_mails_say_what_is_owed_in_each_language(world_a, submitted):
    SupportSettings.unscoped.create(tenant=world_a.tenant, status_update_emails=True)
    rma = submitted(local(2026, 11, 16, 10))
    complaint = complaint_file(world_a.customer, world_a.company, now=local(2026, 11, 16, 9))
    return_update_scan(tenant=world_a.tenant, now=local(2026, 11, 18, 10))
    complaint_update_scan(tenant=world_a.tenant, now=local(2026, 11, 18, 10))
    expected = {
        "return.update_due": (rma.number, "has heard nothing from us about return"),
        "return.status_update": (rma.number, "We are reviewing your return"),
        "complaint.update_due": (complaint.code, "has heard nothing from us about complaint"),
        "complaint.status_update": (complaint.code, "We are working on your complaint"),
    }
    for event, (number, sentence) in expected.items():
        [notice] = mails(event)
        context = {**notice.context, "tenant": world_a.tenant}
        english = render_email(event=event, language="en", context=context)
        assert number in english.subject and number in english.text
        assert sentence in english.text and sentence in english.html
        polish = render_email(event=event, language="pl", context=context)
        assert number in polish.subject and sentence not in polish.text


@pytest.mark.django_db
def test_cases_open_before_the_cadence_get_one_from_the_first_scan(world_a, submitted):
    rma = submitted(local(2026, 11, 16, 10))
    complaint = complaint_file(world_a.customer, world_a.company, now=local(2026, 11, 16, 9))
    # as if open before the cadence existed
    ReturnRequest.unscoped.filter(pk=rma.pk).update(update_due_at=None)
    type(complaint).unscoped.filter(pk=complaint.pk).update(update_due_at=None)
    # the first scan, weeks later: owed 48 hours from the scan, not flagged for the past
    assert return_update_scan(tenant=world_a.tenant, now=local(2026, 12, 1, 10)) == 0
    assert complaint_update_scan(tenant=world_a.tenant, now=local(2026, 12, 1, 10)) == 0
    assert reload(rma).update_due_at == local(2026, 12, 3, 10)
    complaint.refresh_from_db()
    assert complaint.update_due_at == local(2026, 12, 3, 10)

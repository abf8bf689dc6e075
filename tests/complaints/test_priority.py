"""Changing a complaint's priority (services.complaint_change_priority): the running SLA clocks
follow the new priority's policy from their own start, keeping the time paused; a breached or
stopped clock stays; a public timeline event that is no update to the customer; refusals
that change nothing."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints import selectors, services
from complaints.models import Complaint, ComplaintEvent, ComplaintStatus, SlaPolicy
from complaints.sla import SlaState
from rma_portal.cadence import FIELDS as CADENCE_FIELDS
from rma_portal.tenancy.context import tenant_context
from tests.html import parse

from .conftest import FILED, complaint_file, complaint_state, nov

pytestmark = pytest.mark.django_db

S = ComplaintStatus


def fresh(complaint) -> Complaint:
    return Complaint.unscoped.get(pk=complaint.pk)


def change(complaint, actor, priority: str, now: datetime.datetime) -> Complaint:
    with tenant_context(complaint.tenant):
        return services.complaint_change_priority(
            complaint=fresh(complaint), actor=actor, priority=priority, now=now
        )


def in_progress(world, **kwargs) -> Complaint:
    complaint = complaint_file(world.customer, world.company, **kwargs)
    with tenant_context(world.tenant):
        services.complaint_assign(
            complaint=complaint, actor=world.agent, assignee=world.agent, now=nov(16, 9, 10)
        )
        services.complaint_start(complaint=fresh(complaint), actor=world.agent, now=nov(16, 9, 20))
    return fresh(complaint)


def test_an_urgent_upgrade_tightens_both_clocks_from_the_filing(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)  # normal, Monday 09:00
    assert complaint.first_response_due_at == nov(17, 9)
    assert complaint.resolution_due_at == nov(23, 9)

    change(complaint, world_a.agent, "urgent", nov(16, 10))

    changed = fresh(complaint)
    assert changed.priority == "urgent"
    # 2 h and 8 h from Monday 09:00, as if it had been filed urgent
    assert changed.first_response_due_at == nov(16, 11)
    assert changed.resolution_due_at == nov(17, 9)
    # at risk once 80 % of the new allowance is used
    assert changed.first_response_at_risk_at == nov(16, 10, 36)
    assert changed.resolution_at_risk_at == nov(16, 15, 24)
    assert changed.version == complaint.version + 1
    event = ComplaintEvent.unscoped.get(complaint=complaint, action="priority_changed")
    assert (event.actor, event.note, event.is_public) == (world_a.agent, "normal → urgent", True)
    assert event.from_status == event.to_status == S.NEW


def test_a_tighter_target_already_used_up_is_breached_at_once(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)

    change(complaint, world_a.agent, "urgent", nov(16, 12))

    changed = fresh(complaint)
    assert changed.first_response_due_at == nov(16, 11)
    calendar = selectors.business_calendar(world_a.tenant)
    states = selectors.sla_states(changed, calendar, now=nov(16, 12))
    assert states["first_response"] == SlaState.BREACHED


def test_time_spent_waiting_for_the_customer_is_kept(world_a):
    complaint = in_progress(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, now=nov(16, 9, 30)
        )
        services.complaint_reply(
            complaint=fresh(complaint), actor=world_a.customer, body="Batch 7.", now=nov(16, 13, 30)
        )
    answered = fresh(complaint)
    assert answered.sla_paused_seconds == 4 * 3600
    assert answered.first_response_due_at == nov(17, 13)

    change(answered, world_a.agent, "urgent", nov(16, 14))

    changed = fresh(complaint)
    # the new targets from the filing, plus the 4 business hours paused
    assert changed.first_response_due_at == nov(16, 15)
    assert changed.resolution_due_at == nov(17, 13)


def test_a_paused_clock_moves_and_still_resumes_with_the_time_it_had_left(world_a):
    complaint = in_progress(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, now=nov(16, 9, 30)
        )

    change(complaint, world_a.agent, "urgent", nov(16, 12))

    paused = fresh(complaint)
    assert paused.status == S.AWAITING_CUSTOMER
    assert paused.first_response_due_at == nov(16, 11)  # judged at 09:30, when it paused
    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=paused, actor=world_a.customer, body="Batch 7.", now=nov(16, 13)
        )
    # 1 h 30 min were left at the pause: due 13:00 + 1:30
    assert fresh(complaint).first_response_due_at == nov(16, 14, 30)


def test_a_breached_clock_keeps_its_due_time_and_a_downgrade_loosens_the_others(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    late = nov(17, 10)  # the first response was due at 09:00

    change(complaint, world_a.agent, "low", late)

    changed = fresh(complaint)
    assert changed.first_response_due_at == nov(17, 9)
    assert changed.resolution_due_at == nov(30, 9)  # 80 business hours from the filing


def test_a_first_response_given_is_history(world_a):
    complaint = in_progress(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=complaint, actor=world_a.agent, body="We are on it.", now=nov(16, 9, 40)
        )

    change(complaint, world_a.agent, "urgent", nov(16, 10))

    changed = fresh(complaint)
    assert changed.first_response_due_at == nov(17, 9)
    assert changed.resolution_due_at == nov(17, 9)


def test_the_customers_contract_for_the_new_priority_applies(world_a):
    SlaPolicy.unscoped.create(
        tenant=world_a.tenant,
        customer_account=world_a.company,
        priority="urgent",
        first_response_hours=1,
        resolution_hours=4,
    )
    complaint = complaint_file(world_a.customer, world_a.company)

    change(complaint, world_a.coordinator, "urgent", nov(16, 9, 30))

    changed = fresh(complaint)
    assert (changed.first_response_due_at, changed.resolution_due_at) == (nov(16, 10), nov(16, 13))


def test_sla_notices_no_longer_true_are_forgotten(world_a):
    complaint = complaint_file(world_a.customer, world_a.company, priority="urgent")
    Complaint.unscoped.filter(pk=complaint.pk).update(
        sla_warned=["first_response:at_risk", "resolution:at_risk"]
    )

    change(complaint, world_a.agent, "normal", nov(16, 10, 40))

    # the first response is at risk from 15:24 now, the resolution later still
    assert fresh(complaint).sla_warned == []
    Complaint.unscoped.filter(pk=complaint.pk).update(sla_warned=["first_response:at_risk"])
    change(complaint, world_a.agent, "urgent", nov(16, 10, 40))
    assert fresh(complaint).sla_warned == ["first_response:at_risk"]  # still true


def test_it_is_no_update_to_the_customer_and_the_same_priority_records_nothing(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    cadence = Complaint.unscoped.filter(pk=complaint.pk).values(*CADENCE_FIELDS).get()

    change(complaint, world_a.agent, "high", nov(16, 10))

    assert Complaint.unscoped.filter(pk=complaint.pk).values(*CADENCE_FIELDS).get() == cadence
    before = complaint_state(complaint)
    change(complaint, world_a.agent, "high", nov(16, 11))
    assert complaint_state(complaint) == before


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("customer", services.ComplaintAccessDenied),
        ("manager", services.ComplaintAccessDenied),
        ("foreign_agent", services.ComplaintAccessDenied),
        ("bad_priority", services.ComplaintInvalid),
        ("resolved", services.ComplaintConflict),
        ("stale", services.ComplaintConflict),
    ],
)
def test_refusals_change_nothing(world_a, world_b, who, error):
    complaint = in_progress(world_a)
    actor, priority = world_a.agent, "urgent"
    if who == "customer":
        actor = world_a.customer
    elif who == "manager":
        actor = world_a.manager
    elif who == "foreign_agent":
        actor = world_b.agent
    elif who == "bad_priority":
        priority = "critical"
    elif who == "resolved":
        with tenant_context(world_a.tenant):
            services.complaint_resolve(
                complaint=complaint, actor=world_a.agent, resolution="Sent.", now=nov(16, 10)
            )
    seen = fresh(complaint)
    if who == "stale":
        seen.seen_version = seen.version - 1
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant), pytest.raises(error):
        services.complaint_change_priority(
            complaint=seen, actor=actor, priority=priority, now=nov(16, 11)
        )

    assert complaint_state(complaint) == before


def test_the_customer_and_staff_read_it_on_the_timeline(world_a, login):
    complaint = complaint_file(world_a.customer, world_a.company, now=FILED)
    change(complaint, world_a.agent, "urgent", nov(16, 10))

    customer = Client()
    customer.force_login(world_a.customer)
    page = parse(customer.get(reverse("portal:complaint_detail", args=[complaint.pk])))
    assert "Priority changed" in page.text and "Normal → Urgent" in page.text

    staff = login(world_a.agent)
    page = parse(staff.get(reverse("admin:complaints_complaint_change", args=[complaint.pk])))
    event = page.first("#case-conversation li.entry-event")
    assert event.first(".entry-title").text == "Priority changed"
    assert event.first(".entry-note").text == "Normal → Urgent"


# --- the back-office: the complaint's page and the list's bulk action ---------------------


def priority_url(complaint) -> str:
    return reverse("admin:complaints_complaint_priority", args=[complaint.pk])


def test_the_complaint_page_changes_the_priority(world_a, login):
    complaint = complaint_file(world_a.customer, world_a.company)
    client = login(world_a.agent)
    page = parse(client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk])))
    form = page.first("#complaint-actions form#action-priority")
    assert form is not None and form["action"] == priority_url(complaint)
    assert form.first("select[name=priority] option[selected]")["value"] == "normal"
    assert form.first("label").text == "Priority"

    response = client.post(
        priority_url(complaint), {"priority": "urgent", "version": complaint.version}, follow=True
    )

    assert fresh(complaint).priority == "urgent"
    assert "was changed" in parse(response).first(".messagelist").text
    # a value that is no priority, and a stale version: explained, nothing changed
    before = complaint_state(complaint)
    for data in (
        {"priority": "critical", "version": fresh(complaint).version},
        {"priority": "low", "version": complaint.version},
    ):
        response = client.post(priority_url(complaint), data, follow=True)
        assert parse(response).first(".messagelist .error") is not None
    assert complaint_state(complaint) == before


def test_only_staff_who_act_change_it_and_only_their_tenants(world_a, world_b, login):
    complaint = complaint_file(world_a.customer, world_a.company)
    foreign = complaint_file(world_b.customer, world_b.company)
    before = complaint_state(complaint), complaint_state(foreign)

    manager = login(world_a.manager)
    page = parse(manager.get(reverse("admin:complaints_complaint_change", args=[complaint.pk])))
    assert page.first("#action-priority") is None
    assert manager.post(priority_url(complaint), {"priority": "urgent"}).status_code == 403
    agent = Client()
    agent.force_login(world_a.agent)
    assert agent.post(priority_url(foreign), {"priority": "urgent"}).status_code == 404

    assert (complaint_state(complaint), complaint_state(foreign)) == before


def test_a_finished_complaint_offers_no_priority_change(world_a, login):
    complaint = in_progress(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="Sent.", now=nov(16, 10)
        )
    client = login(world_a.agent)
    page = parse(client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk])))
    assert page.first("#action-priority") is None


def bulk_results(response) -> dict[str, str]:
    return {
        tr.first("td a").text: tr.select("td")[1].text
        for tr in parse(response).select("table.bulk-results tbody tr")
    }


def test_the_list_changes_the_priority_of_many_asking_once(world_a, world_b, login):
    normal = complaint_file(world_a.customer, world_a.company, now=timezone.now())
    urgent = complaint_file(world_a.customer, world_a.company, priority="urgent")
    resolved = in_progress(world_a)
    with tenant_context(world_a.tenant):
        services.complaint_resolve(
            complaint=resolved, actor=world_a.agent, resolution="Sent.", now=nov(16, 10)
        )
    foreign = complaint_file(world_b.customer, world_b.company)
    foreign_before = complaint_state(foreign)
    client = login(world_a.agent)
    changelist = reverse("admin:complaints_complaint_changelist")
    data = {
        "action": "bulk_priority",
        "_selected_action": [normal.pk, urgent.pk, resolved.pk, foreign.pk],
    }

    asked = client.post(changelist, data)

    assert "admin/bulk_text.html" in [t.name for t in asked.templates]
    page = parse(asked)
    choices = [o["value"] for o in page.select("select#bulk-text option")]
    assert choices == ["", "low", "normal", "high", "urgent"]
    assert page.first("label[for=bulk-text]").text == "Priority"
    assert "This applies to 3 cases" in page.text  # not another tenant's
    # no value, or one that is no priority: asked again, nothing changed
    for bad in ("", "critical"):
        again = client.post(changelist, {**data, "bulk_confirmed": "yes", "bulk_text": bad})
        assert parse(again).first("#bulk-text-error") is not None
    assert fresh(normal).priority == "normal"

    done = client.post(changelist, {**data, "bulk_confirmed": "yes", "bulk_text": "urgent"})

    outcome = bulk_results(done)
    assert set(outcome) == {normal.code, urgent.code, resolved.code}
    assert outcome[normal.code].startswith("Done")
    assert outcome[urgent.code].startswith("Left as it was") and "already" in outcome[urgent.code]
    assert "cannot be changed" in outcome[resolved.code]
    assert fresh(normal).priority == "urgent"
    assert fresh(normal).first_response_due_at < normal.first_response_due_at
    assert fresh(resolved).priority == "normal"
    assert complaint_state(foreign) == foreign_before


def test_managers_are_not_offered_the_bulk_priority_change(world_a, login):
    complaint = complaint_file(world_a.customer, world_a.company)
    client = login(world_a.manager)
    changelist = reverse("admin:complaints_complaint_changelist")
    options = parse(client.get(changelist)).select("select[name=action] option")
    offered = {option["value"] for option in options}
    assert "bulk_priority" not in offered
    client.post(
        changelist,
        {
            "action": "bulk_priority",
            "_selected_action": [complaint.pk],
            "bulk_confirmed": "yes",
            "bulk_text": "urgent",
        },
    )
    assert fresh(complaint).priority == "normal"

"""Complaint services against the database, with injected time: numbers, SLA targets and
calendars, the first-response clock, pauses, SLA states, reopening, rating, canned responses,
linked returns and attachments."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage

from complaints import selectors, services
from complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    Holiday,
    SatisfactionRating,
    SlaPolicy,
    SupportSettings,
)
from complaints.sla import SlaState, business_seconds_between
from customers.models import CannedResponse
from returns.models import ReturnRequest
from rma_portal.files.uploads import UploadRejected
from rma_portal.tenancy.context import tenant_context

from .conftest import (
    FILED,
    HOUR,
    UTC,
    complaint_file,
    complaint_state,
    exe_upload,
    nov,
    png_upload,
    stored_files,
)

pytestmark = pytest.mark.django_db

S = ComplaintStatus


def states(complaint, now) -> dict[str, SlaState]:
    complaint = Complaint.unscoped.get(pk=complaint.pk)
    calendar = selectors.business_calendar(complaint.tenant)
    return selectors.sla_states(complaint, calendar, now=now)


def overall(complaint, now) -> SlaState:
    return selectors.overall_sla_state(states(complaint, now))


def fresh(complaint) -> Complaint:
    return Complaint.unscoped.get(pk=complaint.pk)


# --- numbers ------------------------------------------------------------------------------


def test_numbers_count_per_tenant_and_year(world_a, world_b):
    first = complaint_file(world_a.customer, world_a.company)
    second = complaint_file(world_a.customer_admin, world_a.company)
    other_tenant = complaint_file(world_b.customer, world_b.company)
    other_company = complaint_file(world_a.other_company_user, world_a.other_company)

    assert (first.code, second.code, other_company.code) == (
        "CMP-2026-000001",
        "CMP-2026-000002",
        "CMP-2026-000003",
    )
    assert other_tenant.code == "CMP-2026-000001"


def test_the_year_of_the_number_is_the_tenants_local_year(world_a):
    # 23:30 UTC on New Year's Eve is already 2027 in Warsaw
    complaint = complaint_file(
        world_a.customer, world_a.company, now=datetime.datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    )

    assert complaint.code == "CMP-2027-000001"


# --- SLA targets and calendar -------------------------------------------------------------


def test_built_in_targets_without_a_policy(world_a):
    normal = complaint_file(world_a.customer, world_a.company, priority="normal")
    urgent = complaint_file(world_a.customer, world_a.company, priority="urgent")

    # normal: 8 h / 40 h; urgent: 2 h / 8 h, from Monday 09:00
    assert (normal.first_response_due_at, normal.resolution_due_at) == (nov(17, 9), nov(23, 9))
    assert (urgent.first_response_due_at, urgent.resolution_due_at) == (nov(16, 11), nov(17, 9))
    assert fresh(urgent).first_response_due_at == nov(16, 11)  # as stored


def test_the_tenants_sla_policy_sets_the_due_times(world_a, world_b):
    SlaPolicy.unscoped.create(
        tenant=world_a.tenant,
        priority="high",
        first_response_hours=Decimal("2"),
        resolution_hours=Decimal("10.5"),
    )

    # Friday 15:00: 2 h → Monday 09:00; 10.5 h → Tuesday 09:30
    complaint = complaint_file(world_a.customer, world_a.company, priority="high", now=nov(20, 15))
    # another tenant's policy does not apply: built-in high is 4 h / 16 h
    other = complaint_file(world_b.customer, world_b.company, priority="high", now=nov(20, 15))

    assert (complaint.first_response_due_at, complaint.resolution_due_at) == (
        nov(23, 9),
        nov(24, 9, 30),
    )
    assert (other.first_response_due_at, other.resolution_due_at) == (nov(23, 11), nov(24, 15))


def test_a_customers_contract_overrides_the_tenants_policy(world_a):
    tenant, company = world_a.tenant, world_a.company
    SlaPolicy.unscoped.create(
        tenant=tenant, priority="high", first_response_hours=4, resolution_hours=16
    )
    SlaPolicy.unscoped.create(
        tenant=tenant,
        customer_account=company,
        priority="high",
        first_response_hours=1,
        resolution_hours=4,
    )

    contract = complaint_file(world_a.customer, company, priority="high")
    tenant_policy = complaint_file(
        world_a.other_company_user, world_a.other_company, priority="high"
    )
    # the contract covers "high" only: other priorities fall back to the built-in targets
    not_covered = complaint_file(world_a.customer, company, priority="low")

    assert (contract.first_response_due_at, contract.resolution_due_at) == (
        nov(16, 10),
        nov(16, 13),
    )
    assert (tenant_policy.first_response_due_at, tenant_policy.resolution_due_at) == (
        nov(16, 13),
        nov(18, 9),
    )
    assert (not_covered.first_response_due_at, not_covered.resolution_due_at) == (
        nov(18, 9),  # 16 h
        nov(30, 9),  # 80 h
    )


def test_the_tenants_support_calendar_and_holidays_are_used(world_a, world_b):
    # given: tenant A works Monday to Saturday 09:00–17:00 and is off on 11 November
    SupportSettings.unscoped.create(
        tenant=world_a.tenant,
        day_start=datetime.time(9),
        day_end=datetime.time(17),
        working_weekdays=[0, 1, 2, 3, 4, 5],
    )
    Holiday.unscoped.create(
        tenant=world_a.tenant, date=datetime.date(2026, 11, 11), name="Independence Day"
    )

    # when: urgent complaints (2 h) are filed on Tuesday 16:00 and on Friday 16:30
    over_the_holiday = complaint_file(
        world_a.customer, world_a.company, priority="urgent", now=nov(10, 16)
    )
    into_saturday = complaint_file(
        world_a.customer, world_a.company, priority="urgent", now=nov(20, 16, 30)
    )
    # tenant B keeps the default calendar and has no holiday
    other = complaint_file(world_b.customer, world_b.company, priority="urgent", now=nov(10, 16))

    # then: 1 h on Tuesday, Wednesday off, 1 h on Thursday from 09:00
    assert over_the_holiday.first_response_due_at == nov(12, 10)
    # 30 min on Friday, 1 h 30 min on Saturday from 09:00
    assert into_saturday.first_response_due_at == nov(21, 10, 30)
    assert other.first_response_due_at == nov(11, 10)


def test_the_tenants_time_zone_is_used(world_a):
    world_a.tenant.timezone = "America/New_York"
    world_a.tenant.save()

    # Monday 09:00 in Warsaw is 03:00 in New York: 2 h from the opening there, 08:00 EST,
    # is 10:00 EST = 15:00 UTC (16:00 in Warsaw, where the office would be closing)
    complaint = complaint_file(world_a.customer, world_a.company, priority="urgent")

    assert complaint.first_response_due_at == datetime.datetime(2026, 11, 16, 15, tzinfo=UTC)


# --- the first-response clock -------------------------------------------------------------


def test_first_public_staff_reply_stops_the_first_response_clock(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        # an internal note is not an answer and changes nothing else
        services.complaint_reply(
            complaint=complaint,
            actor=world_a.coordinator,
            body="Check the batch number.",
            is_internal=True,
            now=nov(16, 9, 30),
        )
        noted = fresh(complaint)
        assert (noted.status, noted.first_responded_at, noted.assignee) == (S.NEW, None, None)
        assert list(ComplaintEvent.unscoped.filter(complaint=complaint).values_list("action")) == [
            ("filed",)
        ]
        # nor is the customer's own message
        services.complaint_reply(
            complaint=complaint, actor=world_a.customer, body="Any news?", now=nov(16, 9, 45)
        )
        assert fresh(complaint).first_responded_at is None

        # the first public staff reply is; it takes the complaint and starts the work
        services.complaint_reply(
            complaint=complaint, actor=world_a.agent, body="We are on it.", now=nov(16, 10)
        )
        services.complaint_reply(
            complaint=complaint, actor=world_a.coordinator, body="Update.", now=nov(16, 11)
        )

    answered = fresh(complaint)
    assert answered.first_responded_at == nov(16, 10)  # the first one counts
    assert (answered.status, answered.assignee) == (S.IN_PROGRESS, world_a.agent)
    assigned, started = ComplaintEvent.unscoped.filter(complaint=complaint).order_by("-pk")[:2][
        ::-1
    ]
    assert (assigned.action, assigned.from_status, assigned.to_status, assigned.actor) == (
        "assigned",
        S.NEW,
        S.OPEN,
        world_a.agent,
    )
    assert (started.action, started.from_status, started.to_status, started.created_at) == (
        "started",
        S.OPEN,
        S.IN_PROGRESS,
        nov(16, 10),
    )
    assert states(complaint, nov(25, 12))["first_response"] == SlaState.MET


def test_a_late_first_reply_misses_the_first_response_target(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=complaint, actor=world_a.agent, body="Sorry.", now=nov(17, 9, 0, 1)
        )

    assert states(complaint, nov(17, 10))["first_response"] == SlaState.MISSED


# --- pause and resume ---------------------------------------------------------------------


@pytest.fixture
def paused(world_a, complaint_in):
    """Filed Monday 09:00 (due Tue 09:00 / Mon 23 09:00), started without an answer, paused
    at Monday 12:00 after 3 business hours."""
    complaint = complaint_in(S.IN_PROGRESS)
    with tenant_context(world_a.tenant):
        return services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, now=nov(16, 12)
        )


def test_waiting_for_the_customer_pauses_the_clocks(world_a, paused):
    assert (paused.status, paused.sla_paused_at) == (S.AWAITING_CUSTOMER, nov(16, 12))
    # Wednesday: the first-response due time has passed, but the clock stopped at 3 h of 8
    assert states(paused, nov(18, 11)) == {
        "first_response": SlaState.ON_TRACK,
        "resolution": SlaState.ON_TRACK,
    }
    event = ComplaintEvent.unscoped.filter(complaint=paused).latest("pk")
    assert (event.action, event.actor, event.created_at) == (
        "awaiting_customer",
        world_a.agent,
        nov(16, 12),
    )


def test_the_customers_answer_resumes_the_clocks_pushed_by_the_time_paused(world_a, paused):
    before = fresh(paused)
    calendar = selectors.business_calendar(world_a.tenant)

    # when: the customer answers on Wednesday 12:00, 16 business hours later
    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=paused, actor=world_a.customer, body="Photos attached.", now=nov(18, 12)
        )

    # then
    resumed = fresh(paused)
    assert (resumed.status, resumed.sla_paused_at) == (S.IN_PROGRESS, None)
    assert resumed.sla_paused_seconds == 16 * HOUR
    assert resumed.first_response_due_at == nov(19, 9)  # 5 h left from Wednesday 12:00
    assert resumed.resolution_due_at == nov(25, 9)  # Monday 23 09:00 + 16 h
    for field in ("first_response_due_at", "resolution_due_at"):
        pushed = business_seconds_between(calendar, getattr(before, field), getattr(resumed, field))
        assert pushed == 16 * HOUR, field
    # the clock goes on where it stopped: 3 h used before, 4 h more by Wednesday 16:00
    assert states(resumed, nov(18, 13))["first_response"] == SlaState.ON_TRACK
    assert states(resumed, nov(19, 8))["first_response"] == SlaState.AT_RISK  # 7 h of 8
    assert states(resumed, nov(19, 9))["first_response"] == SlaState.BREACHED
    event = ComplaintEvent.unscoped.filter(complaint=paused).latest("pk")
    assert (event.action, event.from_status, event.to_status, event.created_at) == (
        "customer_replied",
        S.AWAITING_CUSTOMER,
        S.IN_PROGRESS,
        nov(18, 12),
    )


def test_a_first_staff_answer_during_the_pause_is_judged_without_the_pause(world_a, paused):
    # Wednesday 10:00 is past the original due time (Tuesday 09:00), but only 3 business
    # hours of the 8 had run when the clock paused
    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=paused, actor=world_a.agent, body="Here is what we found.", now=nov(18, 10)
        )

    answered = fresh(paused)
    assert answered.status == S.AWAITING_CUSTOMER
    assert answered.first_responded_at == nov(18, 10)
    assert states(answered, nov(18, 10, 5))["first_response"] == SlaState.MET


# --- SLA states ----------------------------------------------------------------------------


def test_sla_states_at_their_moments(world_a):
    # normal priority from Monday 09:00: first response due Tuesday 09:00, 80 % at 15:24
    complaint = complaint_file(world_a.customer, world_a.company)

    assert states(complaint, nov(16, 15, 23, 59)) == {
        "first_response": SlaState.ON_TRACK,
        "resolution": SlaState.ON_TRACK,
    }
    assert overall(complaint, nov(16, 15, 23, 59)) == SlaState.ON_TRACK
    assert states(complaint, nov(16, 15, 24))["first_response"] == SlaState.AT_RISK
    assert overall(complaint, nov(16, 15, 24)) == SlaState.AT_RISK
    assert states(complaint, nov(17, 9))["first_response"] == SlaState.BREACHED
    assert overall(complaint, nov(17, 9)) == SlaState.BREACHED
    # resolution (40 h): at risk after 32 h, on Friday 09:00; breached on Monday 23 09:00
    assert states(complaint, nov(20, 8, 59))["resolution"] == SlaState.ON_TRACK
    assert states(complaint, nov(20, 9))["resolution"] == SlaState.AT_RISK
    assert states(complaint, nov(23, 9))["resolution"] == SlaState.BREACHED


def test_overall_state_follows_the_running_clock_once_the_first_answer_is_given(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=complaint, actor=world_a.agent, body="Late, sorry.", now=nov(17, 10)
        )

    # a late first answer is history; what needs attention is the resolution clock
    assert states(complaint, nov(18, 9)) == {
        "first_response": SlaState.MISSED,
        "resolution": SlaState.ON_TRACK,
    }
    assert overall(complaint, nov(18, 9)) == SlaState.ON_TRACK
    assert overall(complaint, nov(20, 9)) == SlaState.AT_RISK
    assert overall(complaint, nov(23, 9)) == SlaState.BREACHED
    # once both clocks have stopped, the worst outcome
    with tenant_context(world_a.tenant):
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="Replaced.", now=nov(20, 12)
        )
    assert overall(complaint, nov(30, 9)) == SlaState.MISSED


def test_rejecting_stops_both_clocks(world_a, complaint_in):
    complaint = complaint_in(S.REJECTED)  # rejected Monday 09:40

    assert states(complaint, nov(30, 9)) == {
        "first_response": SlaState.MET,
        "resolution": SlaState.MET,
    }


# --- reopening ----------------------------------------------------------------------------


def test_reopening_within_the_window_restarts_the_resolution_clock(world_a, complaint_in):
    complaint = complaint_in(S.RESOLVED)  # resolved Monday 10:00

    with tenant_context(world_a.tenant):
        reopened = services.complaint_reopen(
            complaint=complaint, actor=world_a.customer, reason="Still cracked.", now=nov(17, 10)
        )

    row = fresh(reopened)
    assert (row.status, row.reopen_count, row.resolved_at) == (S.IN_PROGRESS, 1, None)
    assert row.resolution_due_at == nov(24, 10)  # 40 h from Tuesday 10:00
    message = ComplaintMessage.unscoped.filter(complaint=complaint).latest("pk")
    assert (message.author, message.body, message.is_internal) == (
        world_a.customer,
        "Still cracked.",
        False,
    )
    event = ComplaintEvent.unscoped.filter(complaint=complaint).latest("pk")
    assert (event.action, event.from_status, event.to_status, event.note, event.created_at) == (
        "reopened",
        S.RESOLVED,
        S.IN_PROGRESS,
        "Still cracked.",
        nov(17, 10),
    )
    assert states(row, nov(17, 10, 1)) == {
        "first_response": SlaState.MET,
        "resolution": SlaState.ON_TRACK,
    }
    # and it can be resolved and reopened again
    with tenant_context(world_a.tenant):
        services.complaint_resolve(
            complaint=row, actor=world_a.agent, resolution="Second batch.", now=nov(18, 10)
        )
        services.complaint_reopen(
            complaint=row, actor=world_a.customer_admin, reason="Again.", now=nov(18, 11)
        )
    assert fresh(row).reopen_count == 2


def test_a_reopened_clock_gets_its_whole_allowance_again(world_a):
    # given: an urgent complaint (2 h / 8 h) paused for 8 business hours, resolved, and
    # reopened a week later
    complaint = complaint_file(world_a.customer, world_a.company, priority="urgent")
    with tenant_context(world_a.tenant):
        services.complaint_assign(
            complaint=complaint, actor=world_a.agent, assignee=world_a.agent, now=nov(16, 9, 5)
        )
        services.complaint_start(complaint=complaint, actor=world_a.agent, now=nov(16, 9, 10))
        services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, question="Batch number?", now=nov(16, 12)
        )
        services.complaint_reply(
            complaint=complaint, actor=world_a.customer, body="B-17.", now=nov(17, 12)
        )
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="Replaced.", now=nov(17, 13)
        )

        # when
        reopened = services.complaint_reopen(
            complaint=complaint, actor=world_a.customer, reason="Not fixed.", now=nov(23, 9)
        )

    # then: 8 h from Monday 09:00, at risk after 6 h 24 min, the old pause forgotten
    assert reopened.resolution_due_at == nov(24, 9)
    assert fresh(reopened).sla_paused_seconds == 0
    assert states(reopened, nov(23, 9, 1))["resolution"] == SlaState.ON_TRACK
    assert states(reopened, nov(23, 15, 23, 59))["resolution"] == SlaState.ON_TRACK
    assert states(reopened, nov(23, 15, 24))["resolution"] == SlaState.AT_RISK
    assert states(reopened, nov(24, 9))["resolution"] == SlaState.BREACHED


def test_reopening_after_the_window_is_refused_and_changes_nothing(world_a, complaint_in):
    complaint = complaint_in(S.RESOLVED)  # resolved Monday 16 November 10:00
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant), pytest.raises(services.ComplaintConflict) as refused:
        services.complaint_reopen(
            complaint=complaint, actor=world_a.customer, reason="Late.", now=nov(30, 10, 0, 1)
        )

    assert refused.value.message == "A complaint can be reopened within 14 days of its resolution."
    assert complaint_state(complaint) == before
    # the last moment of the window still counts
    with tenant_context(world_a.tenant):
        services.complaint_reopen(
            complaint=complaint, actor=world_a.customer, reason="Just in time.", now=nov(30, 10)
        )
    assert fresh(complaint).status == S.IN_PROGRESS


def test_the_tenants_reopen_window_is_used(world_a, complaint_in):
    SupportSettings.unscoped.create(tenant=world_a.tenant, reopen_window_days=2)
    complaint = complaint_in(S.RESOLVED)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant), pytest.raises(services.ComplaintConflict):
        services.complaint_reopen(
            complaint=complaint, actor=world_a.customer, reason="Late.", now=nov(18, 11)
        )

    assert complaint_state(complaint) == before


# --- rating -------------------------------------------------------------------------------


def test_rating_a_resolved_complaint_keeps_it_resolved_until_its_window_ends(world_a, complaint_in):
    complaint = complaint_in(S.RESOLVED)

    with tenant_context(world_a.tenant):
        rating = services.complaint_rate(
            complaint=complaint, actor=world_a.customer, score=4, comment="Quick.", now=nov(16, 12)
        )

    assert (rating.score, rating.comment, rating.rated_by) == (4, "Quick.", world_a.customer)
    row = fresh(complaint)
    assert (row.status, row.closed_at) == (S.RESOLVED, None)
    rated = ComplaintEvent.unscoped.filter(complaint=complaint).order_by("pk").last()
    assert (rated.action, rated.actor, rated.note, rated.created_at) == (
        "rated",
        world_a.customer,
        "4",
        nov(16, 12),
    )
    # The reopen window's end: the complaint closes right after it (test_rating_reopen_window).
    with tenant_context(world_a.tenant):
        assert selectors.reopen_until(row) == row.resolved_at + datetime.timedelta(days=14)


def test_a_complaint_closed_by_staff_may_still_be_rated_once(world_a, complaint_in):
    complaint = complaint_in(S.CLOSED)

    with tenant_context(world_a.tenant):
        services.complaint_rate(complaint=complaint, actor=world_a.customer_admin, score=5)
        before = complaint_state(complaint)
        with pytest.raises(services.ComplaintConflict) as refused:
            services.complaint_rate(complaint=complaint, actor=world_a.customer, score=1)

    assert refused.value.message == "This complaint has already been rated."
    assert complaint_state(complaint) == before
    assert SatisfactionRating.unscoped.get(complaint=complaint).score == 5
    assert fresh(complaint).status == S.CLOSED


@pytest.mark.parametrize("score", [0, 6, -1, 10, "5", 4.5, True, None])
def test_a_rating_outside_one_to_five_is_refused(world_a, complaint_in, score):
    complaint = complaint_in(S.RESOLVED)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant), pytest.raises(services.ComplaintInvalid) as refused:
        services.complaint_rate(complaint=complaint, actor=world_a.customer, score=score)

    assert list(refused.value.fields) == ["score"]
    assert complaint_state(complaint) == before
    assert not SatisfactionRating.unscoped.exists()


# --- canned responses ---------------------------------------------------------------------


def test_canned_response_fills_its_placeholders_and_nothing_else(world_a):
    complaint = complaint_file(world_a.customer, world_a.company, subject="Cracked {agent_name}")
    canned = CannedResponse.unscoped.create(
        tenant=world_a.tenant,
        title="Apology",
        body=(
            "Dear {contact_name} ({customer_name}),\n"
            "about {complaint_code} “{subject}”: {agent_name} will call you.\n"
            "{unknown} {agent_name.__class__} {agent_name!r} {AGENT_NAME} {0} {} {{subject}}"
        ),
    )

    text = services.canned_response_render(canned=canned, complaint=complaint, agent=world_a.agent)

    assert text == (
        f"Dear {world_a.customer.full_name} (Alpha Buyer),\n"
        # a value that looks like a placeholder is not filled in again
        f"about {complaint.code} “Cracked {{agent_name}}”: {world_a.agent.full_name} will call "
        "you.\n"
        "{unknown} {agent_name.__class__} {agent_name!r} {AGENT_NAME} {0} {} "
        "{Cracked {agent_name}}"
    )


# --- linked returns -----------------------------------------------------------------------


def a_return(world, *, requester=None, company=None, number="RMA-2026-000001"):
    return ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number=number,
        customer_account=company or world.company,
        requester=requester or world.customer,
    )


def test_a_return_of_the_same_company_is_linked(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    own = a_return(world_a)
    colleagues = a_return(world_a, requester=world_a.colleague, number="RMA-2026-000002")

    with tenant_context(world_a.tenant):
        services.complaint_link_return(
            complaint=complaint, actor=world_a.customer, return_request=own, now=nov(16, 10)
        )
        assert fresh(complaint).return_request == own
        # customers link once; a different return afterwards is refused, nothing changes
        with pytest.raises(services.ComplaintConflict):
            services.complaint_link_return(
                complaint=complaint, actor=world_a.customer_admin, return_request=colleagues
            )
        assert fresh(complaint).return_request == own
        # a customer admin sees the whole company's returns, and so may link them
        other = complaint_file(world_a.customer_admin, world_a.company)
        services.complaint_link_return(
            complaint=other, actor=world_a.customer_admin, return_request=colleagues
        )
        assert fresh(other).return_request == colleagues
        # staff may correct a link
        services.complaint_link_return(
            complaint=complaint, actor=world_a.agent, return_request=colleagues
        )
        services.complaint_link_return(complaint=complaint, actor=world_a.agent, return_request=own)

    assert fresh(complaint).return_request == own
    first = ComplaintEvent.unscoped.filter(complaint=complaint, action="return_linked").first()
    assert (first.actor, first.note, first.created_at) == (
        world_a.customer,
        "RMA-2026-000001",
        nov(16, 10),
    )


@pytest.mark.parametrize("whose", ["other_company", "other_tenant", "colleague"])
def test_a_return_the_customer_may_not_see_is_not_linked(world_a, world_b, whose):
    complaint = complaint_file(world_a.customer, world_a.company)
    if whose == "other_company":
        foreign = a_return(
            world_a, requester=world_a.other_company_user, company=world_a.other_company
        )
    elif whose == "other_tenant":
        foreign = a_return(world_b)
    else:  # a plain customer user sees only their own returns
        foreign = a_return(world_a, requester=world_a.colleague)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant), pytest.raises(services.ComplaintInvalid) as refused:
        services.complaint_link_return(
            complaint=complaint, actor=world_a.customer, return_request=foreign
        )

    assert list(refused.value.fields) == ["return_request"]
    assert complaint_state(complaint) == before


def test_staff_cannot_link_another_companys_return_either(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    foreign = a_return(world_a, requester=world_a.other_company_user, company=world_a.other_company)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant), pytest.raises(services.ComplaintInvalid):
        services.complaint_link_return(
            complaint=complaint, actor=world_a.agent, return_request=foreign
        )

    assert complaint_state(complaint) == before


# --- attachments --------------------------------------------------------------------------


def test_files_of_a_complaint_are_stored_under_the_tenants_folder(world_a, media_root):
    complaint = complaint_file(
        world_a.customer, world_a.company, uploads=[png_upload("crack 1.png"), png_upload()]
    )
    with tenant_context(world_a.tenant):
        message = services.complaint_reply(
            complaint=complaint,
            actor=world_a.customer,
            body="One more.",
            uploads=[png_upload("../../etc/passwd.png")],
            now=nov(16, 10),
        )

    attachments = list(ComplaintAttachment.unscoped.filter(complaint=complaint).order_by("pk"))
    assert [(a.original_name, a.message_id) for a in attachments] == [
        ("crack 1.png", None),
        ("photo.png", None),
        ("passwd.png", message.pk),
    ]
    folder = f"tenants/{world_a.tenant.pk}/complaints/"
    for attachment in attachments:
        assert attachment.tenant_id == world_a.tenant.pk
        assert attachment.file.name.startswith(folder), attachment.file.name
        assert attachment.content_type == "image/png"
        assert (media_root / attachment.file.name).is_file()
        assert default_storage.path(attachment.file.name).startswith(str(media_root))
    assert len(stored_files(media_root)) == 3


def test_files_of_an_internal_note_belong_to_the_note(world_a, media_root):
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        note = services.complaint_reply(
            complaint=complaint,
            actor=world_a.agent,
            body="Supplier's test report.",
            is_internal=True,
            uploads=[png_upload("report.png")],
        )
        staff_view = selectors.complaint_thread(complaint=complaint, for_customer=False)
        customer_view = selectors.complaint_thread(complaint=complaint, for_customer=True)

    attachment = ComplaintAttachment.unscoped.get(complaint=complaint)
    assert (attachment.message, note.is_internal) == (note, True)
    assert [a.pk for a in staff_view.visible_attachments] == [attachment.pk]
    assert customer_view.visible_attachments == []
    assert list(customer_view.messages.all()) == []


def test_a_customer_cannot_post_an_internal_note(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)

    before = complaint_state(complaint)

    with tenant_context(world_a.tenant), pytest.raises(services.ComplaintAccessDenied):
        services.complaint_reply(
            complaint=complaint, actor=world_a.customer, body="Hidden?", is_internal=True
        )

    assert complaint_state(complaint) == before


def test_a_disguised_executable_in_a_reply_is_refused_and_nothing_is_saved(world_a, media_root):
    complaint = complaint_file(world_a.customer, world_a.company)
    before = complaint_state(complaint)

    with tenant_context(world_a.tenant), pytest.raises(UploadRejected) as refused:
        services.complaint_reply(
            complaint=complaint,
            actor=world_a.customer,
            body="See attached.",
            uploads=[png_upload(), exe_upload()],
        )

    assert refused.value.fields == {"files": ["invoice.pdf is not a JPEG, PNG, WebP or PDF file."]}
    assert complaint_state(complaint) == before
    assert stored_files(media_root) == []


def test_filing_is_timestamped_with_the_injected_time(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)

    assert fresh(complaint).created_at == FILED
    event = ComplaintEvent.unscoped.get(complaint=complaint)
    assert (event.action, event.actor, event.to_status, event.created_at) == (
        "filed",
        world_a.customer,
        S.NEW,
        FILED,
    )

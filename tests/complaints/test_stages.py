"""Complaint stages: the tenant's defaults, the stage each status puts a complaint in, the
stage clocks in business time (hand-computed across a holiday and both DST changes), pauses
while the customer has the turn, the boundary at the due moment and the stage history."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintStage,
    ComplaintStageVisit,
    ComplaintStatus,
    Holiday,
    StageOutcome,
    SupportSettings,
)
from complaints.selectors import (
    DEFAULT_STAGES,
    business_calendar,
    stage_at_risk,
    stage_breached,
    stage_state,
)
from complaints.services.complaints import ComplaintConflict, complaint_stages_ensure
from complaints.sla import BusinessCalendar, SlaState, working_days_due_at
from rma_portal.tenancy.context import tenant_context

from .conftest import FILED, HOUR, UTC, advance, complaint_file, complaint_state, nov, warsaw

pytestmark = pytest.mark.django_db

S = ComplaintStatus
SECOND = datetime.timedelta(seconds=1)


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def history(complaint) -> list[tuple]:
    """(stage key, entered, due, left, outcome, business seconds paused) of every visit."""
    return [
        (v.stage.key, v.started_at, v.due_at, v.left_at, v.outcome, v.paused_seconds)
        for v in ComplaintStageVisit.unscoped.filter(complaint_id=complaint.pk)
        .select_related("stage")
        .order_by("started_at", "pk")
    ]


def current(complaint) -> tuple:
    """(stage key, entered, due, at risk from) as stored on the complaint row."""
    row = Complaint.unscoped.select_related("stage").get(pk=complaint.pk)
    return (
        row.stage.key if row.stage else None,
        row.stage_started_at,
        row.stage_due_at,
        row.stage_at_risk_at,
    )


def open_visit(complaint) -> ComplaintStageVisit:
    return ComplaintStageVisit.unscoped.get(complaint_id=complaint.pk, left_at__isnull=True)


def stage(world, key: str) -> ComplaintStage:
    return ComplaintStage.unscoped.get(tenant=world.tenant, key=key)


def assign(world, complaint, now):
    with tenant_context(world.tenant):
        return services.complaint_assign(
            complaint=complaint, actor=world.agent, assignee=world.agent, now=now
        )


def start(world, complaint, now):
    with tenant_context(world.tenant):
        return services.complaint_start(complaint=complaint, actor=world.agent, now=now)


def wait(world, complaint, now, question: str = ""):
    with tenant_context(world.tenant):
        return services.complaint_wait_for_customer(
            complaint=complaint, actor=world.agent, question=question, now=now
        )


def staff_reply(world, complaint, now, body: str = "We are on it."):
    with tenant_context(world.tenant):
        return services.complaint_reply(complaint=complaint, actor=world.agent, body=body, now=now)


def customer_reply(world, complaint, now):
    with tenant_context(world.tenant):
        return services.complaint_reply(
            complaint=complaint, actor=world.customer, body="The batch is 42.", now=now
        )


def reload(complaint) -> Complaint:
    return Complaint.unscoped.get(pk=complaint.pk)


# --- the defaults -----------------------------------------------------------------------


def test_a_tenant_without_stages_gets_the_procedures_defaults_when_a_complaint_is_filed(
    world_a, world_b
):
    assert not ComplaintStage.unscoped.exists()

    complaint_file(world_a.customer, world_a.company)

    rows = ComplaintStage.unscoped.filter(tenant=world_a.tenant).order_by("position")
    assert [(s.key, s.limit_days, s.statuses, s.is_active) for s in rows] == [
        ("acknowledge", Decimal("1"), ["new", "open"], True),
        ("analysis", Decimal("3"), ["in_progress"], True),
        ("information", Decimal("1"), ["awaiting_customer"], True),
        ("resolution", Decimal("5"), ["resolved"], True),
    ]
    assert [s.name for s in rows] == [str(name) for _p, _k, name, _d, _s in DEFAULT_STAGES]
    assert not ComplaintStage.unscoped.filter(tenant=world_b.tenant).exists()
    # asked again, nothing more is made
    with tenant_context(world_a.tenant):
        assert len(complaint_stages_ensure(world_a.tenant)) == 4
    assert ComplaintStage.unscoped.count() == 4


def test_a_tenant_with_only_inactive_stages_gets_no_defaults_and_no_stage(world_a):
    ComplaintStage.unscoped.create(
        tenant=world_a.tenant,
        key="triage",
        name="Triage",
        limit_days=1,
        statuses=["new"],
        is_active=False,
    )

    complaint = complaint_file(world_a.customer, world_a.company)

    assert ComplaintStage.unscoped.count() == 1
    assert current(complaint) == (None, None, None, None)
    assert history(complaint) == []


def test_the_model_refuses_statuses_no_stage_can_cover():
    row = ComplaintStage(key="x", name="X", limit_days=Decimal("1"), statuses=["closed", "bogus"])
    with pytest.raises(ValidationError) as raised:
        row.clean_fields(exclude=["tenant"])
    messages = raised.value.message_dict["statuses"]
    assert any("“closed”" in message for message in messages)
    assert any("“bogus”" in message for message in messages)
    row.statuses = []
    with pytest.raises(ValidationError) as raised:
        row.clean_fields(exclude=["tenant"])
    assert "statuses" in raised.value.message_dict


# --- business-time arithmetic, hand-computed ----------------------------------------------


OFFICE = BusinessCalendar()  # Europe/Warsaw, Mon–Fri 08:00–16:00: a working day is 8 h


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # one working day is the day's 8 business hours: Monday 09:00 → Tuesday 09:00
        (nov(16, 9), Decimal("1"), nov(17, 9)),
        # from Friday afternoon over the weekend: Friday 15:00 → Monday 15:00
        (nov(20, 15), Decimal("1"), nov(23, 15)),
        # three working days: Monday 09:20 → Thursday 09:20
        (nov(16, 9, 20), Decimal("3"), nov(19, 9, 20)),
        # half a working day is 4 h: Monday 14:00 + 2 h → Tuesday 08:00 + 2 h
        (nov(16, 14), Decimal("0.5"), nov(17, 10)),
        # a start at night counts from the next opening: Monday 20:00 → Tuesday 08:00 + 8 h,
        # which ends at Tuesday's closing time
        (nov(16, 20), Decimal("1"), nov(17, 16)),
        # the last business second of the day ends at closing time, not the next morning
        (nov(16, 8), Decimal("1"), nov(16, 16)),
    ],
)
def test_a_limit_in_working_days_is_that_many_working_days_of_business_time(start, days, due):
    assert working_days_due_at(OFFICE, start, days) == due


def test_across_a_holiday(world_a, world_b):
    # Wednesday 11 November 2026 (Independence Day) is a holiday of tenant A only.
    Holiday.unscoped.create(tenant=world_a.tenant, date=datetime.date(2026, 11, 11), name="11.11")
    filed = nov(10, 10)  # Tuesday 10:00

    with_holiday = complaint_file(world_a.customer, world_a.company, now=filed)
    without = complaint_file(world_b.customer, world_b.company, now=filed)

    # acknowledge, 1 day = 8 h: Tuesday 10–16 (6 h), Wednesday off, Thursday 08–10 (2 h)
    assert current(with_holiday)[:3] == ("acknowledge", filed, nov(12, 10))
    assert current(without)[:3] == ("acknowledge", filed, nov(11, 10))

    assign(world_a, with_holiday, nov(10, 10, 30))
    start(world_a, with_holiday, nov(10, 11))
    # analysis, 3 days = 24 h from Tuesday 11:00: Tuesday 5 h, Thursday 8 h (13), Friday 8 h
    # (21), Monday 08:00 + 3 h = Monday 16 November 11:00. At risk after 80 % = 19 h 12 min:
    # Tuesday 5 h, Thursday 8 h (13), Friday 08:00 + 6 h 12 min = 14:12.
    assert current(with_holiday) == ("analysis", nov(10, 11), nov(16, 11), nov(13, 14, 12))
    assert history(with_holiday)[0] == (
        "acknowledge",
        filed,
        nov(12, 10),
        nov(10, 11),
        StageOutcome.MET,
        0,
    )


def test_across_the_autumn_dst_change():
    # Sunday 25 October 2026, 03:00 CEST → 02:00 CET. Analysis entered Friday 15:00 CEST
    # (13:00 UTC): 3 days = 24 h: Friday 1 h, Monday 8 h (9), Tuesday 8 h (17), Wednesday
    # 08:00 + 7 h = 15:00 CET, which is 14:00 UTC.
    due = working_days_due_at(OFFICE, warsaw(2026, 10, 23, 15), Decimal("3"))

    assert due == warsaw(2026, 10, 28, 15)
    assert due == utc(2026, 10, 28, 14)


def test_across_the_dst_changes_in_a_tenants_complaint(world_a):
    # Filed Friday 27 March 2026, 15:00 CET (14:00 UTC); Sunday 29 March 02:00 CET → 03:00
    # CEST. Acknowledge: Friday 1 h, Monday 30 March 08:00 + 7 h = 15:00 CEST = 13:00 UTC,
    # 71 real hours later although the wall clock moved on by 72.
    spring = warsaw(2026, 3, 27, 15)
    complaint = complaint_file(world_a.customer, world_a.company, now=spring)
    due = current(complaint)[2]
    assert due == warsaw(2026, 3, 30, 15) == utc(2026, 3, 30, 13)
    assert due - spring == datetime.timedelta(hours=71)

    # Filed Friday 23 October 2026, 14:00 CEST (12:00 UTC): Friday 2 h, Monday 26 October
    # 08:00 + 6 h = 14:00 CET = 13:00 UTC, 73 real hours later.
    autumn = warsaw(2026, 10, 23, 14)
    complaint = complaint_file(world_a.customer, world_a.company, now=autumn)
    due = current(complaint)[2]
    assert due == warsaw(2026, 10, 26, 14) == utc(2026, 10, 26, 13)
    assert due - autumn == datetime.timedelta(hours=73)


def test_a_working_day_is_as_long_as_the_tenants_working_hours(world_a):
    # Support works 09:00–13:00: one working day is 4 business hours.
    SupportSettings.unscoped.create(
        tenant=world_a.tenant, day_start=datetime.time(9), day_end=datetime.time(13)
    )
    complaint = complaint_file(world_a.customer, world_a.company, now=nov(16, 12))

    # Monday 12–13 (1 h), Tuesday 09:00 + 3 h = 12:00; at risk after 3 h 12 min: Tuesday 11:12
    assert current(complaint) == ("acknowledge", nov(16, 12), nov(17, 12), nov(17, 11, 12))
    calendar = business_calendar(world_a.tenant)
    assert calendar.working_day_seconds == 4 * HOUR


# --- the stage follows the status ------------------------------------------------------------


def test_filing_enters_acknowledge_and_work_moves_the_complaint_through_the_stages(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)  # Monday 09:00

    # 1 day from Monday 09:00; at risk after 80 % of 8 h = 6 h 24 min: Monday 15:24
    assert current(complaint) == ("acknowledge", FILED, nov(17, 9), nov(16, 15, 24))
    visit = open_visit(complaint)
    assert (visit.limit_days, visit.at_risk_at, visit.paused_at) == (
        Decimal("1"),
        nov(16, 15, 24),
        None,
    )

    complaint = assign(world_a, complaint, nov(16, 9, 10))  # new → open: still acknowledge
    assert current(complaint)[0] == "acknowledge"
    assert len(history(complaint)) == 1

    complaint = start(world_a, complaint, nov(16, 9, 20))
    # analysis: Monday 09:20 + 24 h = Thursday 09:20; at risk after 19 h 12 min: Monday
    # 6 h 40 min, Tuesday 8 h, Wednesday 08:00 + 4 h 32 min = 12:32
    assert current(complaint) == ("analysis", nov(16, 9, 20), nov(19, 9, 20), nov(18, 12, 32))

    with tenant_context(world_a.tenant):
        complaint = services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="Replaced.", now=nov(17, 10)
        )
    # resolution: 5 days = 40 h from Tuesday 10:00 = Tuesday 24 November 10:00
    assert current(complaint)[:3] == ("resolution", nov(17, 10), nov(24, 10))

    with tenant_context(world_a.tenant):
        services.complaint_rate(
            complaint=complaint, actor=world_a.customer, score=5, now=nov(18, 9)
        )
    # the rating ends the resolution stage (the complaint stays resolved until its reopen
    # window ends): no stage now, the last visit is met
    assert current(complaint) == (None, None, None, None)
    assert history(complaint) == [
        ("acknowledge", FILED, nov(17, 9), nov(16, 9, 20), StageOutcome.MET, 0),
        ("analysis", nov(16, 9, 20), nov(19, 9, 20), nov(17, 10), StageOutcome.MET, 0),
        ("resolution", nov(17, 10), nov(24, 10), nov(18, 9), StageOutcome.MET, 0),
    ]


def test_a_reply_to_a_new_complaint_ends_acknowledgement_and_starts_analysis(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)

    staff_reply(world_a, complaint, nov(16, 11))

    assert [row[0] for row in history(complaint)] == ["acknowledge", "analysis"]
    assert current(complaint)[:3] == ("analysis", nov(16, 11), nov(19, 11))


def test_a_rejected_complaint_leaves_its_stage_missed_when_late(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)

    with tenant_context(world_a.tenant):
        services.complaint_reject(
            complaint=complaint, actor=world_a.agent, reason="Not ours.", now=nov(17, 12)
        )

    assert current(complaint) == (None, None, None, None)
    assert history(complaint) == [
        ("acknowledge", FILED, nov(17, 9), nov(17, 12), StageOutcome.MISSED, 0)
    ]


def test_a_reopened_complaint_enters_analysis_again_with_a_fresh_limit(world_a, complaint_in):
    complaint = complaint_in(S.RESOLVED)  # resolved Monday 10:00

    with tenant_context(world_a.tenant):
        services.complaint_reopen(
            complaint=complaint, actor=world_a.customer, reason="Still broken.", now=nov(18, 9)
        )

    keys = [row[0] for row in history(complaint)]
    assert keys == ["acknowledge", "analysis", "resolution", "analysis"]
    assert current(complaint)[:3] == ("analysis", nov(18, 9), nov(23, 9))
    assert history(complaint)[2][3:5] == (nov(18, 9), StageOutcome.MET)


def test_the_tenants_own_stages_and_a_status_no_stage_covers(world_a):
    # Triage covers new only; work covers open and in progress; nothing covers resolved.
    ComplaintStage.unscoped.create(
        tenant=world_a.tenant,
        position=1,
        key="triage",
        name="Triage",
        limit_days="0.5",
        statuses=["new"],
    )
    ComplaintStage.unscoped.create(
        tenant=world_a.tenant,
        position=2,
        key="work",
        name="Work",
        limit_days="2",
        statuses=["open", "in_progress"],
    )
    complaint = complaint_file(world_a.customer, world_a.company)
    assert current(complaint)[:3] == ("triage", FILED, nov(16, 13))

    complaint = assign(world_a, complaint, nov(16, 10))
    complaint = start(world_a, complaint, nov(16, 11))  # same stage: the visit goes on
    assert current(complaint)[:3] == ("work", nov(16, 10), nov(18, 10))

    with tenant_context(world_a.tenant):
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="Done.", now=nov(16, 12)
        )
    # resolved is nobody's: the work stage goes on until the complaint is finished
    assert current(complaint)[0] == "work"
    assert [row[0] for row in history(complaint)] == ["triage", "work"]


def test_changes_to_a_stage_apply_to_visits_entered_afterwards(world_a):
    first = complaint_file(world_a.customer, world_a.company)
    ComplaintStage.unscoped.filter(tenant=world_a.tenant, key="acknowledge").update(
        limit_days=Decimal("2")
    )
    ComplaintStage.unscoped.filter(tenant=world_a.tenant, key="analysis").update(is_active=False)

    second = complaint_file(world_a.customer, world_a.company)
    start(world_a, assign(world_a, first, nov(16, 10)), nov(16, 11))

    assert (open_visit(first).limit_days, current(first)[2]) == (Decimal("1"), nov(17, 9))
    assert (open_visit(second).limit_days, current(second)[2]) == (Decimal("2"), nov(18, 9))
    # no active stage covers in progress: acknowledgement goes on
    assert current(first)[0] == "acknowledge"


# --- pauses -------------------------------------------------------------------------------


def test_information_waits_for_the_customer_then_runs_until_staff_act(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    complaint = start(world_a, assign(world_a, complaint, nov(16, 9, 10)), nov(16, 10))

    # Monday 11:00: staff ask the customer. Analysis ends; information starts, paused.
    complaint = wait(world_a, complaint, nov(16, 11))
    visit = open_visit(complaint)
    assert (visit.stage.key, visit.started_at, visit.paused_at) == (
        "information",
        nov(16, 11),
        nov(16, 11),
    )
    complaint = reload(complaint)
    assert stage_state(complaint, now=nov(25, 9)) == SlaState.ON_TRACK  # paused, days later

    # Wednesday 14:00: the customer answers. The information stage resumes with its whole
    # day left: due Thursday 14:00. Paused: Monday 5 h + Tuesday 8 h + Wednesday 6 h = 19 h.
    # At risk 1 h 36 min (20 % of 8 h) before: Thursday 12:24.
    customer_reply(world_a, complaint, nov(18, 14))
    complaint = reload(complaint)
    assert complaint.status == S.IN_PROGRESS
    assert current(complaint) == ("information", nov(16, 11), nov(19, 14), nov(19, 12, 24))
    assert open_visit(complaint).paused_seconds == 19 * HOUR

    # Thursday 10:00: staff answer; information is met and analysis starts again
    staff_reply(world_a, complaint, nov(19, 10))
    assert history(complaint) == [
        ("acknowledge", FILED, nov(17, 9), nov(16, 10), StageOutcome.MET, 0),
        ("analysis", nov(16, 10), nov(19, 10), nov(16, 11), StageOutcome.MET, 0),
        ("information", nov(16, 11), nov(19, 14), nov(19, 10), StageOutcome.MET, 19 * HOUR),
        ("analysis", nov(19, 10), nov(24, 10), None, "", 0),
    ]


def test_a_question_with_the_wait_posts_a_reply_and_then_enters_information(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)

    wait(world_a, assign(world_a, complaint, nov(16, 9, 10)), nov(16, 10), question="Batch?")

    # the question is the first answer: analysis starts and ends at the same moment
    assert [row[:2] for row in history(complaint)] == [
        ("acknowledge", FILED),
        ("analysis", nov(16, 10)),
        ("information", nov(16, 10)),
    ]
    assert open_visit(complaint).paused_at == nov(16, 10)


def test_the_running_stage_pauses_when_no_stage_covers_waiting(world_a):
    with tenant_context(world_a.tenant):
        complaint_stages_ensure(world_a.tenant)
    ComplaintStage.unscoped.filter(tenant=world_a.tenant, key="information").update(is_active=False)
    complaint = complaint_file(world_a.customer, world_a.company)
    complaint = start(world_a, assign(world_a, complaint, nov(16, 9, 10)), nov(16, 10))
    assert current(complaint)[:3] == ("analysis", nov(16, 10), nov(19, 10))

    wait(world_a, complaint, nov(16, 11))  # analysis pauses, one business hour used
    assert open_visit(complaint).paused_at == nov(16, 11)
    assert not Complaint.unscoped.filter(stage_breached(nov(20, 9))).exists()

    customer_reply(world_a, complaint, nov(17, 11))  # paused 8 business hours
    # 23 h were left (Monday 5, Tuesday 8, Wednesday 8, Thursday 2): from Tuesday 11:00 that
    # is Friday 10:00. At risk after 19 h 12 min of allowed time plus the 8 h paused, from
    # Monday 10:00: Monday 6, Tuesday 8 (14), Wednesday 8 (22), Thursday 08:00 + 5 h 12 min.
    assert current(complaint) == ("analysis", nov(16, 10), nov(20, 10), nov(19, 13, 12))
    visit = open_visit(complaint)
    assert (visit.paused_at, visit.paused_seconds) == (None, 8 * HOUR)
    assert [row[0] for row in history(complaint)] == ["acknowledge", "analysis"]


# --- the due moment itself ---------------------------------------------------------------------


def test_at_the_due_moment_a_running_stage_is_overdue_and_a_stage_left_then_is_met(world_a):
    due = nov(17, 9)  # acknowledge of a complaint filed Monday 09:00
    on_time = complaint_file(world_a.customer, world_a.company)
    late = complaint_file(world_a.customer, world_a.company)

    running = reload(on_time)
    assert stage_state(running, now=due - SECOND) == SlaState.AT_RISK
    assert stage_state(running, now=due) == SlaState.BREACHED
    with tenant_context(world_a.tenant):
        assert set(Complaint.objects.filter(stage_breached(due))) == {on_time, late}
        assert not Complaint.objects.filter(stage_breached(due - SECOND)).exists()
        assert set(Complaint.objects.filter(stage_at_risk(due - SECOND))) == {on_time, late}
        assert set(Complaint.objects.filter(stage_at_risk(nov(16, 15, 24)))) == {on_time, late}
        assert not Complaint.objects.filter(stage_at_risk(nov(16, 15, 24) - SECOND)).exists()

    staff_reply(world_a, on_time, due)
    staff_reply(world_a, late, due + SECOND)

    assert history(on_time)[0][3:5] == (due, StageOutcome.MET)
    assert history(late)[0][3:5] == (due + SECOND, StageOutcome.MISSED)


# --- refused changes write nothing -------------------------------------------------------------


def test_a_refused_transition_leaves_the_stage_and_its_history_alone(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    before = complaint_state(complaint), history(complaint)

    with tenant_context(world_a.tenant), pytest.raises(ComplaintConflict):
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="x", now=nov(16, 10)
        )

    assert (complaint_state(complaint), history(complaint)) == before


def test_an_internal_note_does_not_move_the_stage(world_a, complaint_in):
    complaint = complaint_in(S.AWAITING_CUSTOMER)
    customer_reply(world_a, complaint, nov(16, 12))
    before = history(complaint)

    with tenant_context(world_a.tenant):
        services.complaint_reply(
            complaint=complaint,
            actor=world_a.agent,
            body="Check.",
            is_internal=True,
            now=nov(16, 13),
        )

    assert history(complaint) == before
    assert current(complaint)[0] == "information"


def test_the_path_helpers_land_every_status_in_its_stage(world_a, complaint_in):
    expected = {
        S.NEW: "acknowledge",
        S.OPEN: "acknowledge",
        S.IN_PROGRESS: "analysis",
        S.AWAITING_CUSTOMER: "information",
        S.RESOLVED: "resolution",
        S.CLOSED: None,
        S.REJECTED: None,
    }
    for status, key in expected.items():
        complaint = complaint_in(status)
        assert current(complaint)[0] == key, status
        open_visits = ComplaintStageVisit.unscoped.filter(
            complaint_id=complaint.pk, left_at__isnull=True
        ).count()
        assert open_visits == (0 if key is None else 1), status


def test_advance_moves_new_complaints_of_another_tenant_into_their_own_stages(world_a, world_b):
    mine = complaint_file(world_a.customer, world_a.company)
    theirs = advance(complaint_file(world_b.customer, world_b.company), S.OPEN, agent=world_b.agent)

    assert open_visit(mine).stage.tenant_id == world_a.tenant.pk
    assert open_visit(theirs).stage.tenant_id == world_b.tenant.pk
    assert ComplaintStage.unscoped.filter(tenant=world_b.tenant).count() == 4

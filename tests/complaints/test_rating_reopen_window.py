"""Rating a resolved complaint keeps it resolved until its reopen window ends, with injected
time: the customer may still reopen it up to the window's last moment, the auto-close closes
it right after (not before, whatever the auto-close days), the rating ends the resolution
stage so no stage notice goes out meanwhile, and a reopened complaint keeps its rating and is
not asked again (docs/feedback.md, docs/complaint-stages.md)."""

from __future__ import annotations

import datetime

import pytest

from complaints import selectors, services
from complaints.models import (
    Complaint,
    ComplaintEvent,
    ComplaintStageVisit,
    ComplaintStatus,
    SatisfactionRating,
    StageOutcome,
    SupportSettings,
)
from complaints.sla_watch import complaints_auto_close, stage_scan
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import tenant_context

from .conftest import STEP_AT, complaint_state, nov

pytestmark = pytest.mark.django_db

S = ComplaintStatus
SECOND = datetime.timedelta(seconds=1)
RESOLVED_AT = STEP_AT["resolve"]  # Monday 16 November 10:00 (conftest.advance)
RATED_AT = nov(17, 9)
# The default reopen window: 14 days from the resolution.
WINDOW_END = RESOLVED_AT + datetime.timedelta(days=14)


def fresh(complaint) -> Complaint:
    return Complaint.unscoped.get(pk=complaint.pk)


def rate(world, complaint, *, now=RATED_AT, score=4, actor=None):
    with tenant_context(world.tenant):
        return services.complaint_rate(
            complaint=complaint, actor=actor or world.customer, score=score, nps=9, now=now
        )


def auto_close(world, now) -> int:
    with tenant_context(world.tenant):
        return complaints_auto_close(tenant=world.tenant, now=now)


def reopen(world, complaint, now):
    with tenant_context(world.tenant):
        return services.complaint_reopen(
            complaint=fresh(complaint), actor=world.customer, reason="Cracked again.", now=now
        )


def actions(complaint) -> list[str]:
    return list(
        ComplaintEvent.unscoped.filter(complaint=complaint)
        .order_by("created_at", "pk")
        .values_list("action", flat=True)
    )


def set_days(world, *, reopen_window_days: int, auto_close_days: int) -> None:
    SupportSettings.unscoped.update_or_create(
        tenant=world.tenant,
        defaults={"reopen_window_days": reopen_window_days, "auto_close_days": auto_close_days},
    )


def test_a_rated_complaint_stays_resolved_and_may_be_reopened_until_its_window_ends(
    world_a, complaint_in
):
    complaint = complaint_in(S.RESOLVED)

    rating = rate(world_a, complaint)

    row = fresh(complaint)
    assert (row.status, row.closed_at, row.resolved_at) == (S.RESOLVED, None, RESOLVED_AT)
    assert (rating.score, rating.nps, rating.rated_by) == (4, 9, world_a.customer)
    assert actions(complaint)[-1] == "rated"  # no "closed" after it
    rated = ComplaintEvent.unscoped.get(complaint=complaint, action="rated")
    assert (rated.actor, rated.note, rated.created_at, rated.from_status, rated.to_status) == (
        world_a.customer,
        "4",
        RATED_AT,
        S.RESOLVED,
        S.RESOLVED,
    )
    # The customer's webhook of the rating, no "closed" one.
    webhooks = set(Notification.unscoped.filter(tenant=world_a.tenant).values_list("event"))
    assert not {("complaint.closed",)} & webhooks
    with tenant_context(world_a.tenant):
        assert selectors.reopen_until(row) == WINDOW_END
        assert selectors.rated_since_resolved(row)


def test_the_auto_close_closes_a_rated_complaint_right_after_its_window_not_before(
    world_a, complaint_in
):
    complaint = complaint_in(S.RESOLVED)
    rate(world_a, complaint)

    # Unrated complaints close after the auto-close days (14 by default, `<=`); a rated one
    # only once the customer can no longer reopen it: its window's last moment is still theirs.
    assert auto_close(world_a, WINDOW_END - datetime.timedelta(days=1)) == 0
    assert auto_close(world_a, WINDOW_END) == 0
    assert fresh(complaint).status == S.RESOLVED

    assert auto_close(world_a, WINDOW_END + SECOND) == 1

    row = fresh(complaint)
    assert (row.status, row.closed_at) == (S.CLOSED, WINDOW_END + SECOND)
    closed = ComplaintEvent.unscoped.filter(complaint=complaint).order_by("pk").last()
    assert (closed.action, closed.actor, closed.from_status, closed.to_status) == (
        "closed",
        None,
        S.RESOLVED,
        S.CLOSED,
    )
    assert actions(complaint).count("rated") == 1  # nothing asked or recorded again
    assert SatisfactionRating.unscoped.filter(complaint=complaint).count() == 1
    assert auto_close(world_a, WINDOW_END + datetime.timedelta(days=1)) == 0


def test_a_rated_complaint_closes_at_its_window_whatever_the_auto_close_days(world_a, complaint_in):
    set_days(world_a, reopen_window_days=7, auto_close_days=3)
    rated = complaint_in(S.RESOLVED)
    unrated = complaint_in(S.RESOLVED)
    rate(world_a, rated)
    window_end = RESOLVED_AT + datetime.timedelta(days=7)

    # Three days on, the unrated one closes; the rated one waits for its window.
    assert auto_close(world_a, RESOLVED_AT + datetime.timedelta(days=3)) == 1
    assert (fresh(unrated).status, fresh(rated).status) == (S.CLOSED, S.RESOLVED)
    assert auto_close(world_a, window_end) == 0
    assert auto_close(world_a, window_end + SECOND) == 1
    assert fresh(rated).status == S.CLOSED

    # A longer auto-close than window: the rated complaint still closes with its window.
    set_days(world_a, reopen_window_days=2, auto_close_days=30)
    late = complaint_in(S.RESOLVED)
    never_rated = complaint_in(S.RESOLVED)
    rate(world_a, late)
    two_days = RESOLVED_AT + datetime.timedelta(days=2)
    assert auto_close(world_a, two_days + SECOND) == 1
    assert (fresh(late).status, fresh(never_rated).status) == (S.CLOSED, S.RESOLVED)


def test_rated_after_the_window_has_ended_the_complaint_closes_at_once(world_a, complaint_in):
    set_days(world_a, reopen_window_days=2, auto_close_days=30)
    complaint = complaint_in(S.RESOLVED)
    after = RESOLVED_AT + datetime.timedelta(days=2) + SECOND

    rate(world_a, complaint, now=after)

    row = fresh(complaint)
    assert (row.status, row.closed_at) == (S.CLOSED, after)
    assert actions(complaint)[-2:] == ["rated", "closed"]


def test_a_rated_complaint_may_be_reopened_up_to_its_windows_last_moment(world_a, complaint_in):
    late = complaint_in(S.RESOLVED)
    rate(world_a, late)
    before = complaint_state(late)
    with pytest.raises(services.ComplaintConflict) as refused:
        reopen(world_a, late, WINDOW_END + SECOND)
    assert refused.value.message == "A complaint can be reopened within 14 days of its resolution."
    assert complaint_state(late) == before

    complaint = complaint_in(S.RESOLVED)
    rate(world_a, complaint)
    reopened = reopen(world_a, complaint, WINDOW_END)

    assert (reopened.status, reopened.reopen_count, reopened.resolved_at) == (
        S.IN_PROGRESS,
        1,
        None,
    )
    # The earlier rating stays, with its timeline entry; the reopening follows it.
    rating = SatisfactionRating.unscoped.get(complaint=complaint)
    assert (rating.score, rating.nps) == (4, 9)
    assert actions(complaint)[-2:] == ["rated", "reopened"]
    auto_close(world_a, WINDOW_END + datetime.timedelta(days=30))
    assert fresh(complaint).status == S.IN_PROGRESS  # no longer resolved: nothing to close
    assert fresh(late).status == S.CLOSED


def test_resolved_again_after_a_reopening_it_is_not_asked_to_rate_again(world_a, complaint_in):
    complaint = complaint_in(S.RESOLVED)
    rate(world_a, complaint, score=5)
    reopen(world_a, complaint, nov(18, 9))
    again = nov(19, 10)
    with tenant_context(world_a.tenant):
        complaint = services.complaint_resolve(
            complaint=fresh(complaint), actor=world_a.agent, resolution="Replaced.", now=again
        )

    # The first resolution e-mail carried the survey, the second one does not.
    first, second = Notification.unscoped.filter(event="complaint.resolved").order_by("pk")
    assert (len(first.context["survey"]), first.context["rated"]) == (5, False)
    assert (second.context["survey"], second.context["rated"]) == ([], True)

    before = complaint_state(complaint)
    with pytest.raises(services.ComplaintConflict) as refused:
        rate(world_a, complaint, now=nov(19, 11), score=1)
    assert refused.value.message == "This complaint has already been rated."
    assert complaint_state(complaint) == before

    # The earlier rating does not end the new resolution's stage; the new window closes it.
    assert fresh(complaint).stage.key == "resolution"
    with tenant_context(world_a.tenant):
        assert not selectors.rated_since_resolved(fresh(complaint))
    new_end = again + datetime.timedelta(days=14)
    assert auto_close(world_a, new_end) == 0
    assert auto_close(world_a, new_end + SECOND) == 1
    assert fresh(complaint).status == S.CLOSED


def test_the_rating_ends_the_resolution_stage_and_no_stage_notice_follows(world_a, complaint_in):
    complaint = complaint_in(S.RESOLVED)
    # resolution: 5 working days from Monday 10:00, due Monday 23 November 10:00
    assert (fresh(complaint).stage.key, fresh(complaint).stage_due_at) == (
        "resolution",
        nov(23, 10),
    )

    rate(world_a, complaint)

    row = fresh(complaint)
    assert (row.stage_id, row.stage_due_at, row.stage_at_risk_at) == (None, None, None)
    visit = ComplaintStageVisit.unscoped.filter(complaint=complaint).order_by("pk").last()
    assert (visit.stage.key, visit.left_at, visit.outcome) == (
        "resolution",
        RATED_AT,
        StageOutcome.MET,
    )

    # Well past the stage's limit, still resolved: no notice, not overdue in the queues.
    later = nov(27, 12)
    with tenant_context(world_a.tenant):
        assert stage_scan(tenant=world_a.tenant, now=later) == 0
        overdue = Complaint.objects.filter(selectors.stage_breached(later))
        assert not overdue.filter(pk=complaint.pk).exists()
        # A public staff reply meanwhile does not put it back into a stage.
        services.complaint_reply(
            complaint=row, actor=world_a.agent, body="Glad it works.", now=nov(24, 9)
        )
    assert fresh(complaint).stage_id is None
    assert ComplaintStageVisit.unscoped.filter(complaint=complaint).count() == 3
    assert not Notification.unscoped.filter(event__startswith="complaint.stage_").exists()
    assert fresh(complaint).status == S.RESOLVED


def test_an_unrated_resolved_complaint_still_goes_overdue_in_its_stage(world_a, complaint_in):
    complaint = complaint_in(S.RESOLVED)
    assert fresh(complaint).stage.key == "resolution"

    with tenant_context(world_a.tenant):
        assert stage_scan(tenant=world_a.tenant, now=nov(23, 10)) == 1
    assert Notification.unscoped.filter(event="complaint.stage_breached").exists()


@pytest.mark.parametrize("who", ["other_company_user", "colleague", "agent"])
def test_only_the_reporter_or_their_admin_rates_and_a_refusal_changes_nothing(
    world_a, complaint_in, who
):
    complaint = complaint_in(S.RESOLVED)
    before = complaint_state(complaint)

    with pytest.raises(services.ComplaintAccessDenied):
        rate(world_a, complaint, actor=getattr(world_a, who))

    assert complaint_state(complaint) == before

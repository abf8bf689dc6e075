"""Complaint services: filing (with automatic assignment), the state machine, the thread and
the rating; the complaints' part of the staff's workload and of re-assignment on absence."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override
from django_fsm import can_proceed

from customers.cases import CaseChannel, CaseFacts, CaseKind, filing_customer
from customers.models import Order, OrderLine, Product
from customers.routing import (
    REASON_ABSENCE,
    REASON_FILED,
    Decision,
    reassign_each,
    record_auto_assignment,
    route,
    timeline_note,
)
from customers.update_cadence import track_update
from rma_portal.accounts.models import STAFF_ACTING_ROLES, Role, User
from rma_portal.cadence import told_by
from rma_portal.concurrency import changed_since_seen
from rma_portal.errors import ApplicationError
from rma_portal.files.uploads import CleanUpload, UploadRejected, clean_upload
from rma_portal.ids import parse_id
from rma_portal.surveys import SurveyChannel, checked_nps, checked_score
from rma_portal.tenancy.sequences import format_document_number, next_in_sequence

from ..emails import send_complaint_reply_email
from ..models import (
    OPEN_COMPLAINT_STATUSES,
    UPDATE_CADENCE_STATUSES,
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStage,
    ComplaintStageVisit,
    ComplaintStatus,
    Priority,
    SatisfactionRating,
    StageOutcome,
    priority_change_note,
)
from ..notifications import on_complaint_event
from ..selectors import (
    DEFAULT_STAGES,
    business_calendar,
    complaint_stages,
    first_response_clock,
    rated_since_resolved,
    reopen_until,
    resolution_clock,
    sla_at_risk,
    sla_breached,
    sla_targets,
    stage_covering,
    support_settings,
)
from ..sla import (
    BusinessCalendar,
    Clock,
    add_business_time,
    at_risk_moment,
    business_seconds_between,
    resumed_due_at,
    working_days_due_at,
)

MAX_TEXT = 10_000
MAX_FILES_PER_MESSAGE = 10
ASSIGNING_ROLES = frozenset({Role.COORDINATOR, Role.TENANT_ADMIN})


class ComplaintInvalid(ApplicationError):
    code = "invalid"


class ComplaintConflict(ApplicationError):
    code = "conflict"


class ComplaintAccessDenied(ApplicationError):
    code = "forbidden"


# --- access -----------------------------------------------------------------------------


def _is_staff(user: User, complaint: Complaint | None = None) -> bool:
    """An agent, coordinator or tenant admin (of the complaint's tenant, when one is given),
    or a platform superuser."""
    if user.is_superuser:
        return True
    if user.role not in STAFF_ACTING_ROLES:
        return False
    # The scoped manager hides other tenants' complaints, but a caller that set the wrong
    # tenant context must not let another tenant's staff act.
    return complaint is None or user.tenant_id == complaint.tenant_id


def _is_customer_party(user: User, complaint: Complaint) -> bool:
    if not user.is_customer or user.tenant_id != complaint.tenant_id:
        return False
    membership = getattr(user, "customer_membership", None)
    if membership is None or membership.customer_account_id != complaint.customer_account_id:
        return False
    return user.pk == complaint.reporter_id or user.is_customer_admin


def _require_staff(user: User, complaint: Complaint | None = None) -> None:
    if not _is_staff(user, complaint):
        raise ComplaintAccessDenied(_("Only support staff may do this."))


def require_acting_for_customers(user: User, complaint: Complaint | None = None) -> None:
    """Acting staff, or the tenant's integration (its API keys, whose scopes the API checks),
    may file a complaint for a customer user."""
    integration = user.is_integration and (
        complaint is None or user.tenant_id == complaint.tenant_id
    )
    if not (integration or _is_staff(user, complaint)):
        raise ComplaintAccessDenied(_("Only support staff may do this."))


def _require_customer(user: User, complaint: Complaint) -> None:
    if not _is_customer_party(user, complaint):
        raise ComplaintAccessDenied(_("Only the customer who filed this complaint may do this."))


def _require_party(user: User, complaint: Complaint) -> None:
    if not (_is_staff(user, complaint) or _is_customer_party(user, complaint)):
        raise ComplaintAccessDenied(_("You may not change this complaint."))


# --- helpers ----------------------------------------------------------------------------


def _text(value: str, *, field: str, message: str, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ComplaintInvalid(message, fields={field: [message]})
    if len(value) > MAX_TEXT:
        too_long = _("The text is too long (at most %(max)d characters).") % {"max": MAX_TEXT}
        raise ComplaintInvalid(too_long, fields={field: [too_long]})
    return value


def _clean_uploads(uploads: Sequence) -> list[CleanUpload]:
    """Check every file before anything is written; errors name the form's `files` field."""
    uploads = list(uploads or ())
    if len(uploads) > MAX_FILES_PER_MESSAGE:
        too_many = _("Attach at most %(count)d files at a time.") % {"count": MAX_FILES_PER_MESSAGE}
        raise ComplaintInvalid(too_many, fields={"files": [too_many]})
    cleaned = []
    for upload in uploads:
        try:
            cleaned.append(clean_upload(upload))
        except UploadRejected as exc:
            raise UploadRejected(
                exc.message, code=exc.code, fields={"files": [exc.message]}
            ) from exc
    return cleaned


def _store_files(complaint, message, files: list[CleanUpload], actor: User) -> None:
    for clean in files:
        ComplaintAttachment.store(
            clean, uploaded_by=actor, tenant=complaint.tenant, complaint=complaint, message=message
        )


def _at_risk_at(calendar: BusinessCalendar, clock: Clock) -> datetime.datetime:
    return at_risk_moment(
        calendar,
        started_at=clock.started_at,
        due_at=clock.due_at,
        paused_seconds=clock.paused_seconds,
    )


def _mark_at_risk_moments(complaint: Complaint, calendar: BusinessCalendar) -> None:
    """Store when each clock turns at risk, for the SQL of the back-office queues; call it
    whenever a due time or the paused time changes."""
    complaint.first_response_at_risk_at = _at_risk_at(calendar, first_response_clock(complaint))
    complaint.resolution_at_risk_at = _at_risk_at(calendar, resolution_clock(complaint))


# --- stages -------------------------------------------------------------------------------
#
# A complaint is in the active stage covering its status (ComplaintStage.statuses). Every
# service that changes the status, and a public staff reply, calls _follow_stage() before it
# saves the complaint, in its transaction: the open visit is left (met or missed) when another
# stage covers the new status, and the new stage's visit starts with its own limit. A status
# no stage covers keeps the current stage. While the complaint waits for the customer the
# visit's clock is paused like the SLA clocks; the customer's answer resumes it and the stage
# stays until staff act again. A resolved complaint the customer rated is in no stage: it only
# waits for the end of its reopen window, the customer's turn (docs/complaint-stages.md).

FINISHED_STATUSES = (ComplaintStatus.CLOSED, ComplaintStatus.REJECTED)


def complaint_stages_ensure(tenant) -> list[ComplaintStage]:
    """The tenant's stages; a tenant that has none (not even inactive ones) gets the defaults
    (selectors.DEFAULT_STAGES), named in its default language. Safe to run twice at once."""
    stages = complaint_stages(tenant)
    if stages:
        return stages
    with override(tenant.default_language):
        ComplaintStage.objects.bulk_create(
            [
                ComplaintStage(
                    tenant=tenant,
                    position=position,
                    key=key,
                    name=str(name),
                    limit_days=limit_days,
                    statuses=[status.value for status in statuses],
                )
                for position, key, name, limit_days, statuses in DEFAULT_STAGES
            ],
            ignore_conflicts=True,  # a parallel call made them first
        )
    return complaint_stages(tenant)


class _Calendar:
    """The tenant's business calendar, read once and only when a stage clock needs it."""

    def __init__(self, tenant):
        self.tenant = tenant
        self._calendar: BusinessCalendar | None = None

    def get(self) -> BusinessCalendar:
        if self._calendar is None:
            self._calendar = business_calendar(self.tenant)
        return self._calendar


def _open_visit(complaint: Complaint) -> ComplaintStageVisit | None:
    if complaint.pk is None:
        return None
    return (
        ComplaintStageVisit.objects.for_tenant(complaint.tenant)
        .filter(complaint_id=complaint.pk, left_at__isnull=True)
        .first()
    )


def _pause_visit(visit: ComplaintStageVisit, *, at: datetime.datetime) -> None:
    visit.paused_at = at
    visit.save(update_fields=["paused_at"])


def _resume_visit(
    visit: ComplaintStageVisit, calendar: BusinessCalendar, *, now: datetime.datetime
) -> None:
    """The visit's clock runs again with the business time it had left (the SLA clocks'
    rule: sla.resumed_due_at); the time paused is kept for the at-risk moment and figures."""
    paused_at = visit.paused_at
    visit.due_at = resumed_due_at(
        calendar, due_at=visit.due_at, paused_at=paused_at, resumed_at=now
    )
    visit.paused_seconds += int(business_seconds_between(calendar, paused_at, now))
    visit.paused_at = None
    visit.at_risk_at = at_risk_moment(
        calendar,
        started_at=visit.started_at,
        due_at=visit.due_at,
        paused_seconds=visit.paused_seconds,
    )
    visit.save(update_fields=["due_at", "paused_seconds", "paused_at", "at_risk_at"])


def _leave_visit(
    visit: ComplaintStageVisit, calendar: _Calendar, *, now: datetime.datetime
) -> None:
    """Close the visit: met when left by its due moment (a paused visit is judged at the
    moment it paused, as the SLA clocks are). Never left before it was entered (a caller's
    `now` may lag behind the one that entered it)."""
    now = max(now, visit.started_at)
    judged_at = visit.paused_at or now
    if visit.paused_at is not None:
        visit.paused_seconds += int(business_seconds_between(calendar.get(), visit.paused_at, now))
        visit.paused_at = None
    visit.left_at = now
    visit.outcome = StageOutcome.MET if judged_at <= visit.due_at else StageOutcome.MISSED
    visit.save(update_fields=["left_at", "outcome", "paused_at", "paused_seconds"])


def _mirror_stage(complaint: Complaint, visit: ComplaintStageVisit | None) -> None:
    complaint.stage = visit.stage if visit is not None else None
    complaint.stage_started_at = visit.started_at if visit is not None else None
    complaint.stage_due_at = visit.due_at if visit is not None else None
    complaint.stage_at_risk_at = visit.at_risk_at if visit is not None else None


def _follow_stage(
    complaint: Complaint,
    *,
    now: datetime.datetime,
    keep_current: bool = False,
    calendar: BusinessCalendar | None = None,
    rated: bool = False,
) -> ComplaintStageVisit | None:
    """Move the (locked, or just built) complaint into the stage of its status; call it after
    the transition and before saving the complaint. `keep_current`: the customer answered,
    the current stage stays (resumed) whatever the status. `rated`: the customer has just
    rated the resolved complaint (otherwise the timeline tells). Returns the new visit,
    unsaved if the complaint has no primary key yet (the caller saves it after the
    complaint)."""
    calendars = _Calendar(complaint.tenant)
    if calendar is not None:
        calendars._calendar = calendar
    visit = _open_visit(complaint)
    if complaint.status in FINISHED_STATUSES or (
        complaint.status == ComplaintStatus.RESOLVED and (rated or rated_since_resolved(complaint))
    ):
        # Finished, or resolved and rated: the customer accepted the decision and only the
        # reopen window is left, which is their turn, not staff's.
        if visit is not None:
            _leave_visit(visit, calendars, now=now)
        _mirror_stage(complaint, None)
        return None
    target = None
    if not keep_current:
        target = stage_covering(complaint_stages_ensure(complaint.tenant), complaint.status)
    if visit is not None and (target is None or target.pk == visit.stage_id):
        # The same stage goes on (or a status no stage covers): only the pause follows.
        if complaint.sla_paused_at is not None and visit.paused_at is None:
            _pause_visit(visit, at=now)
        elif complaint.sla_paused_at is None and visit.paused_at is not None:
            _resume_visit(visit, calendars.get(), now=now)
        _mirror_stage(complaint, visit)
        return None
    if target is None:
        return None  # no stage covers the status and none is running
    if visit is not None:
        _leave_visit(visit, calendars, now=now)
    calendar = calendars.get()
    due_at = working_days_due_at(calendar, now, target.limit_days)
    entered = ComplaintStageVisit(
        tenant=complaint.tenant,
        complaint=complaint,
        stage=target,
        limit_days=target.limit_days,
        started_at=now,
        due_at=due_at,
        at_risk_at=at_risk_moment(calendar, started_at=now, due_at=due_at),
        # Entered while waiting for the customer (a stage covering awaiting_customer): its
        # clock starts paused and runs from the customer's answer.
        paused_at=now if complaint.sla_paused_at is not None else None,
    )
    if complaint.pk is not None:
        entered.save()
    _mirror_stage(complaint, entered)
    return entered


def _event(
    complaint,
    *,
    actor,
    action,
    at,
    from_status="",
    to_status=None,
    note="",
    is_public=True,
    told_customer: bool | None = None,
):
    # Stamped with the service's `now`, like the messages and due times it writes, so the
    # timeline of a complaint agrees with them. `told_customer`: whether the event counts as
    # an update to the customer for the cadence; by default every public event by staff does.
    event = ComplaintEvent.objects.create(
        tenant=complaint.tenant,
        complaint=complaint,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=complaint.status if to_status is None else to_status,
        note=note,
        is_public=is_public,
        created_at=at,
    )
    track_update(
        complaint,
        at=at,
        from_status=from_status,
        running_statuses=UPDATE_CADENCE_STATUSES,
        told_customer=told_by(is_public=is_public, actor=actor)
        if told_customer is None
        else told_customer,
    )
    # E-mails and webhooks go through the outbox in this same transaction.
    on_complaint_event(event)
    return event


# One whole sentence per action, so translations need not agree with an inserted word.
CONFLICT_MESSAGES = {
    "assign": gettext_lazy("Complaint %(code)s cannot be assigned: its status is “%(status)s”."),
    "start": gettext_lazy("Work on complaint %(code)s cannot start: its status is “%(status)s”."),
    "wait_for_customer": gettext_lazy(
        "Complaint %(code)s cannot wait for the customer: its status is “%(status)s”."
    ),
    "resolve": gettext_lazy("Complaint %(code)s cannot be resolved: its status is “%(status)s”."),
    "reject": gettext_lazy("Complaint %(code)s cannot be rejected: its status is “%(status)s”."),
    "close": gettext_lazy("Complaint %(code)s cannot be closed: its status is “%(status)s”."),
    "reply": gettext_lazy(
        "No reply can be added to complaint %(code)s: its status is “%(status)s”."
    ),
    "reopen": gettext_lazy("Complaint %(code)s cannot be reopened: its status is “%(status)s”."),
    "rate": gettext_lazy("Complaint %(code)s cannot be rated yet: its status is “%(status)s”."),
    "priority": gettext_lazy(
        "The priority of complaint %(code)s cannot be changed: its status is “%(status)s”."
    ),
}


def _conflict(complaint: Complaint, action: str) -> ComplaintConflict:
    return ComplaintConflict(
        str(CONFLICT_MESSAGES[action])
        % {"code": complaint.code, "status": complaint.get_status_display()}
    )


def may_reassign(user: User) -> bool:
    """Coordinators, tenant admins and platform superusers move complaints between people;
    agents only take unassigned ones."""
    return user.is_superuser or user.role in ASSIGNING_ROLES


def _lock(complaint: Complaint, *, as_seen: bool = True) -> Complaint:
    """The complaint's row, locked. `complaint` is the one the actor looked at (its version
    is the one the request carried): with `as_seen`, a complaint changed since then refuses
    the change. Additive actions (a message, a rating) pass `as_seen=False`."""
    locked = (
        # of=("self",): lock the complaint only, not the joined tenant and customer rows.
        Complaint.objects.select_for_update(of=("self",))
        # Not the assignee: a row that changed while this one waited for the lock is read
        # again, but its joined rows are not (the assignee would be the one before).
        .select_related("tenant", "customer_account", "reporter")
        .get(pk=complaint.pk)
    )
    if as_seen and changed_since_seen(complaint, locked):
        if locked.assignee is None:
            message = _(
                "Complaint %(code)s has changed since you opened it (it is now “%(status)s”, "
                "unassigned): look at it again, then repeat what you wanted to do."
            )
        else:
            message = _(
                "Complaint %(code)s has changed since you opened it (it is now “%(status)s”, "
                "assigned to %(name)s): look at it again, then repeat what you wanted to do."
            )
        raise ComplaintConflict(
            message
            % {
                "code": locked.code,
                "status": locked.get_status_display(),
                "name": locked.assignee.get_full_name() if locked.assignee else "",
            }
        )
    return locked


def _assigned_meanwhile(locked: Complaint) -> ComplaintConflict:
    if locked.assignee is None:
        return ComplaintConflict(
            _("Complaint %(code)s has meanwhile been unassigned.") % {"code": locked.code}
        )
    return ComplaintConflict(
        _("Complaint %(code)s has meanwhile been assigned to %(name)s.")
        % {"code": locked.code, "name": locked.assignee.get_full_name()}
    )


def _run(
    complaint: Complaint,
    *,
    actor: User,
    transition: str,
    action: str,
    check: Callable[[User, Complaint], None],
    apply: Callable[[Complaint], None],
    now: datetime.datetime,
    note: str = "",
    is_public: bool = True,
) -> Complaint:
    with transaction.atomic():
        locked = _lock(complaint)
        check(actor, locked)
        if not can_proceed(getattr(locked, transition)):
            raise _conflict(locked, transition)
        from_status = locked.status
        apply(locked)
        _follow_stage(locked, now=now)
        locked.save()
        _event(
            locked,
            actor=actor,
            action=action,
            at=now,
            from_status=from_status,
            note=note,
            is_public=is_public,
        )
    return locked


# --- filing -----------------------------------------------------------------------------


def complaint_file(
    *,
    customer_account,
    reporter: User,
    category: str,
    priority: str,
    subject: str,
    description: str,
    order_id: int | None = None,
    order_line_id: int | None = None,
    product_id: int | None = None,
    uploads: Sequence = (),
    now: datetime.datetime | None = None,
    filed_by: User | None = None,
    channel: str = CaseChannel.PORTAL,
) -> Complaint:
    """File a complaint for the reporter's company; SLA due times start now.

    The reporter is always the customer user the complaint is for; `filed_by` is the staff
    member who files it for them (named on the timeline), `channel` how it reached us.
    """
    errors: dict[str, list[str]] = {}
    if channel not in CaseChannel.values:
        errors["channel"] = [_("Choose the channel the complaint came through.")]
    if category not in ComplaintCategory.values:
        errors["category"] = [_("Choose a category.")]
    if priority not in Priority.values:
        errors["priority"] = [_("Choose a priority.")]
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = [_("Give the complaint a subject.")]
    elif len(subject) > 200:
        errors["subject"] = [_("The subject is too long (at most 200 characters).")]
    description = (description or "").strip()
    if not description:
        errors["description"] = [_("Describe the problem.")]
    elif len(description) > MAX_TEXT:
        errors["description"] = [_("The description is too long.")]
    order = order_line = product = None
    if order_line_id is not None:
        line_pk = parse_id(order_line_id)
        order_line = (
            None
            if line_pk is None
            else OrderLine.objects.for_tenant(customer_account.tenant)
            .filter(pk=line_pk, order__customer_account=customer_account)
            .select_related("order", "product")
            .first()
        )
        if order_line is None:
            errors["order_line"] = [_("Unknown order line: choose one of your company's orders.")]
        else:
            order, product = order_line.order, order_line.product
    if order_id is not None:
        order_pk = parse_id(order_id)
        found = (
            None
            if order_pk is None
            else Order.objects.for_tenant(customer_account.tenant)
            .filter(pk=order_pk, customer_account=customer_account)
            .first()
        )
        if found is None:
            errors["order"] = [_("Unknown order: choose one of your company's orders.")]
        elif order is not None and order.pk != found.pk:
            errors["order_line"] = [_("The order line is not part of the chosen order.")]
        else:
            order = found
    if product_id is not None and product is None:
        product_pk = parse_id(product_id)
        product = (
            None
            if product_pk is None
            else Product.objects.for_tenant(customer_account.tenant).filter(pk=product_pk).first()
        )
        if product is None:
            errors["product"] = [_("Unknown product.")]
    if errors:
        raise ComplaintInvalid(next(iter(errors.values()))[0], fields=errors)
    files = _clean_uploads(uploads)
    now = now or timezone.now()
    tenant = customer_account.tenant
    calendar = business_calendar(tenant)
    first_hours, resolution_hours = sla_targets(
        customer_account=customer_account, priority=priority
    )
    with transaction.atomic():
        local_year = timezone.localtime(now, calendar.zone).year
        value = next_in_sequence(tenant=tenant, name="CMP", year=local_year)
        complaint = Complaint(
            tenant=tenant,
            code=format_document_number("CMP", local_year, value),
            customer_account=customer_account,
            reporter=reporter,
            filed_by=filed_by,
            channel=channel,
            category=category,
            priority=priority,
            order=order,
            order_line=order_line,
            product=product,
            subject=subject,
            description=description,
            created_at=now,
            first_response_due_at=add_business_time(calendar, now, float(first_hours) * 3600),
            resolution_due_at=add_business_time(calendar, now, float(resolution_hours) * 3600),
        )
        _require_customer(reporter, complaint)
        if filed_by is not None:
            require_acting_for_customers(filed_by, complaint)
        _mark_at_risk_moments(complaint, calendar)
        entered = _follow_stage(complaint, now=now, calendar=calendar)
        complaint.save()
        if entered is not None:
            entered.save()  # its complaint has a primary key now
        _store_files(complaint, None, files, filed_by or reporter)
        _event(complaint, actor=filed_by or reporter, action="filed", at=now)
        if complaint.assignee_id is None:
            _assign_automatically(complaint, now=now)
    return complaint


def complaint_file_for_customer(
    *,
    actor: User,
    customer_id: int | None,
    channel: str = "",
    category: str,
    priority: str,
    subject: str,
    description: str,
    order_id: int | None = None,
    order_line_id: int | None = None,
    product_id: int | None = None,
    uploads: Sequence = (),
    now: datetime.datetime | None = None,
) -> Complaint:
    """Staff (or an integration's API key) file a complaint for the customer user
    `customer_id`, with the same checks as the customer's own (orders and lines of the
    customer's company). The customer is its reporter: they get its e-mails and see it in
    the portal as their own.

    An id that is not an active customer user of the actor's tenant (another tenant's user,
    a staff user, no such user) answers the same error.
    """
    require_acting_for_customers(actor)
    if customer_id is None:
        message = _("Name the customer user you file the complaint for (on_behalf_of).")
        raise ComplaintInvalid(message, fields={"on_behalf_of": [message]})
    membership = (
        filing_customer(tenant=actor.tenant, user_id=customer_id) if actor.tenant_id else None
    )
    if membership is None:
        message = _("Unknown customer user: give the id of an active customer user of this tenant.")
        raise ComplaintInvalid(message, fields={"on_behalf_of": [message]})
    if not channel:
        if not actor.is_integration:
            message = _("Choose the channel the customer reached you through.")
            raise ComplaintInvalid(message, fields={"channel": [message]})
        channel = CaseChannel.API  # an integration's complaint came through the API
    return complaint_file(
        customer_account=membership.customer_account,
        reporter=membership.user,
        category=category,
        priority=priority,
        subject=subject,
        description=description,
        order_id=order_id,
        order_line_id=order_line_id,
        product_id=product_id,
        uploads=uploads,
        now=now,
        filed_by=actor,
        channel=channel,
    )


# --- staff ------------------------------------------------------------------------------


def complaint_assign(
    *,
    complaint: Complaint,
    actor: User,
    assignee: User,
    now: datetime.datetime | None = None,
) -> Complaint:
    """Take (agents: only for themselves) or assign (coordinators, tenant admins) a complaint.

    A new complaint becomes open; an assigned one is reassigned (by coordinators and tenant
    admins: an agent cannot take a complaint someone else has). `complaint` is the one the
    actor looked at, with the version the request carried: if it changed since (someone
    (re)assigned it), nothing changes and ComplaintConflict says so, rather than one
    person's choice silently replacing another's.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(complaint)
        _require_staff(actor, locked)
        if assignee.pk != actor.pk and not may_reassign(actor):
            raise ComplaintAccessDenied(_("Agents may only take complaints for themselves."))
        if (
            assignee.tenant_id != locked.tenant_id
            or assignee.role not in STAFF_ACTING_ROLES
            or not assignee.is_active
        ):
            raise ComplaintInvalid(
                _("Assign the complaint to an active agent of this tenant."),
                fields={"assignee": [_("Choose an agent.")]},
            )
        if locked.status in (ComplaintStatus.CLOSED, ComplaintStatus.REJECTED):
            raise _conflict(locked, "assign")
        if locked.assignee_id == assignee.pk and locked.status != ComplaintStatus.NEW:
            return locked  # already so: nothing to change or record
        if locked.assignee_id != complaint.assignee_id:
            # The caller's object names the assignee it saw (a service caller without a version)
            raise _assigned_meanwhile(locked)
        taking = assignee.pk == actor.pk
        if taking and locked.assignee_id is not None and not may_reassign(actor):
            # Taking is for unassigned complaints; only a coordinator moves one between people.
            raise ComplaintConflict(
                _(
                    "Complaint %(code)s is already taken by %(name)s; ask a coordinator to "
                    "reassign it."
                )
                % {"code": locked.code, "name": locked.assignee.get_full_name()}
            )
        from_status = locked.status
        if locked.status == ComplaintStatus.NEW:
            locked.assign(assignee=assignee)
            _follow_stage(locked, now=now)
        else:
            locked.assignee = assignee
        locked.save()
        _event(
            locked,
            actor=actor,
            action="assigned",
            at=now,
            from_status=from_status,
            note=assignee.get_full_name(),
            is_public=False,
        )
    return locked


def complaint_change_priority(
    *, complaint: Complaint, actor: User, priority: str, now: datetime.datetime | None = None
) -> Complaint:
    """Staff change the priority of an open complaint (docs/backoffice.md#priority).

    The SLA clocks still running follow the SLA policy of the new priority (the customer's
    contract, else the tenant's, else the defaults: selectors.sla_targets), counted from each
    clock's own start with the business time it already spent waiting for the customer
    added: the due times are those the complaint would have had, had it been filed with that
    priority. An upgrade to "urgent" tightens them (possibly into a breach at once), a
    downgrade loosens them. A clock already past its due time keeps it (a new priority never
    un-breaches a missed deadline), a stopped clock (the first response given) is history,
    and the stages' clocks do not depend on the priority. SLA notices no longer true are
    forgotten, so the watch announces the new moments.

    The customer sees the priority in the portal: the timeline event `priority_changed`
    (note "normal → urgent") is public, but it tells the customer nothing about their case's
    progress, so it does not count as an update for the customer-update cadence. The same
    priority again changes nothing and records nothing.
    """
    if priority not in Priority.values:
        message = _("Choose a priority.")
        raise ComplaintInvalid(message, fields={"priority": [message]})
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(complaint)
        _require_staff(actor, locked)
        if locked.status not in OPEN_COMPLAINT_STATUSES:
            raise _conflict(locked, "priority")
        if locked.priority == priority:
            return locked
        previous = locked.priority
        _follow_priority(locked, priority, now=now)
        locked.priority = priority
        locked.save()
        _event(
            locked,
            actor=actor,
            action="priority_changed",
            at=now,
            from_status=locked.status,
            note=priority_change_note(previous, priority),
            told_customer=False,
        )
    return locked


def _follow_priority(locked: Complaint, priority: str, *, now: datetime.datetime) -> None:
    """Move the running SLA clocks of the (locked) complaint to the targets of `priority`."""
    calendar = business_calendar(locked.tenant)
    first_hours, resolution_hours = sla_targets(
        customer_account=locked.customer_account, priority=priority
    )
    # A paused clock is judged at the moment it paused (the pause pushes it on resuming).
    judged_at = locked.sla_paused_at or now
    paused = float(locked.sla_paused_seconds)
    moved = set()
    if locked.first_responded_at is None and judged_at < locked.first_response_due_at:
        locked.first_response_due_at = add_business_time(
            calendar, locked.created_at, float(first_hours) * 3600 + paused
        )
        moved.add("first_response")
    if locked.resolved_at is None and judged_at < locked.resolution_due_at:
        locked.resolution_due_at = add_business_time(
            calendar,
            locked.resolution_started_at or locked.created_at,
            float(resolution_hours) * 3600 + paused,
        )
        moved.add("resolution")
    _mark_at_risk_moments(locked, calendar)
    moments = {
        "first_response": (locked.first_response_at_risk_at, locked.first_response_due_at),
        "resolution": (locked.resolution_at_risk_at, locked.resolution_due_at),
    }

    def still_true(notice: str) -> bool:
        clock, _sep, level = notice.partition(":")
        if clock not in moved:
            return True
        at_risk_at, due_at = moments[clock]
        return judged_at >= (due_at if level == "breached" else at_risk_at)

    locked.sla_warned = [notice for notice in locked.sla_warned if still_true(notice)]


def complaint_start(
    *, complaint: Complaint, actor: User, now: datetime.datetime | None = None
) -> Complaint:
    return _run(
        complaint,
        actor=actor,
        transition="start",
        action="started",
        check=_require_staff,
        apply=lambda c: c.start(),
        now=now or timezone.now(),
    )


def complaint_wait_for_customer(
    *, complaint: Complaint, actor: User, question: str = "", now: datetime.datetime | None = None
) -> Complaint:
    """Ask the customer (optional public question) and pause the SLA clocks."""
    question = _text(question, field="question", message="", required=False)
    now = now or timezone.now()
    with transaction.atomic():
        # Staff only, checked before the question is posted as a reply (which customers may
        # also write). A question is a public reply: on an open complaint it starts the work.
        _require_staff(actor, _lock(complaint))
        if question:
            complaint_reply(complaint=complaint, actor=actor, body=question, now=now)
        return _run(
            complaint,
            actor=actor,
            transition="wait_for_customer",
            action="awaiting_customer",
            check=_require_staff,
            apply=lambda c: c.wait_for_customer(at=now),
            now=now,
        )


def complaint_resolve(
    *, complaint: Complaint, actor: User, resolution: str, now: datetime.datetime | None = None
) -> Complaint:
    resolution = _text(
        resolution, field="resolution", message=_("Describe how the complaint was resolved.")
    )
    now = now or timezone.now()

    def apply(locked: Complaint) -> None:
        locked.resolve(resolution=resolution, at=now)
        if locked.first_responded_at is None:  # the resolution is a public answer
            locked.first_responded_at = now

    return _run(
        complaint,
        actor=actor,
        transition="resolve",
        action="resolved",
        check=_require_staff,
        apply=apply,
        now=now,
        note=resolution,
    )


def complaint_reject(
    *, complaint: Complaint, actor: User, reason: str, now: datetime.datetime | None = None
) -> Complaint:
    reason = _text(reason, field="reason", message=_("A rejection needs a reason."))
    now = now or timezone.now()
    return _run(
        complaint,
        actor=actor,
        transition="reject",
        action="rejected",
        check=_require_staff,
        apply=lambda c: c.reject(reason=reason, at=now),
        now=now,
        note=reason,
    )


def complaint_close(
    *, complaint: Complaint, actor: User | None, now: datetime.datetime | None = None
) -> Complaint:
    """Close a resolved complaint: staff, or the system (actor None): the auto-close, or the
    rating of a complaint whose reopen window has already ended."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(complaint)
        if actor is not None:
            _require_staff(actor, locked)
        if not can_proceed(locked.close):
            raise _conflict(locked, "close")
        locked.close(at=now)
        _follow_stage(locked, now=now)
        locked.save()
        _event(locked, actor=actor, action="closed", at=now, from_status=ComplaintStatus.RESOLVED)
    return locked


# --- thread -----------------------------------------------------------------------------


def complaint_reply(
    *,
    complaint: Complaint,
    actor: User,
    body: str,
    is_internal: bool = False,
    uploads: Sequence = (),
    now: datetime.datetime | None = None,
) -> ComplaintMessage:
    """A message in the thread.

    Staff: an internal note changes nothing else; the first public reply stops the
    first-response clock and starts work (a new complaint is taken by the replier).
    Customer: always public; answering while awaiting the customer resumes the SLA clocks.
    """
    body = _text(body, field="body", message=_("Write a message."))
    files = _clean_uploads(uploads)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(complaint, as_seen=False)  # a message adds, it changes nothing seen
        _require_party(actor, locked)
        staff = _is_staff(actor, locked) and not actor.is_customer
        if is_internal and not staff:
            raise ComplaintAccessDenied(_("Only support staff may write internal notes."))
        if locked.status in (ComplaintStatus.CLOSED, ComplaintStatus.REJECTED) or (
            not staff and locked.status == ComplaintStatus.RESOLVED
        ):
            raise _conflict(locked, "reply")
        from_status = locked.status
        assigned_by_reply = False
        if staff and not is_internal:
            if locked.status == ComplaintStatus.NEW:
                locked.assign(assignee=locked.assignee or actor)
                assigned_by_reply = True
            if locked.status == ComplaintStatus.OPEN:
                locked.start()
            if locked.first_responded_at is None:
                if locked.status == ComplaintStatus.AWAITING_CUSTOMER and locked.sla_paused_at:
                    # The clock was paused: it is judged against its due time pushed by the
                    # pause so far, as if the customer had just answered.
                    calendar = business_calendar(locked.tenant)
                    locked.first_response_due_at = resumed_due_at(
                        calendar,
                        due_at=locked.first_response_due_at,
                        paused_at=locked.sla_paused_at,
                        resumed_at=now,
                    )
                    locked.first_responded_at = now
                    _mark_at_risk_moments(locked, calendar)
                else:
                    locked.first_responded_at = now
        elif not staff and locked.status == ComplaintStatus.AWAITING_CUSTOMER:
            calendar = business_calendar(locked.tenant)
            paused_at = locked.sla_paused_at or now
            locked.customer_reply(
                first_response_due_at=locked.first_response_due_at
                if locked.first_responded_at
                else resumed_due_at(
                    calendar,
                    due_at=locked.first_response_due_at,
                    paused_at=paused_at,
                    resumed_at=now,
                ),
                resolution_due_at=resumed_due_at(
                    calendar, due_at=locked.resolution_due_at, paused_at=paused_at, resumed_at=now
                ),
                paused_seconds=int(business_seconds_between(calendar, paused_at, now)),
            )
            _mark_at_risk_moments(locked, calendar)
            # The stage the complaint waited in stays, its clock running again: staff handle
            # the answer in it (the next public reply or status change moves the stage on).
            _follow_stage(locked, now=now, keep_current=True, calendar=calendar)
        if staff and not is_internal:
            _follow_stage(locked, now=now)
        if not is_internal:
            # An internal note leaves the complaint row alone: a changed `updated_at` would
            # tell the customer that something happened behind the scenes.
            locked.save()
        message = ComplaintMessage.objects.create(
            tenant=locked.tenant,
            complaint=locked,
            author=actor,
            body=body,
            is_internal=is_internal,
            created_at=now,
        )
        _store_files(locked, message, files, actor)
        if staff and not is_internal:  # internal notes never reach the customer
            send_complaint_reply_email(message)
            track_update(
                locked,
                at=now,
                from_status="",
                running_statuses=UPDATE_CADENCE_STATUSES,
                told_customer=True,
            )
        if assigned_by_reply:
            _event(
                locked,
                actor=actor,
                action="assigned",
                at=now,
                from_status=from_status,
                to_status=ComplaintStatus.OPEN,
                note=locked.assignee.get_full_name(),
                is_public=False,
            )
            from_status = ComplaintStatus.OPEN
        if locked.status != from_status:
            _event(
                locked,
                actor=actor,
                action="customer_replied" if not staff else "started",
                at=now,
                from_status=from_status,
            )
    return message


# --- customer ---------------------------------------------------------------------------


def complaint_reopen(
    *, complaint: Complaint, actor: User, reason: str, now: datetime.datetime | None = None
) -> Complaint:
    """The customer reopens a resolved complaint within the tenant's reopen window."""
    reason = _text(reason, field="reason", message=_("Say why the complaint is not resolved."))
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(complaint)
        _require_customer(actor, locked)
        if not can_proceed(locked.reopen):
            raise _conflict(locked, "reopen")
        settings = support_settings(locked.tenant)
        window = settings.reopen_window_days
        until = reopen_until(locked, settings)
        if until is not None and now > until:
            raise ComplaintConflict(
                _("A complaint can be reopened within %(days)d days of its resolution.")
                % {"days": window}
            )
        _first, resolution_hours = sla_targets(
            customer_account=locked.customer_account, priority=locked.priority
        )
        calendar = business_calendar(locked.tenant)
        locked.reopen(
            resolution_due_at=add_business_time(calendar, now, float(resolution_hours) * 3600),
            at=now,
        )
        _mark_at_risk_moments(locked, calendar)
        _follow_stage(locked, now=now, calendar=calendar)
        locked.save()
        ComplaintMessage.objects.create(
            tenant=locked.tenant, complaint=locked, author=actor, body=reason, created_at=now
        )
        _event(
            locked,
            actor=actor,
            action="reopened",
            at=now,
            from_status=ComplaintStatus.RESOLVED,
            note=reason,
        )
    return locked


def complaint_rate(
    *,
    complaint: Complaint,
    actor: User,
    score: int,
    comment: str = "",
    nps: int | None = None,
    channel: str = SurveyChannel.PORTAL,
    now: datetime.datetime | None = None,
) -> SatisfactionRating:
    """One rating (1–5, optionally the 0–10 "would you recommend us") per complaint, after
    resolution. A rated resolved complaint stays resolved: the customer may still reopen it
    until its reopen window ends, when the auto-close closes it (sla_watch); rated after the
    window has ended, it closes at once. The rating ends the complaint's stage (the
    resolution). `channel`: the e-mail's survey link or the portal (also its API)."""
    score = checked_score(
        score,
        invalid=ComplaintInvalid,
        field="score",
        message=_("Choose a rating from 1 to 5."),
        field_message=_("Choose 1 to 5."),
    )
    nps = checked_nps(nps, invalid=ComplaintInvalid)
    if channel not in SurveyChannel.values:
        raise ComplaintInvalid(_("Unknown survey channel."))
    comment = _text(comment, field="comment", message="", required=False)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(complaint, as_seen=False)  # the customer rates what is there
        _require_customer(actor, locked)
        if locked.status not in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
            raise _conflict(locked, "rate")
        if SatisfactionRating.objects.filter(complaint=locked).exists():
            raise ComplaintConflict(_("This complaint has already been rated."))
        try:
            with transaction.atomic():
                rating = SatisfactionRating.objects.create(
                    tenant=locked.tenant,
                    complaint=locked,
                    score=score,
                    nps=nps,
                    comment=comment,
                    channel=channel,
                    rated_by=actor,
                )
        except IntegrityError as exc:
            raise ComplaintConflict(_("This complaint has already been rated.")) from exc
        until = reopen_until(locked)
        window_over = until is not None and now > until
        if locked.status == ComplaintStatus.RESOLVED and not window_over:
            stage_before = (locked.stage_id, locked.stage_started_at)
            _follow_stage(locked, now=now, rated=True)
            if (locked.stage_id, locked.stage_started_at) != stage_before:
                locked.save()
        _event(
            locked, actor=actor, action="rated", at=now, from_status=locked.status, note=str(score)
        )
        if window_over:
            # Nothing is left to wait for: the customer can no longer reopen it.
            locked.close(at=now)
            _follow_stage(locked, now=now)
            locked.save()
            _event(
                locked, actor=None, action="closed", at=now, from_status=ComplaintStatus.RESOLVED
            )
    return rating


def complaint_link_return(
    *,
    complaint: Complaint,
    actor: User,
    return_request,
    now: datetime.datetime | None = None,
) -> Complaint:
    """Link a return filed because of this complaint: one of the same company, and for a
    customer user (not a customer admin) one they may see, i.e. their own."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(complaint)
        _require_party(actor, locked)
        if return_request.customer_account_id != locked.customer_account_id or (
            actor.is_customer
            and not actor.is_customer_admin
            and return_request.requester_id != actor.pk
        ):
            message = _("The return belongs to another customer.")
            raise ComplaintInvalid(message, fields={"return_request": [message]})
        if actor.is_customer and locked.return_request_id not in (None, return_request.pk):
            # Customers link once; staff may correct a wrong link.
            message = _("This complaint is already linked to another return.")
            raise ComplaintConflict(message, fields={"return_request": [message]})
        locked.return_request = return_request
        locked.save(update_fields=["return_request", "updated_at"])
        _event(
            locked,
            actor=actor,
            action="return_linked",
            at=now,
            from_status=locked.status,
            note=str(return_request),
        )
    return locked


# --- automatic assignment -----------------------------------------------------------------


def complaint_facts(complaint: Complaint) -> CaseFacts:
    """What the assignment rules look at (customers/routing.py)."""
    product = complaint.product
    return CaseFacts(
        kind=CaseKind.COMPLAINT,
        tenant=complaint.tenant,
        customer_account_id=complaint.customer_account_id,
        channel=complaint.channel,
        product_category_ids=frozenset({product.category_id})
        if product is not None
        else frozenset(),
        complaint_category=complaint.category,
        complaint_priority=complaint.priority,
    )


def _assign_automatically(
    locked: Complaint,
    *,
    now: datetime.datetime,
    previous: User | None = None,
    exclude_user_ids=(),
) -> Decision | None:
    """Route the (locked or just filed) complaint through the tenant's rules and give it to
    whom they name, as an assignment does: a new complaint becomes open, an internal
    "assigned" event says which rule chose whom (no person acted), and an audit row records
    it. None: no rule named anyone, nothing changed."""
    decision = route(complaint_facts(locked), now=now, exclude_user_ids=exclude_user_ids)
    if decision is None:
        return None
    from_status = locked.status
    if locked.status == ComplaintStatus.NEW:
        locked.assign(assignee=decision.assignee)
        _follow_stage(locked, now=now)
    else:
        locked.assignee = decision.assignee
    locked.save()
    _event(
        locked,
        actor=None,
        action="assigned",
        at=now,
        from_status=from_status,
        note=timeline_note(decision, previous=previous),
        is_public=False,
    )
    record_auto_assignment(
        case=locked,
        kind=CaseKind.COMPLAINT,
        decision=decision,
        reason=REASON_ABSENCE if previous is not None else REASON_FILED,
        previous=previous,
    )
    return decision


# Complaints handed on when their assignee is away: assigned, but nobody has started on them
# (no answer given, no work begun). Work in progress stays with its agent, whose absence the
# load page shows; a coordinator moves it by hand when it cannot wait.
NOT_STARTED_STATUSES = (ComplaintStatus.OPEN,)


def complaints_reassign_away(
    *, tenant, away_user_ids: frozenset[int], now: datetime.datetime | None = None
) -> int:
    """Re-route the tenant's complaints not yet started whose assignee is away (never to
    someone away); each in its own transaction under its row lock. Returns how many moved."""
    now = now or timezone.now()
    return reassign_each(
        Complaint.objects.for_tenant(tenant).filter(status__in=NOT_STARTED_STATUSES),
        away_user_ids=away_user_ids,
        related=("tenant", "customer_account", "reporter", "product"),
        reroute=lambda complaint, previous: _assign_automatically(
            complaint, now=now, previous=previous, exclude_user_ids=away_user_ids
        ),
    )


# --- workload (the back-office's load page, the "fewest open cases" strategy) ------------

OPEN_COMPLAINTS = "open_complaints"
COMPLAINTS_AT_RISK = "complaints_at_risk"
COMPLAINTS_BREACHED = "complaints_breached"


def complaint_workload(*, tenant, user_ids, now: datetime.datetime) -> dict[int, dict[str, int]]:
    """Open complaints of each assignee, and how many of them are at risk or breached; one
    query whatever the number of people."""
    rows = (
        Complaint.objects.for_tenant(tenant)
        .filter(assignee_id__in=list(user_ids), status__in=OPEN_COMPLAINT_STATUSES)
        .order_by()
        .values("assignee_id")
        .annotate(
            open=Count("pk"),
            at_risk=Count("pk", filter=sla_at_risk(now)),
            breached=Count("pk", filter=sla_breached(now)),
        )
    )
    return {
        row["assignee_id"]: {
            OPEN_COMPLAINTS: row["open"],
            COMPLAINTS_AT_RISK: row["at_risk"],
            COMPLAINTS_BREACHED: row["breached"],
        }
        for row in rows
    }


def _queue_link(user_id: int, query: str) -> str:
    return (
        f"{reverse('admin:complaints_complaint_changelist')}?assignee__id__exact={user_id}&{query}"
    )


def open_complaints_link(user_id: int) -> str:
    return _queue_link(user_id, "status__in=" + ",".join(sorted(OPEN_COMPLAINT_STATUSES)))


def complaints_at_risk_link(user_id: int) -> str:
    return _queue_link(user_id, "queue=at_risk")


def complaints_breached_link(user_id: int) -> str:
    return _queue_link(user_id, "queue=breached")

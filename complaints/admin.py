"""Back-office for complaints: SLA queues, a read-only complaint page with its thread, stages
and timeline whose every change is a service behind a button, bulk assignment, and the
editors of the tenant's SLA policies, stages, support calendar, holidays and canned
responses."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import F, Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_fsm import can_proceed

from customers.canned import canned_picker
from customers.case_context import case_workspace
from customers.filing_forms import filed_for_customer_text
from customers.update_cadence import update_owed
from rma_portal.accounts.models import User
from rma_portal.backoffice.actions import ButtonAction, TransitionButtonsMixin, bulk_button_action
from rma_portal.backoffice.admin import TenantScopedAdmin, is_tenant_admin_or_platform
from rma_portal.backoffice.cases import (
    UPDATE_EVENT_LABELS,
    UPDATE_OWED_QUEUE_LABEL,
    CaseQueuesAdminMixin,
    Queue,
    customer_update_text,
    filing_admin_view,
    queue_filter,
    sla_badge,
)
from rma_portal.backoffice.conversation import (
    CUSTOMER,
    EVENT,
    Entry,
    File,
    message_kind,
    message_title,
)
from rma_portal.backoffice.presence import CasePresenceMixin
from rma_portal.errors import ApplicationError

from . import services
from .admin_forms import (
    AssignForm,
    ComplaintStageForm,
    HolidayForm,
    PriorityForm,
    ReplyForm,
    SlaPolicyForm,
    SupportSettingsForm,
    may_assign_others,
)
from .admin_ratings import SatisfactionRatingAdmin  # noqa: F401 - registers the ratings' list
from .models import (
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintAttachment,
    ComplaintStage,
    ComplaintStatus,
    Holiday,
    Priority,
    SlaPolicy,
    SupportSettings,
    priority_change_text,
)
from .selectors import (
    DEFAULT_SLA_HOURS,
    DEFAULT_STAGES,
    business_calendar,
    complaint_stage_visits,
    complaint_thread,
    overall_sla_state,
    reopen_until,
    sla_at_risk,
    sla_breached,
    sla_states,
    stage_at_risk,
    stage_breached,
    stage_state,
    visit_state,
)
from .services.complaints import (
    CONFLICT_MESSAGES,
    STAFF_ACTING_ROLES,
    complaint_stages_ensure,
)
from .sla import BusinessCalendar, SlaState
from .views.backoffice_filing import file_complaint_view

OPEN = sorted(OPEN_COMPLAINT_STATUSES)
# Nobody works on these any more: no assignment, no replies, no buttons.
FINISHED = frozenset({ComplaintStatus.CLOSED, ComplaintStatus.REJECTED})

# --- queues -----------------------------------------------------------------------------


QUEUES: tuple[Queue, ...] = (
    Queue(
        "unassigned",
        gettext_lazy("Unassigned (new)"),
        lambda user, now: Q(status=ComplaintStatus.NEW),
    ),
    Queue(
        "mine",
        gettext_lazy("Mine (open)"),
        lambda user, now: Q(assignee_id=user.pk, status__in=OPEN),
    ),
    Queue("at_risk", gettext_lazy("SLA at risk"), lambda user, now: sla_at_risk(now)),
    Queue("breached", gettext_lazy("SLA breached"), lambda user, now: sla_breached(now)),
    Queue("update_owed", UPDATE_OWED_QUEUE_LABEL, lambda user, now: update_owed(now)),
    Queue(
        "awaiting_customer",
        gettext_lazy("Awaiting customer"),
        lambda user, now: Q(status=ComplaintStatus.AWAITING_CUSTOMER),
    ),
)
QueueFilter = queue_filter(QUEUES)


class StageTimeFilter(admin.SimpleListFilter):
    """Complaints whose current stage is at risk or overdue (its clock running)."""

    title = gettext_lazy("stage time")
    parameter_name = "stage_time"

    def lookups(self, request, model_admin):
        return [
            ("at_risk", gettext_lazy("Stage at risk")),
            ("overdue", gettext_lazy("Stage overdue")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "at_risk":
            return queryset.filter(stage_at_risk(now))
        if self.value() == "overdue":
            return queryset.filter(stage_breached(now))
        return queryset


# --- SLA badges ---------------------------------------------------------------------------


def stage_badge(state: SlaState, *, paused: bool = False) -> str:
    """The state of a stage's clock, in the colours of the SLA badges."""
    return sla_badge(state, paused=paused, kind="stage")


class RequestCalendars:
    """Business calendars per tenant, built once per request (two queries per tenant)."""

    def __init__(self, request):
        self.request_tenant = request.tenant
        self.by_tenant: dict[int, BusinessCalendar] = {}

    def for_complaint(self, complaint: Complaint) -> BusinessCalendar:
        calendar = self.by_tenant.get(complaint.tenant_id)
        if calendar is None:
            tenant = self.request_tenant
            if tenant is None or tenant.pk != complaint.tenant_id:
                tenant = complaint.tenant
            calendar = self.by_tenant[complaint.tenant_id] = business_calendar(tenant)
        return calendar


# --- buttons ------------------------------------------------------------------------------


BUTTON_ACTIONS: tuple[ButtonAction[Complaint], ...] = (
    ButtonAction(
        "start",
        "start",
        gettext_lazy("Start work"),
        lambda c, actor, text: services.complaint_start(complaint=c, actor=actor),
        gettext_lazy("Work on complaint %(code)s started."),
    ),
    ButtonAction(
        "wait",
        "wait_for_customer",
        gettext_lazy("Wait for the customer"),
        lambda c, actor, text: services.complaint_wait_for_customer(
            complaint=c, actor=actor, question=text
        ),
        gettext_lazy("Complaint %(code)s waits for the customer; its SLA clocks are paused."),
        "question",
        gettext_lazy("Question for the customer (optional)"),
    ),
    ButtonAction(
        "resolve",
        "resolve",
        pgettext_lazy("complaint action", "Resolve"),
        lambda c, actor, text: services.complaint_resolve(
            complaint=c, actor=actor, resolution=text
        ),
        gettext_lazy("Complaint %(code)s resolved."),
        "resolution",
        gettext_lazy("Resolution (the customer sees it)"),
        text_required=True,
    ),
    ButtonAction(
        "reject",
        "reject",
        gettext_lazy("Reject"),
        lambda c, actor, text: services.complaint_reject(complaint=c, actor=actor, reason=text),
        gettext_lazy("Complaint %(code)s rejected."),
        "reason",
        gettext_lazy("Reason (the customer sees it)"),
        text_required=True,
        danger=True,
    ),
    ButtonAction(
        "close",
        "close",
        gettext_lazy("Close"),
        lambda c, actor, text: services.complaint_close(complaint=c, actor=actor),
        gettext_lazy("Complaint %(code)s closed."),
    ),
)
BUTTONS_BY_NAME = {button.name: button for button in BUTTON_ACTIONS}


def _change_priority(complaint: Complaint, actor, priority: str) -> None:
    """The service, saying so when the complaint already has the priority (the service
    itself accepts that, changing nothing)."""
    if complaint.priority == priority:
        raise services.ComplaintConflict(
            _("Complaint %(code)s already has the priority “%(priority)s”.")
            % {"code": complaint.code, "priority": complaint.get_priority_display()}
        )
    services.complaint_change_priority(complaint=complaint, actor=actor, priority=priority)


# No state transition: its own form on the complaint's page (admin/complaints/
# _priority_form.html), a bulk action of the list, and My work's bulk "change priority".
PRIORITY_BUTTON: ButtonAction[Complaint] = ButtonAction(
    "priority",
    "",
    gettext_lazy("Change priority"),
    _change_priority,
    gettext_lazy("The priority of complaint %(code)s was changed."),
    "priority",
    gettext_lazy("priority"),
    text_required=True,
    choices=lambda: Priority.choices,
)

EVENT_LABELS = {
    "filed": gettext_lazy("Filed"),
    "assigned": gettext_lazy("Assigned"),
    "started": gettext_lazy("Work started"),
    "awaiting_customer": gettext_lazy("Waiting for the customer"),
    "customer_replied": gettext_lazy("Customer replied"),
    "resolved": pgettext_lazy("complaint status", "Resolved"),
    "rejected": pgettext_lazy("complaint status", "Rejected"),
    "closed": pgettext_lazy("complaint status", "Closed"),
    "reopened": gettext_lazy("Reopened by the customer"),
    "rated": gettext_lazy("Rated"),
    "return_linked": gettext_lazy("Return linked"),
    "priority_changed": gettext_lazy("Priority changed"),
    "stage_at_risk": gettext_lazy("Stage at risk"),
    "stage_breached": gettext_lazy("Stage overdue"),
    **UPDATE_EVENT_LABELS,
}
STATUS_LABELS = dict(ComplaintStatus.choices)


def _status_change(event) -> str:
    if event.from_status == event.to_status or not event.from_status:
        return str(STATUS_LABELS.get(event.to_status, event.to_status))
    before = STATUS_LABELS.get(event.from_status, event.from_status)
    after = STATUS_LABELS.get(event.to_status, event.to_status)
    return f"{before} → {after}"


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest // 60}


def _draft_key(complaint: Complaint) -> str:
    return f"complaint-reply-draft-{complaint.pk}"


@admin.register(Complaint)
class ComplaintAdmin(
    CasePresenceMixin, CaseQueuesAdminMixin, TransitionButtonsMixin, TenantScopedAdmin
):
    """Nothing on a complaint is edited through the form: the page is read-only for everyone
    and every change (status, assignee, messages) is a button that calls a service."""

    queues = QUEUES
    file_url_name = "admin:complaints_complaint_file"
    presence_kind = "complaint"
    presence_viewing_text = gettext_lazy("%(name)s is viewing this complaint")
    button_actions = BUTTON_ACTIONS
    attachment_model = ComplaintAttachment
    attachment_parent_field = "complaint"
    list_display = [
        "code",
        "subject",
        "customer_account",
        "priority",
        "status",
        "first_response_due_at",
        "resolution_due_at",
        "assignee",
    ]
    list_display_links = ["code"]
    list_filter = [
        QueueFilter,
        "status",
        ("stage", admin.RelatedOnlyFieldListFilter),
        StageTimeFilter,
        "priority",
        "category",
        "channel",
        ("customer_account", admin.RelatedOnlyFieldListFilter),
        ("assignee", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    list_select_related = ["customer_account", "assignee", "stage"]
    search_fields = ["code", "subject", "customer_account__name", "customer_account__number"]
    search_help_text = gettext_lazy("Complaint number, subject, or customer name or number.")
    actions = [
        "assign_selected",
        *(
            bulk_button_action(button, label=label)
            for button, label in (
                (BUTTONS_BY_NAME["wait"], gettext_lazy("Ask the customer for information")),
                (BUTTONS_BY_NAME["reject"], gettext_lazy("Reject, with a reason")),
                (BUTTONS_BY_NAME["close"], gettext_lazy("Close")),
                (PRIORITY_BUTTON, gettext_lazy("Change priority")),
            )
        ),
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "code",
                    "status",
                    "customer_account",
                    "reporter",
                    "channel",
                    "filed_by",
                    "assignee",
                    "category",
                    "priority",
                    "created_at",
                ]
            },
        ),
        (
            gettext_lazy("Complaint"),
            {
                "fields": [
                    "subject",
                    "description",
                    "order",
                    "order_line",
                    "product",
                    "return_request",
                ]
            },
        ),
        (
            gettext_lazy("Outcome"),
            {
                "fields": [
                    "resolution",
                    "rejection_reason",
                    "resolved_at",
                    "closed_at",
                    "reopen_until_display",
                    "reopen_count",
                    "rating_display",
                    "rating_nps",
                    "rating_channel",
                ]
            },
        ),
        (gettext_lazy("Customer updates"), {"fields": ["customer_update"]}),
    ]

    @admin.display(description=gettext_lazy("customer updates"))
    def customer_update(self, obj: Complaint) -> str:
        return customer_update_text(obj, now=timezone.now(), time_zone=obj.tenant.timezone)

    # --- permissions: the form never saves; buttons need change permission on complaints ---

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False  # customers file complaints in the portal

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a complaint is rejected or closed, never deleted: it is audit history

    def has_transition_permission(self, request, obj=None) -> bool:
        """Agents, coordinators and tenant admins (of the complaint's tenant) and platform
        superusers act on complaints; managers only read."""
        user = request.user
        if user.is_superuser:
            acting = True
        else:
            acting = user.role in STAFF_ACTING_ROLES and (
                obj is None or user.tenant_id == obj.tenant_id
            )
        return acting and user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def may_act_on(self, request, obj: Complaint) -> bool:
        return self.has_transition_permission(request, obj)

    def transition_conflict(self, obj: Complaint, action: ButtonAction) -> str:
        if not action.transition or can_proceed(getattr(obj, action.transition)):
            return ""
        # Only the buttons the page offers: e.g. "wait" with a question would otherwise take
        # and start a new complaint on the way.
        return str(CONFLICT_MESSAGES[action.transition]) % {
            "code": obj.code,
            "status": obj.get_status_display(),
        }

    def transition_message_params(self, obj: Complaint) -> dict[str, object]:
        return {"code": obj.code}

    # --- list ---

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        # The badge needs the tenant's calendar: built once for the page, not per row.
        calendars = RequestCalendars(request)
        now = timezone.now()

        @admin.display(description=gettext_lazy("SLA"))
        def sla(complaint: Complaint) -> str:
            states = sla_states(complaint, calendars.for_complaint(complaint), now=now)
            return sla_badge(
                overall_sla_state(states),
                paused=complaint.status == ComplaintStatus.AWAITING_CUSTOMER,
            )

        @admin.display(description=gettext_lazy("stage"), ordering="stage__position")
        def stage(complaint: Complaint) -> str:
            state = stage_state(complaint, now=now)
            if state is None:
                return "—"
            paused = complaint.sla_paused_at is not None
            return format_html("{} {}", complaint.stage.name, stage_badge(state, paused=paused))

        columns.insert(columns.index("status") + 1, sla)
        columns.insert(columns.index(sla) + 1, stage)
        return columns

    def get_list_select_related(self, request):
        related = list(super().get_list_select_related(request))
        if request.tenant is None:
            related.append("tenant")  # the tenant column and each tenant's calendar
        return related

    # --- bulk assignment ---

    @admin.action(
        description=gettext_lazy("Assign selected complaints…"), permissions=["transition"]
    )
    def assign_selected(self, request, queryset):
        complaints = list(queryset.select_related("assignee").order_by("pk"))
        form = AssignForm(
            request.POST if "apply" in request.POST else None,
            tenant_ids={complaint.tenant_id for complaint in complaints},
            actor=request.user,
        )
        if form.is_bound and form.is_valid():
            self._assign_all(request, complaints, form.cleaned_data["assignee"])
            return None  # back to the list
        context = {
            **self.admin_site.each_context(request),
            "title": _("Assign complaints"),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "complaints": complaints,
            "form": form,
            "action_name": "assign_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/complaints/complaint/bulk_assign.html", context)

    def _assign_all(self, request, complaints: list[Complaint], assignee: User) -> None:
        assigned: list[str] = []
        skipped: list[str] = []
        for complaint in complaints:
            if complaint.status in FINISHED:
                skipped.append(
                    _("%(code)s: it is %(status)s")
                    % {"code": complaint.code, "status": complaint.get_status_display().lower()}
                )
                continue
            if complaint.assignee_id == assignee.pk:
                skipped.append(
                    _("%(code)s: already assigned to %(name)s")
                    % {"code": complaint.code, "name": assignee.get_full_name()}
                )
                continue
            try:
                services.complaint_assign(
                    complaint=complaint, actor=request.user, assignee=assignee
                )
            except ApplicationError as exc:
                skipped.append(f"{complaint.code}: {exc.message}")
            else:
                assigned.append(complaint.code)
        if assigned:
            messages.success(
                request,
                ngettext(
                    "%(count)d complaint assigned to %(name)s: %(codes)s.",
                    "%(count)d complaints assigned to %(name)s: %(codes)s.",
                    len(assigned),
                )
                % {
                    "count": len(assigned),
                    "name": assignee.get_full_name(),
                    "codes": ", ".join(assigned),
                },
            )
        if skipped:
            messages.warning(
                request,
                ngettext(
                    "%(count)d complaint skipped: %(reasons)s.",
                    "%(count)d complaints skipped: %(reasons)s.",
                    len(skipped),
                )
                % {"count": len(skipped), "reasons": "; ".join(skipped)},
            )

    # --- change page ---

    @admin.display(description=gettext_lazy("customer may reopen until"))
    def reopen_until_display(self, obj: Complaint):
        """A resolved complaint's reopen window: rated, it closes right after (the
        auto-close); empty for any other status."""
        return reopen_until(obj)

    @admin.display(description=gettext_lazy("customer rating"))
    def rating_display(self, obj: Complaint) -> str:
        rating = getattr(obj, "rating", None)
        if rating is None:
            return _("Not rated")
        if rating.comment:
            return _("%(score)s of 5: %(comment)s") % {
                "score": rating.score,
                "comment": rating.comment,
            }
        return _("%(score)s of 5") % {"score": rating.score}

    @admin.display(description=gettext_lazy("would recommend us (0–10)"))
    def rating_nps(self, obj: Complaint) -> str:
        rating = getattr(obj, "rating", None)
        if rating is None or rating.nps is None:
            return "—"
        return _("%(score)s of 10") % {"score": rating.nps}

    @admin.display(description=gettext_lazy("rated through"))
    def rating_channel(self, obj: Complaint) -> str:
        rating = getattr(obj, "rating", None)
        return "—" if rating is None else rating.get_channel_display()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._detail_context(request, obj))
            context.update(self._actions_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _detail_context(self, request, obj: Complaint) -> dict:
        thread = complaint_thread(complaint=obj, for_customer=False)
        calendar = RequestCalendars(request).for_complaint(thread)
        states = sla_states(thread, calendar, now=timezone.now())
        paused = thread.sla_paused_at is not None
        clocks = [
            {
                "label": _("First response"),
                "due_at": thread.first_response_due_at,
                "stopped_at": thread.first_responded_at,
                "stopped_label": _("given"),
                "badge": sla_badge(states["first_response"], paused=paused),
            },
            {
                "label": pgettext("complaint", "Resolution"),
                "due_at": thread.resolution_due_at,
                "stopped_at": thread.resolved_at or thread.closed_at,
                "stopped_label": pgettext("complaint", "resolved")
                if thread.resolved_at
                else pgettext("complaint", "closed"),
                "badge": sla_badge(states["resolution"], paused=paused),
            },
        ]
        # The complaint as filed opens the conversation: the customer's own words and files.
        entries = [
            Entry(
                kind=CUSTOMER,
                at=thread.created_at,
                author=thread.reporter.get_full_name(),
                title=_("Complaint filed"),
                body=f"{thread.subject}\n\n{thread.description}",
                files=tuple(
                    self._file(a) for a in thread.visible_attachments if a.message_id is None
                ),
                anchor="complaint-filed",
            )
        ]
        for message in thread.messages.all():
            kind = message_kind(
                from_customer=message.author.is_customer, is_public=not message.is_internal
            )
            entries.append(
                Entry(
                    kind=kind,
                    at=message.created_at,
                    author=message.author.get_full_name(),
                    title=message_title(kind),
                    body=message.body,
                    is_public=not message.is_internal,
                    files=tuple(self._file(a) for a in message.attachments.all()),
                    anchor=f"message-{message.pk}",
                )
            )
        events = [
            Entry(
                kind=EVENT,
                at=event.created_at,
                author=event.actor.get_full_name() if event.actor_id else _("System"),
                title=self._event_label(thread, event),
                body=priority_change_text(event.note)
                if event.action == "priority_changed"
                else event.note,
                status=_status_change(event)
                if event.from_status and event.from_status != event.to_status
                else "",
                is_public=event.is_public,
                anchor=f"event-{event.pk}",
            )
            for event in thread.events.all()
        ]
        linked = []
        if thread.return_request_id:
            linked.append(
                (
                    _("Return"),
                    str(thread.return_request),
                    reverse("admin:returns_returnrequest_change", args=[thread.return_request_id]),
                )
            )
        head = [
            (_("Status"), format_html("<strong>{}</strong>", thread.get_status_display())),
            (_("Priority"), thread.get_priority_display()),
            (_("Category"), thread.get_category_display()),
            (_("SLA"), sla_badge(overall_sla_state(states), paused=paused)),
            (
                _("Assigned to"),
                thread.assignee.get_full_name() if thread.assignee_id else _("Nobody"),
            ),
        ]
        if thread.product_id:
            head.append((_("Product"), str(thread.product)))
        workspace = case_workspace(
            case=thread,
            kind="complaint",
            account=thread.customer_account,
            contact=thread.reporter,
            entries=[*entries, *events],
            files=[self._file(a) for a in thread.visible_attachments],
            head=head,
            linked=linked,
        )
        return {
            **self._stage_context(thread),
            "sla_clocks": clocks,
            "sla_paused_at": thread.sla_paused_at,
            "sla_paused_time": _duration(thread.sla_paused_seconds)
            if thread.sla_paused_seconds
            else "",
            **workspace,
        }

    @staticmethod
    def _stage_context(complaint: Complaint) -> dict:
        """The current stage (name, since, due, badge) and the stage history."""
        now = timezone.now()
        visits = complaint_stage_visits(complaint)
        rows = [
            {
                "name": visit.stage.name,
                "limit_days": visit.limit_days.normalize(),
                "started_at": visit.started_at,
                "due_at": visit.due_at,
                "left_at": visit.left_at,
                "paused_time": _duration(visit.paused_seconds) if visit.paused_seconds else "",
                "badge": stage_badge(
                    visit_state(visit, now=now),
                    paused=visit.left_at is None and visit.paused_at is not None,
                ),
            }
            for visit in visits
        ]
        current = next((visit for visit in visits if visit.left_at is None), None)
        return {
            "stage_current": {
                "name": current.stage.name,
                "started_at": current.started_at,
                "due_at": current.due_at,
                "paused_at": current.paused_at,
                "badge": rows[visits.index(current)]["badge"],
            }
            if current is not None
            else None,
            "stage_visits": rows,
        }

    @staticmethod
    def _event_label(complaint: Complaint, event) -> str:
        if (
            event.action == "filed"
            and complaint.filed_by_id
            and event.actor_id == complaint.filed_by_id
        ):
            # A complaint staff filed for a customer says so where it starts.
            return filed_for_customer_text(
                filed_by=complaint.filed_by, customer=complaint.reporter, channel=complaint.channel
            )
        return str(EVENT_LABELS.get(event.action, event.action))

    def _file(self, attachment: ComplaintAttachment) -> File:
        return File(
            name=attachment.original_name,
            size=attachment.size,
            url=self._url("attachment", attachment.complaint_id, attachment.pk),
            content_type=attachment.content_type,
        )

    def _actions_context(self, request, obj: Complaint) -> dict:
        if not self.has_transition_permission(request, obj):
            return {"complaint_actions": [], "assign_form": None, "reply_form": None}
        user = request.user
        buttons = self.transition_buttons(obj)
        workable = obj.status not in FINISHED
        context = {
            "complaint_actions": buttons,
            "take_url": self._url("take", obj.pk)
            if workable and user.tenant_id == obj.tenant_id and obj.assignee_id != user.pk
            else "",
            "assign_form": AssignForm(
                tenant_ids=[obj.tenant_id],
                actor=user,
                initial_assignee=obj.assignee_id,
                auto_id="id_assign_%s",
            )
            if workable and may_assign_others(user)
            else None,
            "assign_url": self._url("assign", obj.pk),
            "reply_form": None,
            "priority_form": PriorityForm(
                initial={"priority": obj.priority}, auto_id="id_priority_%s"
            )
            if obj.status in OPEN_COMPLAINT_STATUSES
            else None,
            "priority_url": self._url(PRIORITY_BUTTON.name, obj.pk),
        }
        if workable:
            context.update(self._reply_context(request, obj))
        return context

    def _reply_context(self, request, obj: Complaint) -> dict:
        picker = canned_picker(
            request,
            language=obj.reporter.preferred_language,
            render=lambda response: services.canned_response_render(
                canned=response, complaint=obj, agent=request.user
            ),
        )
        initial = request.session.pop(_draft_key(obj), None) or {}
        if picker["canned_chosen"]:
            # Without JavaScript the picker reloads the page with the text filled in.
            initial = {**initial, "body": picker["canned_chosen"]}
        return {
            "reply_form": ReplyForm(initial=initial, auto_id="id_reply_%s"),
            "reply_url": self._url("reply", obj.pk),
            **picker,
        }

    # --- custom views ---

    def get_urls(self):
        urls = [
            # Before the object URLs: "file/" is not an object id.
            path(
                "file/",
                filing_admin_view(
                    self, require_http_methods(["GET", "POST"])(self.file_for_customer_view)
                ),
                name="complaints_complaint_file",
            ),
            self.object_path("take", require_POST(self.take_view)),
            self.object_path("assign", require_POST(self.assign_view)),
            self.object_path("reply", require_POST(self.reply_view)),
            self.object_path(
                PRIORITY_BUTTON.name, require_POST(self._button_view(PRIORITY_BUTTON))
            ),
        ]
        return urls + super().get_urls()

    def file_for_customer_view(self, request):
        """File a complaint for a customer user (complaints/views/backoffice_filing.py)."""
        return file_complaint_view(self, request)

    def take_view(self, request, object_id):
        obj = self._acting_on(request, object_id)
        if obj.assignee_id == request.user.pk and obj.status not in FINISHED:
            messages.info(request, _("Complaint %(code)s is already yours.") % {"code": obj.code})
            return self._change_redirect(obj)
        try:
            services.complaint_assign(complaint=obj, actor=request.user, assignee=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("You took complaint %(code)s.") % {"code": obj.code})
        return self._change_redirect(obj)

    def assign_view(self, request, object_id):
        obj = self._acting_on(request, object_id)
        form = AssignForm(request.POST, tenant_ids=[obj.tenant_id], actor=request.user)
        if not form.is_valid():
            messages.error(request, _("Choose an active agent or coordinator of this tenant."))
            return self._change_redirect(obj)
        assignee = form.cleaned_data["assignee"]
        try:
            services.complaint_assign(complaint=obj, actor=request.user, assignee=assignee)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Complaint %(code)s assigned to %(name)s.")
                % {"code": obj.code, "name": assignee.get_full_name()},
            )
        return self._change_redirect(obj)

    def reply_view(self, request, object_id):
        obj = self._acting_on(request, object_id)
        form = ReplyForm(request.POST)
        form.is_valid()  # every field is optional: the service judges the text
        body = form.cleaned_data.get("body", "")
        is_internal = bool(form.cleaned_data.get("is_internal"))
        try:
            services.complaint_reply(
                complaint=obj,
                actor=request.user,
                body=body,
                is_internal=is_internal,
                uploads=request.FILES.getlist("files"),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            if body.strip():
                # Keep what was typed for the next page; files must be chosen again.
                request.session[_draft_key(obj)] = {"body": body, "is_internal": is_internal}
        else:
            messages.success(
                request,
                _("Internal note added to complaint %(code)s.") % {"code": obj.code}
                if is_internal
                else _("Reply on complaint %(code)s sent to the customer.") % {"code": obj.code},
            )
        return self._change_redirect(obj)


# --- tenant configuration -----------------------------------------------------------------


@admin.register(SlaPolicy)
class SlaPolicyAdmin(TenantScopedAdmin):
    """Targets per priority: the tenant's, and overrides from customers' contracts. Tenant
    admins edit them; other staff read (accounts.permissions)."""

    form = SlaPolicyForm
    list_display = [
        "customer_display",
        "priority",
        "first_response_hours",
        "resolution_hours",
    ]
    list_filter = ["priority", ("customer_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["customer_account"]
    search_fields = ["customer_account__name", "customer_account__number"]
    ordering = [F("customer_account__name").asc(nulls_first=True), "priority"]

    def get_fieldsets(self, request, obj=None):
        defaults = ", ".join(
            _("%(priority)s %(first)s h / %(resolution)s h")
            % {"priority": priority.label, "first": first, "resolution": resolution}
            for priority, (first, resolution) in DEFAULT_SLA_HOURS.items()
        )
        return [
            (
                None,
                {
                    "fields": [
                        "tenant",
                        "customer_account",
                        "priority",
                        "first_response_hours",
                        "resolution_hours",
                    ],
                    "description": _(
                        "Times are business hours of the support calendar (support settings "
                        "and holidays). A customer's targets override the tenant's for that "
                        "priority; without either these apply: %(defaults)s. Changes apply "
                        "to complaints filed afterwards."
                    )
                    % {"defaults": defaults},
                },
            )
        ]

    @admin.display(description=gettext_lazy("applies to"), ordering="customer_account__name")
    def customer_display(self, obj: SlaPolicy) -> str:
        if obj.customer_account_id is None:
            return _("All customers (tenant targets)")
        return str(obj.customer_account)


@admin.register(ComplaintStage)
class ComplaintStageAdmin(TenantScopedAdmin):
    """The stages of the tenant's complaint procedure, each with its limit in working days and
    the statuses it covers (docs/complaint-stages.md). Tenant admins edit them; other staff
    read (accounts.permissions, and this admin's own check below)."""

    form = ComplaintStageForm
    list_display = ["name", "key", "position", "limit_days", "statuses_display", "is_active"]
    list_display_links = ["name"]
    list_filter = ["is_active"]
    search_fields = ["name", "key"]
    ordering = ["position", "key"]

    def get_fieldsets(self, request, obj=None):
        defaults = ", ".join(
            _("%(name)s %(days)s d") % {"name": name, "days": days}
            for _position, _key, name, days, _statuses in DEFAULT_STAGES
        )
        return [
            (
                None,
                {
                    "fields": [
                        "tenant",
                        "position",
                        "key",
                        "name",
                        "limit_days",
                        "statuses",
                        "is_active",
                    ],
                    "description": _(
                        "A complaint is in the active stage covering its status; each stage "
                        "has its own limit in working days of the support calendar (a working "
                        "day is as long as the working hours in the support settings). "
                        "Waiting for the customer pauses the stage's clock. A tenant without "
                        "stages gets these: %(defaults)s. Changes apply to stages entered "
                        "afterwards; make a stage inactive rather than deleting it."
                    )
                    % {"defaults": defaults},
                },
            )
        ]

    # Only tenant admins (and platform superusers) change the procedure; the roles' table
    # gives the other staff "view" on stages, this keeps them to it whatever the table says.

    def has_add_permission(self, request):
        return super().has_add_permission(request) and is_tenant_admin_or_platform(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and is_tenant_admin_or_platform(
            request.user
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and is_tenant_admin_or_platform(
            request.user
        )

    def changelist_view(self, request, extra_context=None):
        if request.tenant is not None and self.has_view_permission(request):
            complaint_stages_ensure(request.tenant)  # a tenant without stages sees the defaults
        return super().changelist_view(request, extra_context)

    @admin.display(description=gettext_lazy("complaint statuses"))
    def statuses_display(self, obj: ComplaintStage) -> str:
        return ", ".join(str(STATUS_LABELS.get(status, status)) for status in obj.statuses or [])


WEEKDAY_NAMES = dict(WEEKDAYS)


@admin.register(SupportSettings)
class SupportSettingsAdmin(TenantScopedAdmin):
    """The support calendar SLA clocks count in, and case time limits; one per tenant."""

    form = SupportSettingsForm
    list_display = [
        "__str__",
        "day_start",
        "day_end",
        "weekdays_display",
        "reopen_window_days",
        "auto_close_days",
        "update_cadence_hours",
    ]
    list_select_related = ["tenant"]
    fieldsets = [
        (
            gettext_lazy("Working time"),
            {
                "fields": ["tenant", "day_start", "day_end", "working_weekdays"],
                "description": gettext_lazy(
                    "SLA clocks run only in working time; holidays are listed separately. "
                    "Without settings the working time is Monday to Friday, 8:00 to 16:00."
                ),
            },
        ),
        (gettext_lazy("Time limits"), {"fields": ["reopen_window_days", "auto_close_days"]}),
        (
            gettext_lazy("Customer updates"),
            {
                "fields": ["update_cadence_hours", "status_update_emails"],
                "description": gettext_lazy(
                    "For returns and complaints alike. Hours of working days count, nights too; "
                    "weekends and holidays do not. An update due outside working time is due at "
                    "the next opening."
                ),
            },
        ),
    ]

    def has_add_permission(self, request):
        if not super().has_add_permission(request):
            return False
        # One row per tenant: once it exists, it is edited.
        return request.tenant is None or not SupportSettings.objects.exists()

    @admin.display(description=gettext_lazy("working weekdays"))
    def weekdays_display(self, obj: SupportSettings) -> str:
        return ", ".join(str(WEEKDAY_NAMES[day]) for day in sorted(obj.working_weekdays or []))


@admin.register(Holiday)
class HolidayAdmin(TenantScopedAdmin):
    """Days without support: SLA clocks do not run."""

    form = HolidayForm
    list_display = ["date", "name"]
    search_fields = ["name"]
    date_hierarchy = "date"
    fields = ["tenant", "date", "name"]

"""Back-office for returns: queues, a read-only return page whose every change is a service
behind a button, bulk approval, staff downloads of attachments, and the policy editor."""

from __future__ import annotations

import re
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_fsm import can_proceed

from customers.canned import canned_picker, canned_response_render
from customers.case_context import case_workspace
from customers.filing_forms import filed_for_customer_text
from customers.update_cadence import update_owed
from rma_portal.accounts.models import Role
from rma_portal.backoffice.actions import (
    ButtonAction,
    StoredFile,
    TransitionButtonsMixin,
    bulk_button_action,
)
from rma_portal.backoffice.admin import (
    ReadOnlyAdminMixin,
    TenantScopedAdmin,
    TenantScopedTabularInline,
)
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
from rma_portal.concurrency import version_from_form
from rma_portal.errors import ApplicationError
from rma_portal.formats import local_moment
from rma_portal.sla import SlaState

from . import labels, services
from .admin_feedback import ReturnFeedbackInline
from .admin_forms import (
    AssignForm,
    CategoryWindowFormSet,
    CommentForm,
    ConfirmDocumentForm,
    InspectionForm,
    InspectionLineForm,
    ResolveForm,
    ResolveLineForm,
)
from .admin_forms import ReturnPolicyForm as ReturnPolicyAdminForm
from .models import (
    OPEN_STATUSES,
    CategoryWindow,
    DocumentKind,
    Resolution,
    ResolutionDocument,
    ReturnAttachment,
    ReturnEvent,
    ReturnPolicy,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from .policies import PolicyRules
from .selectors import return_rules_applied
from .services.access import is_acting_staff, may_approve, may_decide_awaiting
from .services.errors import ReturnInvalid
from .services.resolution import CONFIRMABLE_STATUSES
from .sla_watch import sla_at_risk, sla_breached
from .views.backoffice_filing import file_return_view

OPEN = sorted(OPEN_STATUSES)
# Nobody works on these any more: no assignment, no buttons but messages.
FINISHED = frozenset(
    {
        ReturnStatus.DRAFT,
        ReturnStatus.REJECTED,
        ReturnStatus.CANCELLED,
        ReturnStatus.CLOSED,
        ReturnStatus.EXPIRED,
    }
)

# --- queues ---------------------------------------------------------------------------------


QUEUES: tuple[Queue, ...] = (
    Queue(
        "new", gettext_lazy("New (submitted)"), lambda user, now: Q(status=ReturnStatus.SUBMITTED)
    ),
    Queue(
        "awaiting_approval",
        gettext_lazy("Awaiting approval"),
        lambda user, now: Q(status=ReturnStatus.AWAITING_APPROVAL),
    ),
    Queue(
        "needs_info",
        gettext_lazy("Waiting for the customer's answer"),
        lambda user, now: Q(status=ReturnStatus.NEEDS_INFO),
    ),
    Queue(
        "awaiting_goods",
        gettext_lazy("Approved, awaiting goods"),
        lambda user, now: Q(status=ReturnStatus.APPROVED),
    ),
    Queue(
        "awaiting_inspection",
        gettext_lazy("Received, awaiting inspection"),
        lambda user, now: Q(status=ReturnStatus.RECEIVED),
    ),
    Queue(
        "awaiting_resolution",
        gettext_lazy("Inspected, awaiting resolution"),
        lambda user, now: Q(status=ReturnStatus.INSPECTED),
    ),
    Queue("sla_at_risk", gettext_lazy("SLA at risk"), lambda user, now: sla_at_risk(now)),
    Queue("sla_breached", gettext_lazy("SLA breached"), lambda user, now: sla_breached(now)),
    Queue("update_owed", UPDATE_OWED_QUEUE_LABEL, lambda user, now: update_owed(now)),
    Queue(
        "mine",
        gettext_lazy("Mine (open)"),
        lambda user, now: Q(assignee_id=user.pk, status__in=OPEN),
    ),
    Queue(
        "unassigned",
        gettext_lazy("Unassigned (open)"),
        lambda user, now: Q(assignee__isnull=True, status__in=OPEN),
    ),
)
QueueFilter = queue_filter(QUEUES)


# --- the timeline's labels and the read-only inlines --------------------------------------

EVENT_LABELS = {
    "created": gettext_lazy("Created"),
    "submitted": gettext_lazy("Submitted"),
    "auto_approved": gettext_lazy("Approved automatically"),
    "approval_requested": gettext_lazy("Approval asked for (internal)"),
    "reopened": gettext_lazy("Taken back by the customer to be changed"),
    "approved": gettext_lazy("Approved"),
    "info_requested": gettext_lazy("Information requested"),
    "info_provided": gettext_lazy("Information provided"),
    "rejected": gettext_lazy("Rejected"),
    "cancelled": gettext_lazy("Cancelled"),
    "received": gettext_lazy("Goods received"),
    "inspected": gettext_lazy("Inspected"),
    services.INTERNAL_INSPECTION_NOTE: gettext_lazy("Inspection note (internal)"),
    "resolved": gettext_lazy("Resolved"),
    services.RESOLUTION_OVERRIDDEN: gettext_lazy("Accepted value exceeded (internal)"),
    services.POLICY_OVERRIDDEN: gettext_lazy("Return policy overridden (internal)"),
    services.DOCUMENT_CONFIRMED[DocumentKind.CREDIT_NOTE]: gettext_lazy("Credit note confirmed"),
    services.DOCUMENT_CONFIRMED[DocumentKind.REPLACEMENT_ORDER]: gettext_lazy(
        "Replacement / repair order confirmed"
    ),
    "closed": gettext_lazy("Closed"),
    "ship_reminder": gettext_lazy("Reminded to send the goods"),
    "expired": gettext_lazy("Expired: the goods did not arrive in time"),
    "assigned": gettext_lazy("Assigned"),
    "sla_at_risk": gettext_lazy("Deadline near: staff told (internal)"),
    "sla_breached": gettext_lazy("Deadline missed: coordinators told (internal)"),
    "comment": gettext_lazy("Message"),
    "attachment": gettext_lazy("File added"),
    **UPDATE_EVENT_LABELS,
}
STATUS_LABELS = dict(ReturnStatus.choices)

# --- clocks (docs/returns-rules.md#clocks-of-returns) ------------------------------------

CLOCK_LABELS = {
    "decision": gettext_lazy("Decision"),
    "refund": gettext_lazy("Refund / credit"),
}


def current_clock(obj: ReturnRequest, now) -> tuple[str, SlaState] | None:
    """The clock the return is on now: the refund clock once the goods arrived, else the
    decision clock; None when the return has neither."""
    refund = obj.refund_state(now)
    if refund is not None:
        return "refund", refund
    decision = obj.decision_state(now)
    if decision is not None:
        return "decision", decision
    return None


def _return_subject(rma: ReturnRequest) -> str:
    """A canned response's {subject} for a return: its first line's product."""
    first = rma.lines.select_related("order_line__product").order_by("pk").first()
    return first.order_line.product.name if first is not None else ""


def event_title(event: ReturnEvent, rma: ReturnRequest) -> str:
    if event.action == "created" and rma.filed_by_id and event.actor_id == rma.filed_by_id:
        # A return staff filed for a customer says so where it starts.
        return filed_for_customer_text(
            filed_by=rma.filed_by, customer=rma.requester, channel=rma.channel
        )
    return str(EVENT_LABELS.get(event.action, event.action))


def status_change_text(event: ReturnEvent) -> str:
    """ "Before → after" when the event changed the status; "" otherwise."""
    if not event.from_status or event.from_status == event.to_status:
        return ""
    before = STATUS_LABELS.get(event.from_status, event.from_status)
    after = STATUS_LABELS.get(event.to_status, event.to_status)
    return f"{before} → {after}"


class ReadOnlyInline(ReadOnlyAdminMixin, TenantScopedTabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class ResolutionDocumentInline(ReadOnlyInline):
    """The ERP's documents of the resolution, as confirmed by the ERP or typed in by staff."""

    model = ResolutionDocument
    verbose_name_plural = gettext_lazy("ERP documents")
    fields = readonly_fields = [
        "kind",
        "number",
        "issued_on",
        "amount",
        "confirmed_by",
        "confirmed_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("confirmed_by")


# --- buttons --------------------------------------------------------------------------------


BUTTON_ACTIONS: tuple[ButtonAction[ReturnRequest], ...] = (
    ButtonAction(
        "approve",
        "approve",
        gettext_lazy("Approve"),
        lambda r, actor, text: services.return_request_approve(
            return_request=r, actor=actor, note=text
        ),
        gettext_lazy("Return %(number)s approved."),
        "note",
        gettext_lazy("Note for the customer (optional)"),
    ),
    ButtonAction(
        "ask-approval",
        "request_approval",
        gettext_lazy("Ask for approval"),
        lambda r, actor, text: services.return_request_ask_approval(
            return_request=r, actor=actor, note=text
        ),
        gettext_lazy("Return %(number)s waits for approval; the approvers were told."),
        "note",
        gettext_lazy("Your recommendation (internal)"),
    ),
    ButtonAction(
        "request-info",
        "request_info",
        gettext_lazy("Request information"),
        lambda r, actor, text: services.return_request_request_info(
            return_request=r, actor=actor, question=text
        ),
        gettext_lazy("Question sent; return %(number)s waits for the customer."),
        "question",
        gettext_lazy("Question for the customer"),
        text_required=True,
    ),
    ButtonAction(
        "reject",
        "reject",
        gettext_lazy("Reject"),
        lambda r, actor, text: services.return_request_reject(
            return_request=r, actor=actor, reason=text
        ),
        gettext_lazy("Return %(number)s rejected."),
        "reason",
        gettext_lazy("Reason (the customer sees it)"),
        text_required=True,
        danger=True,
    ),
    ButtonAction(
        "receive",
        "mark_received",
        gettext_lazy("Mark received"),
        lambda r, actor, text: services.return_request_mark_received(
            return_request=r, actor=actor, note=text
        ),
        gettext_lazy("Goods from return %(number)s marked as received."),
        "note",
        gettext_lazy("Note (optional)"),
    ),
    ButtonAction(
        "close",
        "close",
        gettext_lazy("Close"),
        lambda r, actor, text: services.return_request_close(
            return_request=r, actor=actor, note=text
        ),
        gettext_lazy("Return %(number)s closed."),
        "note",
        gettext_lazy("Note (optional)"),
    ),
    ButtonAction(
        "cancel",
        "cancel",
        gettext_lazy("Cancel the return"),
        lambda r, actor, text: services.return_request_cancel(
            return_request=r, actor=actor, note=text
        ),
        gettext_lazy("Return %(number)s cancelled."),
        "note",
        gettext_lazy("Note for the customer (optional)"),
        danger=True,
    ),
)
BUTTONS_BY_NAME = {button.name: button for button in BUTTON_ACTIONS}
# Transitions that need a page of their own (a form per line, amounts to confirm).
PAGE_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("inspect", "inspect", gettext_lazy("Inspect…")),
    ("resolve", "resolve", gettext_lazy("Resolve…")),
)
LINE_ERROR_KEY = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


@admin.register(ReturnRequest)
class ReturnRequestAdmin(
    CasePresenceMixin, CaseQueuesAdminMixin, TransitionButtonsMixin, TenantScopedAdmin
):
    """Nothing on a return is edited through the form: the page is read-only for everyone
    and every change (status, assignee, messages) is a button that calls a service."""

    queues = QUEUES
    file_url_name = "admin:returns_returnrequest_file"
    presence_kind = "return"
    presence_viewing_text = gettext_lazy("%(name)s is viewing this return")
    button_actions = BUTTON_ACTIONS
    attachment_model = ReturnAttachment
    attachment_parent_field = "return_request"
    list_display = [
        "rma_number",
        "customer_account",
        "status",
        "requested_value",
        "lines_count",
        "assignee",
        "sla",
        "created_at",
        "submitted_at",
    ]
    list_filter = [
        QueueFilter,
        "status",
        "channel",
        "is_warranty_claim",
        "requested_resolution",
        "return_method",
        ("customer_account", admin.RelatedOnlyFieldListFilter),
        ("assignee", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    list_select_related = ["customer_account", "assignee"]
    search_fields = [
        "number",
        "customer_account__name",
        "customer_account__number",
        "lines__order_line__order__number",
    ]
    search_help_text = gettext_lazy("RMA number, customer name or number, or order number.")
    actions = [
        "approve_selected",
        *(
            bulk_button_action(button, label=label)
            for button, label in (
                (BUTTONS_BY_NAME["request-info"], gettext_lazy("Ask for information")),
                (BUTTONS_BY_NAME["reject"], gettext_lazy("Reject, with a reason")),
                (BUTTONS_BY_NAME["close"], gettext_lazy("Close")),
            )
        ),
    ]
    # The lines, the files and the timeline are the workspace's, above the details
    # (templates/admin/returns/returnrequest/change_form.html).
    inlines = [ResolutionDocumentInline, ReturnFeedbackInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "status",
                    "customer_account",
                    "requester",
                    "channel",
                    "filed_by",
                    "assignee",
                ]
            },
        ),
        (
            gettext_lazy("Request"),
            {
                "fields": [
                    "requested_resolution",
                    "return_method",
                    "pickup_date",
                    "pickup_address",
                    "customer_note",
                    "linked_complaints",
                    "requested_value",
                    "shipping_paid_by",
                    "auto_approved",
                    "is_warranty_claim",
                    "approval_level",
                    "approved_by",
                    "info_request",
                    "rejection_reason",
                ]
            },
        ),
        (
            gettext_lazy("Resolution"),
            {
                "fields": [
                    "resolution",
                    "accepted_value",
                    "restocking_fee",
                    "refund_total",
                    "credit_note_total",
                    "credit_note_number",
                    "replacement_order_ref",
                    "resolution_note",
                ]
            },
        ),
        (
            gettext_lazy("Dates"),
            {
                "fields": [
                    "created_at",
                    "submitted_at",
                    "approved_at",
                    "ship_reminded_at",
                    "ship_by",
                    "received_at",
                    "inspected_at",
                    "resolved_at",
                    "closed_at",
                    "expired_at",
                ]
            },
        ),
        (
            gettext_lazy("Clocks"),
            {"fields": ["decision_clock", "refund_clock", "customer_update"]},
        ),
        (gettext_lazy("Policy applied"), {"fields": ["policy_applied"]}),
        (gettext_lazy("Return label"), {"fields": ["label_download"]}),
    ]

    # --- permissions: the form never saves; buttons need change permission on returns ---

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False  # customers file returns in the portal

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a return is cancelled or rejected, never deleted: it is audit history

    def has_transition_permission(self, request, obj=None) -> bool:
        user = request.user
        acting = is_acting_staff(user) if obj is None else is_acting_staff(user, obj)
        if acting and user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}"):
            return True
        # Managers read returns, and approve or reject those awaiting their approval (never
        # in bulk: there is no object here then).
        return obj is not None and self._is_manager(user) and may_decide_awaiting(user, obj)

    @staticmethod
    def _is_manager(user) -> bool:
        return user.is_active and user.tenant_id is not None and user.role == Role.MANAGER

    def _acting_on(self, request, object_id):
        if not self._is_manager(request.user):
            return super()._acting_on(request, object_id)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not may_decide_awaiting(request.user, obj):
            raise PermissionDenied
        if request.method == "POST":
            obj.seen_version = version_from_form(request.POST)
        return obj

    def transition_message_params(self, obj: ReturnRequest) -> dict[str, object]:
        return {"number": obj.reference}

    def _offers(self, button: str, user, obj: ReturnRequest) -> bool:
        """Approve for those who may at the return's approval level; "ask for approval" for
        the agents who may not; managers only approve and reject."""
        if button == "approve":
            return may_approve(user, obj)
        if button == "ask-approval":
            return bool(obj.approval_level) and not may_approve(user, obj)
        if self._is_manager(user):
            return button == "reject"
        return True

    # --- list ---

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lines_count=Count("lines", distinct=True))

    @admin.display(description=gettext_lazy("RMA number"), ordering="number")
    def rma_number(self, obj: ReturnRequest) -> str:
        """The number, or "Draft of …" for a draft never submitted (it has none yet)."""
        return obj.reference

    @admin.display(description=gettext_lazy("lines"), ordering="lines_count")
    def lines_count(self, obj: ReturnRequest) -> int:
        return obj.lines_count

    @admin.display(description=gettext_lazy("SLA"))
    def sla(self, obj: ReturnRequest) -> str:
        clock = current_clock(obj, timezone.now())
        if clock is None:
            return "—"
        name, state = clock
        paused = name == "decision" and obj.decision_paused_at is not None
        return format_html("{}: {}", CLOCK_LABELS[name], sla_badge(state, paused=paused))

    def _clock_text(self, obj: ReturnRequest, state: SlaState | None, due_at, paused) -> str:
        if due_at is None:
            return "—"
        if state is None:
            return _("Stopped: the return was cancelled before a decision.")
        due = local_moment(due_at, obj.tenant.timezone)
        return format_html(
            "{} {}",
            _("due %(due_at)s (%(time_zone)s)") % {"due_at": due, "time_zone": obj.tenant.timezone},
            sla_badge(state, paused=paused),
        )

    @admin.display(description=gettext_lazy("decision"))
    def decision_clock(self, obj: ReturnRequest) -> str:
        state = obj.decision_state(timezone.now())
        paused = obj.decision_paused_at is not None and obj.decided_at is None
        return self._clock_text(obj, state, obj.decision_due_at, paused)

    @admin.display(description=gettext_lazy("refund / credit"))
    def refund_clock(self, obj: ReturnRequest) -> str:
        return self._clock_text(obj, obj.refund_state(timezone.now()), obj.refund_due_at, False)

    @admin.display(description=gettext_lazy("complaints about it"))
    def linked_complaints(self, obj: ReturnRequest) -> str:
        """The complaints that name this return (a complaint links its return; this is the
        other way), each a link to its page. The tenant's only: the manager is scoped."""
        linked = obj.complaints.order_by("pk").values_list("pk", "code", "subject")
        if not linked:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            (
                (reverse("admin:complaints_complaint_change", args=[pk]), code, subject)
                for pk, code, subject in linked
            ),
        )

    @admin.display(description=gettext_lazy("customer updates"))
    def customer_update(self, obj: ReturnRequest) -> str:
        return customer_update_text(obj, now=timezone.now(), time_zone=obj.tenant.timezone)

    @admin.display(description=gettext_lazy("policy applied"))
    def policy_applied(self, obj: ReturnRequest) -> str:
        if not obj.policy_snapshot:
            return _("Not submitted yet: today's policy will apply.")
        rules = return_rules_applied(return_request=obj)
        reasons = dict(ReturnReason.choices)
        free = ", ".join(str(reasons.get(r, r)) for r in sorted(rules.free_shipping_reasons))
        windows = ", ".join(f"{code}: {days}" for code, days in rules.category_windows.items())
        items = [
            ngettext(
                "Return window: %(days)d day",
                "Return window: %(days)d days",
                rules.default_window_days,
            )
            % {"days": rules.default_window_days},
            _("Category windows: %(windows)s") % {"windows": windows or "—"},
            _("Restocking fee: %(percent)s %%") % {"percent": rules.restocking_fee_percent},
            _("Free return shipping and no fee for: %(reasons)s") % {"reasons": free or "—"},
        ]
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((i,) for i in items))
        )

    @admin.display(description=gettext_lazy("return label"))
    def label_download(self, obj: ReturnRequest) -> str:
        if not labels.label_available(obj):
            return _("Available once the return is approved.")
        link = format_html(
            '<a href="{}" id="return-label-download">{}</a>',
            self._url("label", obj.pk),
            _("Download return label (PDF)"),
        )
        if obj.label_rendered_at is None:
            return format_html("{} ({})", link, _("rendered on first download"))
        return link

    @admin.action(
        description=gettext_lazy("Approve selected submitted returns"),
        permissions=["transition"],
    )
    def approve_selected(self, request, queryset):
        approved: list[str] = []
        skipped: list[str] = []
        for return_request in queryset.order_by("pk"):
            if return_request.status != ReturnStatus.SUBMITTED:
                skipped.append(
                    _("%(number)s: it is %(status)s, only submitted returns are approved")
                    % {
                        "number": return_request.reference,
                        "status": return_request.get_status_display().lower(),
                    }
                )
                continue
            try:
                services.return_request_approve(return_request=return_request, actor=request.user)
            except ApplicationError as exc:
                skipped.append(f"{return_request.reference}: {exc.message}")
            else:
                approved.append(return_request.reference)
        if approved:
            messages.success(
                request,
                ngettext(
                    "%(count)d return approved: %(numbers)s.",
                    "%(count)d returns approved: %(numbers)s.",
                    len(approved),
                )
                % {"count": len(approved), "numbers": ", ".join(approved)},
            )
        if skipped:
            messages.warning(
                request,
                ngettext(
                    "%(count)d return skipped: %(reasons)s.",
                    "%(count)d returns skipped: %(reasons)s.",
                    len(skipped),
                )
                % {"count": len(skipped), "reasons": "; ".join(skipped)},
            )

    # --- change page ---

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._workspace_context(obj))
            context.update(self._actions_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _workspace_context(self, obj: ReturnRequest) -> dict:
        """The conversation, the lines' decisions, the files and the customer beside them
        (customers/case_context.py); a constant number of queries."""
        attachments = list(obj.attachments.order_by("created_at", "pk"))
        files = {
            attachment.pk: File(
                name=attachment.original_name,
                size=attachment.size,
                url=reverse("admin:returns_returnrequest_attachment", args=[obj.pk, attachment.pk]),
                content_type=attachment.content_type,
            )
            for attachment in attachments
        }
        # A "file added" event is written with its file, in the same order: each shows its
        # file (matched by uploader and name, first unmatched first).
        unmatched = list(attachments)

        def file_of(event) -> tuple[File, ...]:
            for attachment in unmatched:
                if (
                    attachment.uploaded_by_id == event.actor_id
                    and attachment.original_name == event.note
                ):
                    unmatched.remove(attachment)
                    return (files[attachment.pk],)
            return ()

        events = obj.events.select_related("actor").order_by("created_at", "pk")
        entries = []
        if obj.customer_note:  # the customer's words with the return open the conversation
            entries.append(
                Entry(
                    kind=CUSTOMER,
                    at=obj.submitted_at or obj.created_at,
                    author=obj.requester.get_full_name(),
                    title=_("Note from the customer"),
                    body=obj.customer_note,
                    anchor="return-note",
                )
            )
        for event in events:
            author = event.actor.get_full_name() if event.actor_id else _("System")
            if event.action == "comment":
                kind = message_kind(
                    from_customer=event.actor_id is not None and event.actor.is_customer,
                    is_public=event.is_public,
                )
                entries.append(
                    Entry(
                        kind=kind,
                        at=event.created_at,
                        author=author,
                        title=message_title(kind),
                        body=event.note,
                        is_public=event.is_public,
                        anchor=f"event-{event.pk}",
                    )
                )
                continue
            entries.append(
                Entry(
                    kind=EVENT,
                    at=event.created_at,
                    author=author,
                    title=event_title(event, obj),
                    body=event.note,
                    status=status_change_text(event),
                    is_public=event.is_public,
                    files=file_of(event) if event.action == "attachment" else (),
                    anchor=f"event-{event.pk}",
                )
            )
        linked = [
            (_("Complaint"), code, reverse("admin:complaints_complaint_change", args=[pk]))
            for pk, code in obj.complaints.order_by("pk").values_list("pk", "code")
        ]
        now = timezone.now()
        clock = current_clock(obj, now)
        head = [
            (_("Status"), format_html("<strong>{}</strong>", obj.get_status_display())),
            (_("Requested"), obj.get_requested_resolution_display()),
            (_("Value"), f"{obj.requested_value} {obj.tenant.currency}"),
        ]
        if clock is not None:
            name, state = clock
            paused = name == "decision" and obj.decision_paused_at is not None
            head.append((CLOCK_LABELS[name], sla_badge(state, paused=paused)))
        head.append(
            (_("Assigned to"), obj.assignee.get_full_name() if obj.assignee_id else _("Nobody"))
        )
        if obj.is_warranty_claim:
            head.append((_("Kind"), _("Warranty claim")))
        lines = obj.lines.select_related("order_line__order", "order_line__product").order_by("pk")
        return {
            **case_workspace(
                case=obj,
                kind="return",
                account=obj.customer_account,
                contact=obj.requester,
                entries=entries,
                files=list(files.values()),
                head=head,
                linked=linked,
            ),
            "return_lines": [
                {
                    "line": f"{line.order_line.order.number}/{line.order_line.line_number}",
                    "product": line.order_line.product,
                    "serials": ", ".join(line.serial_numbers or []),
                    "quantity": line.quantity,
                    "accepted": line.accepted_quantity,
                    "unit_price": line.unit_price,
                    "reason": line.get_reason_display(),
                    "reason_text": line.reason_text,
                    "customer_comment": line.customer_comment,
                    "condition": line.get_condition_display() if line.condition else "",
                    "disposition": line.get_disposition_display() if line.disposition else "",
                    "inspection_customer_note": line.inspection_customer_note,
                    "inspection_note": line.inspection_note,
                    "resolution": line.get_resolution_display() if line.resolution else "",
                    "refund_amount": line.refund_amount,
                    "replacement_sku": line.replacement_sku,
                    "replacement_quantity": line.replacement_quantity,
                    "override_reason": line.override_reason,
                }
                for line in lines
            ],
        }

    def _actions_context(self, request, obj: ReturnRequest) -> dict:
        if not self.has_transition_permission(request, obj):
            return {"return_actions": [], "assign_form": None, "comment_form": None}
        user = request.user
        buttons = [
            button
            for button in self.transition_buttons(obj)
            if self._offers(button["name"], user, obj)
        ]
        if self._is_manager(user):  # approve or reject what awaits them; nothing else
            return {"return_actions": buttons, "assign_form": None, "comment_form": None}
        for name, transition, label in PAGE_ACTIONS:
            if can_proceed(getattr(obj, transition)):
                buttons.append(
                    {"name": name, "label": label, "url": self._url(name, obj.pk), "page": True}
                )
        if obj.status in CONFIRMABLE_STATUSES:
            buttons.append(
                {
                    "name": "confirm-document",
                    "label": _("Record an ERP document…"),
                    "url": self._url("confirm-document", obj.pk),
                    "page": True,
                }
            )
        may_assign = obj.status not in FINISHED
        subject = _return_subject(obj)
        picker = canned_picker(
            request,
            language=obj.requester.preferred_language,
            render=lambda response: canned_response_render(
                canned=response,
                case_number=obj.reference,
                subject=subject,
                customer_name=obj.customer_account.name,
                contact=obj.requester,
                agent=user,
            ),
        )
        return {
            "return_actions": buttons,
            "assign_form": AssignForm(return_request=obj, actor=user) if may_assign else None,
            "assign_url": self._url("assign", obj.pk),
            "assign_me_id": user.pk,
            "assign_to_me": may_assign
            and user.tenant_id == obj.tenant_id
            and obj.assignee_id != user.pk,
            "comment_form": CommentForm(
                initial={"note": picker["canned_chosen"]} if picker["canned_chosen"] else None,
                auto_id="id_comment_%s",
            ),
            "comment_url": self._url("comment", obj.pk),
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
                name="returns_returnrequest_file",
            ),
            self.object_path("inspect", require_http_methods(["GET", "POST"])(self.inspect_view)),
            self.object_path("resolve", require_http_methods(["GET", "POST"])(self.resolve_view)),
            self.object_path(
                "confirm-document",
                require_http_methods(["GET", "POST"])(self.confirm_document_view),
            ),
            self.object_path("assign", require_POST(self.assign_view)),
            self.object_path("comment", require_POST(self.comment_view)),
            self.object_path("label", require_safe(self.label_view)),
        ]
        return urls + super().get_urls()

    def file_for_customer_view(self, request):
        """File a return for a customer user (returns/views/backoffice_filing.py)."""
        return file_return_view(self, request)

    def assign_view(self, request, object_id):
        obj = self._acting_on(request, object_id)
        form = AssignForm(request.POST, return_request=obj, actor=request.user)
        if not form.is_valid():
            messages.error(request, _("Choose an active agent or coordinator of this tenant."))
            return self._change_redirect(obj)
        assignee = form.cleaned_data["assignee"]
        try:
            services.return_request_assign(
                return_request=obj, actor=request.user, assignee=assignee
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            if assignee is None:
                message = _("Return %(number)s is now unassigned.") % {"number": obj.reference}
            else:
                message = _("Return %(number)s assigned to %(name)s.") % {
                    "number": obj.reference,
                    "name": assignee.get_full_name(),
                }
            messages.success(request, message)
        return self._change_redirect(obj)

    def comment_view(self, request, object_id):
        obj = self._acting_on(request, object_id)
        is_public = request.POST.get("visibility") == CommentForm.PUBLIC
        try:
            # The service owns the rules for the text (required, length).
            services.return_request_reply(
                return_request=obj,
                actor=request.user,
                note=request.POST.get("note", ""),
                is_public=is_public,
                uploads=request.FILES.getlist("files"),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Public reply added; the customer sees it.")
                if is_public
                else _("Internal note added."),
            )
        return self._change_redirect(obj)

    def label_view(self, request, object_id):
        """The return label PDF, through the same tenant-scoped lookup as the page."""

        def locate(obj: ReturnRequest) -> StoredFile | None:
            if not labels.label_available(obj):
                return None
            return StoredFile(
                labels.return_label_file(return_request=obj),
                labels.label_filename(obj),
                "application/pdf",
            )

        return self.stored_file_view(request, object_id, locate)

    def _page_context(self, request, obj: ReturnRequest, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": obj.reference,
            "opts": self.opts,
            "original": obj,
            "app_label": self.opts.app_label,
            "has_view_permission": True,
            "change_url": self._url("change", obj.pk),
        }

    def _cannot(self, request, obj: ReturnRequest, action: str) -> HttpResponseRedirect:
        messages.error(
            request,
            _("Return %(number)s is %(status)s; it cannot be %(action)s now.")
            % {
                "number": obj.reference,
                "status": obj.get_status_display().lower(),
                "action": action,
            },
        )
        return self._change_redirect(obj)

    def inspect_view(self, request, object_id):
        obj = self._acting_on(request, object_id)
        if not can_proceed(obj.inspect):
            return self._cannot(request, obj, _("inspected"))
        lines = list(
            obj.lines.select_related("order_line__order", "order_line__product").order_by("pk")
        )
        data = request.POST if request.method == "POST" else None
        line_forms = [InspectionLineForm(data, line=line) for line in lines]
        form = InspectionForm(data, prefix="inspection")
        if data is not None and all([form.is_valid(), *(f.is_valid() for f in line_forms)]):
            results = {
                f.line.pk: services.InspectionInput(
                    condition=f.cleaned_data["condition"],
                    disposition=f.cleaned_data["disposition"],
                    accepted_quantity=f.cleaned_data["accepted_quantity"],
                    internal_note=f.cleaned_data["note"],
                    customer_note=f.cleaned_data["customer_note"],
                )
                for f in line_forms
            }
            try:
                services.return_request_inspect(
                    return_request=obj,
                    actor=request.user,
                    results=results,
                    customer_note=form.cleaned_data["note"],
                    internal_note=form.cleaned_data["internal_note"],
                )
            except ReturnInvalid as exc:
                messages.error(request, exc.message)
                _line_errors_to_forms(exc, line_forms)
            except ApplicationError as exc:
                messages.error(request, exc.message)
                return self._change_redirect(obj)
            else:
                messages.success(
                    request, _("Return %(number)s inspected.") % {"number": obj.reference}
                )
                return self._change_redirect(obj)
        context = {
            **self._page_context(
                request, obj, _("Inspect return %(number)s") % {"number": obj.reference}
            ),
            "form": form,
            "line_forms": line_forms,
        }
        return TemplateResponse(request, "admin/returns/returnrequest/inspect.html", context)

    def resolve_view(self, request, object_id):
        obj = self._acting_on(request, object_id)
        if not can_proceed(obj.resolve):
            return self._cannot(request, obj, _("resolved"))
        lines = list(
            obj.lines.select_related("order_line__order", "order_line__product").order_by("pk")
        )
        proposals, rules = services.resolution_proposal(obj, lines)
        data = request.POST if request.method == "POST" else None
        default = obj.requested_resolution or Resolution.REFUND
        line_forms = [
            ResolveLineForm(data, proposal=proposal, default_resolution=default)
            for proposal in proposals
        ]
        form = ResolveForm(data)
        if data is not None and all([form.is_valid(), *(f.is_valid() for f in line_forms)]):
            try:
                services.return_request_resolve(
                    return_request=obj,
                    actor=request.user,
                    lines={f.line.pk: f.decision() for f in line_forms},
                    credit_note_number=form.cleaned_data["credit_note_number"],
                    replacement_order_ref=form.cleaned_data["replacement_order_ref"],
                    note=form.cleaned_data["note"],
                )
            except ReturnInvalid as exc:
                messages.error(request, exc.message)
                _line_errors_to_forms(exc, line_forms)
                for field, errors in exc.fields.items():
                    if field in form.fields:
                        form.add_error(field, errors)
            except ApplicationError as exc:
                messages.error(request, exc.message)
                return self._change_redirect(obj)
            else:
                messages.success(
                    request, _("Return %(number)s resolved.") % {"number": obj.reference}
                )
                return self._change_redirect(obj)
        context = {
            **self._page_context(
                request, obj, _("Resolve return %(number)s") % {"number": obj.reference}
            ),
            "form": form,
            "line_forms": line_forms,
            "totals": {
                "accepted_value": sum((p.accepted_value for p in proposals), Decimal("0.00")),
                "fee": sum((p.fee for p in proposals), Decimal("0.00")),
                "amount": sum((p.amount for p in proposals), Decimal("0.00")),
            },
            "restocking_fee_percent": rules.restocking_fee_percent,
            "free_shipping_reasons": rules.free_shipping_reasons,
        }
        return TemplateResponse(request, "admin/returns/returnrequest/resolve.html", context)

    def confirm_document_view(self, request, object_id):
        """Staff type in a document of the ERP (credit note, replacement / repair order):
        the service the ERP's confirmation calls, with the same checks."""
        obj = self._acting_on(request, object_id)
        if obj.status not in CONFIRMABLE_STATUSES:
            messages.error(
                request,
                _("Return %(number)s is not resolved; its documents are recorded once it is.")
                % {"number": obj.reference},
            )
            return self._change_redirect(obj)
        data = request.POST if request.method == "POST" else None
        form = ConfirmDocumentForm(data)
        if data is not None and form.is_valid():
            try:
                _obj, recorded = services.return_request_confirm_document(
                    return_request=obj,
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    number=form.cleaned_data["number"],
                    issued_on=form.cleaned_data["issued_on"],
                    amount=form.cleaned_data["amount"],
                )
            except ReturnInvalid as exc:
                messages.error(request, exc.message)
                names = {"type": "kind", "date": "issued_on"}
                for field, errors in exc.fields.items():
                    name = names.get(field, field)
                    form.add_error(name if name in form.fields else None, errors)
            except ApplicationError as exc:
                messages.error(request, exc.message)
                return self._change_redirect(obj)
            else:
                message = (
                    _("Document %(document)s recorded on return %(number)s.")
                    if recorded
                    else _("Document %(document)s was already recorded on return %(number)s.")
                )
                messages.success(
                    request,
                    message % {"document": form.cleaned_data["number"], "number": obj.reference},
                )
                return self._change_redirect(obj)
        context = {
            **self._page_context(
                request, obj, _("Record an ERP document for %(number)s") % {"number": obj.reference}
            ),
            "form": form,
            "documents": list(obj.documents.select_related("confirmed_by")),
            "currency": obj.tenant.currency,
        }
        return TemplateResponse(
            request, "admin/returns/returnrequest/confirm_document.html", context
        )


def _line_errors_to_forms(exc: ReturnInvalid, line_forms: list[InspectionLineForm]) -> None:
    by_line = {f.line.pk: f for f in line_forms}
    for key, errors in exc.fields.items():
        match = LINE_ERROR_KEY.match(key)
        if match and int(match.group(1)) in by_line:
            line_form = by_line[int(match.group(1))]
            field = match.group(2)
            line_form.add_error(field if field in line_form.fields else None, errors)


# --- return policy ------------------------------------------------------------------------


def _may_configure(request) -> bool:
    return request.user.is_superuser or request.user.role == Role.TENANT_ADMIN


class CategoryWindowInline(TenantScopedTabularInline):
    model = CategoryWindow
    formset = CategoryWindowFormSet
    fields = ["category", "days"]
    extra = 0
    verbose_name_plural = gettext_lazy("return windows per category")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category")

    def has_add_permission(self, request, obj=None):
        return _may_configure(request) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _may_configure(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _may_configure(request) and super().has_delete_permission(request, obj)


POLICY_LIST_FIELDS = {
    "free_shipping_reasons": ReturnReason,
    "allowed_reasons": ReturnReason,
    "allowed_resolutions": Resolution,
    "auto_approve_reasons": ReturnReason,
    "warranty_reasons": ReturnReason,
    "warranty_resolutions": Resolution,
}


def _choices_display(policy: ReturnPolicy, name: str) -> str:
    values = getattr(policy, name)
    labels = dict(POLICY_LIST_FIELDS[name].choices)
    if values is None:
        if policy.customer_account_id:
            return _("As in the tenant policy")
        values = getattr(PolicyRules(), name)
        shown = ", ".join(str(label) for value, label in labels.items() if value in values)
        return _("Default: %(values)s") % {"values": shown or _("none")}
    if not values:
        return _("None")
    return ", ".join(str(labels.get(value, value)) for value in values)


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(TenantScopedAdmin):
    """Tenant admins edit the tenant's policy and per-customer overrides; other staff read."""

    form = ReturnPolicyAdminForm
    list_display = [
        "__str__",
        "default_window_days",
        "restocking_fee_percent",
        "auto_approve_enabled",
        "updated_at",
    ]
    list_select_related = ["customer_account", "tenant"]
    search_fields = ["customer_account__name", "customer_account__number"]
    ordering = [F("customer_account__name").asc(nulls_first=True)]
    filter_horizontal = [
        "non_returnable_categories",
        "non_returnable_products",
        "always_returnable_categories",
        "always_returnable_products",
        "review_categories",
        "review_products",
    ]
    inlines = [CategoryWindowInline]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                None,
                {
                    "fields": ["tenant", "customer_account", "conditions_text"],
                    "description": _(
                        "The tenant policy (no customer) applies to every customer. A customer's "
                        "override changes only what it sets: an empty field, an unset choice or "
                        "no ticked box means “as in the tenant policy”. Category windows "
                        "override per category; non-returnable goods of both add up."
                    ),
                },
            ),
            (
                _("Return window"),
                {
                    "fields": ["default_window_days"],
                    "description": _(
                        "Without a value in the tenant policy the window is 14 days. The "
                        "windows per category below override it."
                    ),
                },
            ),
            (
                _("Fees and shipping"),
                {"fields": ["restocking_fee_percent", "free_shipping_reasons"]},
            ),
            (_("Reasons and resolutions"), {"fields": ["allowed_reasons", "allowed_resolutions"]}),
            (
                _("Automatic approval"),
                {
                    "fields": [
                        "auto_approve_enabled",
                        "auto_approve_reasons",
                        "auto_approve_max_value",
                    ]
                },
            ),
            (
                _("Non-returnable goods"),
                {"fields": ["non_returnable_categories", "non_returnable_products"]},
            ),
            (
                _("Approval"),
                {
                    "fields": [
                        "approval_coordinator_from",
                        "approval_manager_from",
                        "override_approval",
                    ],
                    "description": _(
                        "Who approves a return, by the value it asks for and whether it was "
                        "filed against the policy. An agent asks them to, and they are told "
                        "by e-mail. Automatic approval keeps its own limit."
                    ),
                },
            ),
            (
                _("Lists"),
                {
                    "fields": [
                        *(["customer_listing"] if obj is None or obj.customer_account_id else []),
                        "always_returnable_categories",
                        "always_returnable_products",
                        "review_categories",
                        "review_products",
                    ],
                    "description": _(
                        "Always returnable goods are returned whatever the window and the "
                        "non-returnable lists say; always reviewed goods are never approved "
                        "automatically. A customer's override adds to the tenant's lists and "
                        "may list the customer as a whole."
                    ),
                },
            ),
            (
                _("Warranty"),
                {
                    "fields": ["warranty_months", "warranty_reasons", "warranty_resolutions"],
                    "description": _(
                        "A defect past the return window, or of goods not returnable, can be "
                        "claimed while the warranty runs: the product's months, else its "
                        "category's, else the tenant policy's; a customer's override replaces "
                        "them for its goods. Counted from delivery."
                    ),
                },
            ),
            (
                _("Sending the goods"),
                {
                    "fields": ["ship_reminder_days", "ship_within_days"],
                    "description": _(
                        "Without values in the tenant policy the customer is reminded after 7 "
                        "days and the return expires after 30 days; each counts from approval."
                    ),
                },
            ),
            (
                _("Clocks"),
                {
                    "fields": ["decision_hours", "refund_days"],
                    "description": _(
                        "In the working hours of the support calendar. Without values in the "
                        "tenant policy a return is decided within 16 business hours of "
                        "submission and resolved within 7 working days of the goods' arrival; "
                        "the assignee is told when 80 per cent of the time is used, the "
                        "coordinators when it has run out."
                    ),
                },
            ),
        ]
        if obj is not None and not self.has_change_permission(request, obj):
            # Readers see labels instead of the stored JSON lists.
            for _title, options in fieldsets:
                options["fields"] = [
                    f"{name}_display" if name in POLICY_LIST_FIELDS else name
                    for name in options["fields"]
                ]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # A policy stays with its customer (or stays the tenant's).
        return ["customer_account"] if obj is not None else []

    def has_add_permission(self, request):
        return _may_configure(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return _may_configure(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _may_configure(request) and super().has_delete_permission(request, obj)

    @admin.display(description=gettext_lazy("reasons with free return shipping"))
    def free_shipping_reasons_display(self, obj: ReturnPolicy) -> str:
        return _choices_display(obj, "free_shipping_reasons")

    @admin.display(description=gettext_lazy("allowed reasons"))
    def allowed_reasons_display(self, obj: ReturnPolicy) -> str:
        return _choices_display(obj, "allowed_reasons")

    @admin.display(description=gettext_lazy("allowed resolutions"))
    def allowed_resolutions_display(self, obj: ReturnPolicy) -> str:
        return _choices_display(obj, "allowed_resolutions")

    @admin.display(description=gettext_lazy("auto-approve reasons"))
    def auto_approve_reasons_display(self, obj: ReturnPolicy) -> str:
        return _choices_display(obj, "auto_approve_reasons")

    @admin.display(description=gettext_lazy("warranty claim reasons"))
    def warranty_reasons_display(self, obj: ReturnPolicy) -> str:
        return _choices_display(obj, "warranty_reasons")

    @admin.display(description=gettext_lazy("warranty claim resolutions"))
    def warranty_resolutions_display(self, obj: ReturnPolicy) -> str:
        return _choices_display(obj, "warranty_resolutions")

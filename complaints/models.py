"""Complaints ("reklamacje"): tickets with SLA clocks and stages, their thread, timeline and
rating, plus the tenant's SLA policies, stages, support calendar and canned responses."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from customers.cases import CaseChannel
from rma_portal import cadence
from rma_portal.cadence import CustomerUpdateCadence
from rma_portal.concurrency import VersionedModel
from rma_portal.files.models import StoredUpload
from rma_portal.surveys import CSAT_MAX, CSAT_MIN, NPS_MAX, NPS_MIN, SurveyChannel, nps_constraint
from rma_portal.tenancy.models import TenantOwnedModel
from rma_portal.tenancy.timeline import TimelineEvent


class ComplaintStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("complaint status", "New")  # filed, nobody has taken it yet
    OPEN = "open", pgettext_lazy("complaint status", "Open")  # assigned to an agent
    IN_PROGRESS = "in_progress", pgettext_lazy("complaint status", "In progress")  # being worked on
    AWAITING_CUSTOMER = (
        "awaiting_customer",
        pgettext_lazy("complaint status", "Awaiting customer"),
    )  # SLA paused
    RESOLVED = (
        "resolved",
        pgettext_lazy("complaint status", "Resolved"),
    )  # answered; the customer may reopen or rate
    CLOSED = "closed", pgettext_lazy("complaint status", "Closed")  # finished
    REJECTED = "rejected", pgettext_lazy("complaint status", "Rejected")  # unfounded, with a reason


OPEN_COMPLAINT_STATUSES = frozenset(
    {
        ComplaintStatus.NEW,
        ComplaintStatus.OPEN,
        ComplaintStatus.IN_PROGRESS,
        ComplaintStatus.AWAITING_CUSTOMER,
    }
)
# The customer-update cadence runs while the next move is the merchant's (rma_portal/cadence.py).
UPDATE_CADENCE_STATUSES = (ComplaintStatus.NEW, ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)


class ComplaintCategory(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    DELIVERY = "delivery", _("Delivery")
    SERVICE = "service", _("Service")
    BILLING = "billing", _("Billing")
    OTHER = "other", pgettext_lazy("complaint category", "Other")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


def priority_change_note(before: str, after: str) -> str:
    """The note of a `priority_changed` timeline event: the values, "normal → urgent" (stored
    once for every reader, and as integrations read it in the event)."""
    return f"{before} → {after}"


def priority_change_text(note: str) -> str:
    """A `priority_changed` event's note in the reader's language ("Normal → Urgent")."""
    before, arrow, after = note.partition(" → ")
    labels = dict(Priority.choices)
    if not arrow or before not in labels or after not in labels:
        return note
    return f"{labels[before]} → {labels[after]}"


def monday_to_friday() -> list[int]:
    return [0, 1, 2, 3, 4]


class SupportSettings(TenantOwnedModel):
    """The tenant's support calendar (in the tenant's time zone) and case time limits."""

    day_start = models.TimeField(_("working day starts"), default=datetime.time(8, 0))
    day_end = models.TimeField(_("working day ends"), default=datetime.time(16, 0))
    working_weekdays = models.JSONField(
        _("working weekdays"),
        default=monday_to_friday,
        help_text=_("Numbers of the working weekdays, Monday = 0."),
    )
    reopen_window_days = models.PositiveIntegerField(
        _("customers may reopen within (days)"), default=14
    )
    auto_close_days = models.PositiveIntegerField(
        _("resolved cases close after (days)"), default=14
    )
    # The customer-update cadence of returns and complaints (rma_portal/cadence.py).
    update_cadence_hours = models.PositiveIntegerField(
        _("customers hear from us at least every (hours)"),
        default=cadence.DEFAULT_HOURS,
        validators=[MaxValueValidator(cadence.MAX_HOURS)],
        help_text=_(
            "While the next move on a return or complaint is ours, an open case whose "
            "customer heard nothing from us for this long is flagged to its assignee. 0 turns "
            "the cadence off."
        ),
    )
    status_update_emails = models.BooleanField(
        _("e-mail the customer a status update when the cadence lapses"),
        default=False,
        help_text=_(
            "The customer gets an automatic e-mail with the case's status and next step; the "
            "assignee is still told."
        ),
    )

    class Meta:
        verbose_name = _("support settings")
        verbose_name_plural = _("support settings")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="support_settings_one_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(day_end__gt=models.F("day_start")),
                name="support_day_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Support settings of %(tenant)s") % {"tenant": self.tenant})


class Holiday(TenantOwnedModel):
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "date"], name="holiday_unique_date"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaPolicy(TenantOwnedModel):
    """Targets in business hours per priority; a customer's contract may override them."""

    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    customer_account = models.ForeignKey(
        "customers.CustomerAccount",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_policies",
        verbose_name=_("customer account"),
        help_text=_("Empty for the tenant's targets; set for a customer's contract."),
    )
    first_response_hours = models.DecimalField(
        _("first response within (business hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    resolution_hours = models.DecimalField(
        _("resolution within (business hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["customer_account", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "priority"],
                condition=models.Q(customer_account__isnull=True),
                name="sla_policy_default_unique",
            ),
            models.UniqueConstraint(
                fields=["tenant", "customer_account", "priority"], name="sla_policy_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(resolution_hours__gte=models.F("first_response_hours")),
                name="sla_resolution_after_first_response",
            ),
        ]

    def __str__(self) -> str:
        hours = f"{self.first_response_hours}h / {self.resolution_hours}h"
        return f"{self.get_priority_display()}: {hours}"


# The statuses a stage may cover: a closed or rejected complaint is finished and has no stage.
STAGE_STATUSES = (
    ComplaintStatus.NEW,
    ComplaintStatus.OPEN,
    ComplaintStatus.IN_PROGRESS,
    ComplaintStatus.AWAITING_CUSTOMER,
    ComplaintStatus.RESOLVED,
)


def stage_status_errors(statuses) -> list[str]:
    """What is wrong with a stage's list of statuses (empty: nothing)."""
    if not isinstance(statuses, list | tuple) or not statuses:
        return [str(_("Choose at least one complaint status the stage covers."))]
    errors = []
    for value in statuses:
        if value not in STAGE_STATUSES:
            errors.append(
                str(
                    _(
                        "“%(status)s” is not a complaint status a stage can cover; choose among "
                        "%(choices)s."
                    )
                )
                % {"status": value, "choices": ", ".join(STAGE_STATUSES)}
            )
    if len(set(statuses)) != len(statuses):
        errors.append(str(_("Each status may be named once.")))
    return errors


def validate_stage_statuses(value) -> None:
    errors = stage_status_errors(value)
    if errors:
        raise ValidationError(errors)


class ComplaintStage(TenantOwnedModel):
    """A step of the tenant's complaint procedure with its own time limit in working days.

    A stage covers complaint statuses: a complaint enters the active stage covering its
    status (complaints/services/complaints.py); each active status belongs to at most one
    active stage. One working day is the length of the support calendar's working day
    (SupportSettings), counted in business time (docs/complaint-stages.md).
    """

    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("Stages are listed in this order.")
    )
    key = models.SlugField(
        _("key"),
        max_length=30,
        help_text=_("A short name for reports and filters, e.g. “analysis”; unique per tenant."),
    )
    name = models.CharField(_("name"), max_length=100)
    limit_days = models.DecimalField(
        _("limit (working days)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "Working days of the support calendar; fractions are allowed (0.5 is half a "
            "working day)."
        ),
    )
    statuses = models.JSONField(
        _("complaint statuses"),
        default=list,
        validators=[validate_stage_statuses],
        help_text=_("The complaint statuses the stage covers."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Inactive stages are entered by no complaint; their history stays."),
    )

    class Meta:
        verbose_name = _("complaint stage")
        verbose_name_plural = _("complaint stages")
        ordering = ["position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="complaint_stage_key_unique"),
            models.CheckConstraint(
                condition=models.Q(limit_days__gt=0), name="complaint_stage_limit_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def covers(self, status: str) -> bool:
        return self.is_active and status in (self.statuses or ())


class Complaint(ConcurrentTransitionMixin, TenantOwnedModel, VersionedModel, CustomerUpdateCadence):
    code = models.CharField(_("complaint number"), max_length=32)
    customer_account = models.ForeignKey(
        "customers.CustomerAccount",
        on_delete=models.PROTECT,
        related_name="complaints",
        verbose_name=_("customer account"),
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="complaints",
        verbose_name=_("reported by"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_complaints",
        verbose_name=_("assigned to"),
    )
    # How the complaint reached us: the portal for customers, what staff chose when they filed
    # it for a customer (phone, e-mail, ...), the API for integrations' keys.
    channel = models.CharField(
        _("channel"), max_length=20, choices=CaseChannel.choices, default=CaseChannel.PORTAL
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("filed by staff"),
        help_text=_(
            "The staff member who filed the complaint for the customer; empty when the "
            "customer filed it."
        ),
    )
    category = models.CharField(_("category"), max_length=20, choices=ComplaintCategory.choices)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    order = models.ForeignKey(
        "customers.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("order"),
    )
    order_line = models.ForeignKey(
        "customers.OrderLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("order line"),
    )
    product = models.ForeignKey(
        "customers.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("product"),
    )
    return_request = models.ForeignKey(
        "returns.ReturnRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("linked return"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"))
    status = FSMField(
        _("status"), default=ComplaintStatus.NEW, choices=ComplaintStatus.choices, protected=True
    )
    resolution = models.TextField(pgettext_lazy("complaint", "resolution"), blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    created_at = models.DateTimeField(_("filed"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    first_response_due_at = models.DateTimeField(_("first response due"))
    resolution_due_at = models.DateTimeField(_("resolution due"))
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    # When each running clock turns "at risk" (sla.AT_RISK_SHARE of its business time used).
    # The services keep them with the due times, so queues find at-risk cases in SQL.
    first_response_at_risk_at = models.DateTimeField(
        _("first response at risk from"), null=True, blank=True, editable=False
    )
    resolution_at_risk_at = models.DateTimeField(
        _("resolution at risk from"), null=True, blank=True, editable=False
    )
    sla_paused_at = models.DateTimeField(_("SLA paused since"), null=True, blank=True)
    # Business time the running clocks spent paused (their due times were pushed by it).
    sla_paused_seconds = models.PositiveIntegerField(
        _("business seconds paused"), default=0, editable=False
    )
    # A reopened complaint gets a fresh resolution clock; empty: it runs from created_at.
    resolution_started_at = models.DateTimeField(
        _("resolution clock started"), null=True, blank=True, editable=False
    )
    resolved_at = models.DateTimeField(
        pgettext_lazy("complaint", "resolved"), null=True, blank=True
    )
    closed_at = models.DateTimeField(pgettext_lazy("complaint", "closed"), null=True, blank=True)
    reopen_count = models.PositiveIntegerField(_("times reopened"), default=0)
    # Thresholds already announced by the SLA watch, so each is announced once.
    sla_warned = models.JSONField(_("SLA notices sent"), default=list, blank=True, editable=False)
    # The current stage (ComplaintStage) and its clock, as in its open ComplaintStageVisit;
    # kept by the services with the status, so lists and queues read them in SQL.
    stage = models.ForeignKey(
        ComplaintStage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("stage"),
        editable=False,
    )
    stage_started_at = models.DateTimeField(
        _("stage entered"), null=True, blank=True, editable=False
    )
    stage_due_at = models.DateTimeField(_("stage due"), null=True, blank=True, editable=False)
    stage_at_risk_at = models.DateTimeField(
        _("stage at risk from"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="complaint_code_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="complaint_queue_idx"),
            models.Index(
                fields=["tenant", "customer_account", "-created_at"],
                name="complaint_customer_idx",
            ),
            models.Index(fields=["tenant", "assignee", "status"], name="complaint_assignee_idx"),
            models.Index(fields=["tenant", "resolution_due_at"], name="complaint_due_idx"),
            models.Index(
                fields=["tenant", "first_response_at_risk_at"], name="complaint_fr_risk_idx"
            ),
            models.Index(fields=["tenant", "resolution_at_risk_at"], name="complaint_res_risk_idx"),
            # The KPI rollups read a day's complaints by each timestamp that counts.
            models.Index(fields=["tenant", "created_at"], name="complaint_created_idx"),
            models.Index(fields=["tenant", "first_responded_at"], name="complaint_responded_idx"),
            models.Index(fields=["tenant", "resolved_at"], name="complaint_resolved_idx"),
            models.Index(fields=["tenant", "stage_due_at"], name="complaint_stage_due_idx"),
            models.Index(fields=["tenant", "stage_at_risk_at"], name="complaint_stage_risk_idx"),
            # The SLA watch and the "update owed" queue: complaints owing the customer an update.
            models.Index(
                fields=["tenant", "update_due_at"],
                name="complaint_update_due_idx",
                condition=models.Q(update_due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    # Transitions only change this row; services lock, check roles, write events.

    @transition(status, source=ComplaintStatus.NEW, target=ComplaintStatus.OPEN)
    def assign(self, *, assignee) -> None:
        self.assignee = assignee

    @transition(status, source=ComplaintStatus.OPEN, target=ComplaintStatus.IN_PROGRESS)
    def start(self) -> None:
        pass

    @transition(
        status, source=ComplaintStatus.IN_PROGRESS, target=ComplaintStatus.AWAITING_CUSTOMER
    )
    def wait_for_customer(self, *, at: datetime.datetime) -> None:
        self.sla_paused_at = at

    @transition(
        status, source=ComplaintStatus.AWAITING_CUSTOMER, target=ComplaintStatus.IN_PROGRESS
    )
    def customer_reply(
        self, *, first_response_due_at, resolution_due_at, paused_seconds: int
    ) -> None:
        self.sla_paused_at = None
        self.sla_paused_seconds += paused_seconds
        self.first_response_due_at = first_response_due_at
        self.resolution_due_at = resolution_due_at

    @transition(
        status,
        source=[ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS],
        target=ComplaintStatus.RESOLVED,
    )
    def resolve(self, *, resolution: str, at: datetime.datetime) -> None:
        self.resolution = resolution
        self.resolved_at = at

    @transition(status, source=ComplaintStatus.RESOLVED, target=ComplaintStatus.IN_PROGRESS)
    def reopen(self, *, resolution_due_at, at: datetime.datetime | None = None) -> None:
        self.resolved_at = None
        self.resolution = ""  # the old answer stays in the timeline's "resolved" event
        self.reopen_count += 1
        self.resolution_due_at = resolution_due_at
        # The resolution clock starts again: earlier pauses and notices were about the old
        # one. The first-response clock stopped when the complaint was resolved.
        self.resolution_started_at = at or timezone.now()
        self.sla_paused_seconds = 0
        self.sla_warned = []

    @transition(status, source=ComplaintStatus.RESOLVED, target=ComplaintStatus.CLOSED)
    def close(self, *, at: datetime.datetime) -> None:
        self.closed_at = at

    @transition(
        status,
        source=[ComplaintStatus.NEW, ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS],
        target=ComplaintStatus.REJECTED,
    )
    def reject(self, *, reason: str, at: datetime.datetime) -> None:
        self.rejection_reason = reason
        self.closed_at = at


class ComplaintMessage(TenantOwnedModel):
    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="messages", verbose_name=_("complaint")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("message"))
    is_internal = models.BooleanField(
        _("internal note"), default=False, help_text=_("Internal notes never reach the customer.")
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["tenant", "complaint", "created_at"], name="complaint_message_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.body[:40]}"


def complaint_attachment_upload_to(instance, filename: str) -> str:
    from rma_portal.tenancy.storage import tenant_media_path

    return tenant_media_path(instance.tenant_id, "complaints", filename)


class ComplaintAttachment(StoredUpload):
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        ComplaintMessage,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        help_text=_("Files of an internal note are internal too."),
    )
    file = models.FileField(_("file"), upload_to=complaint_attachment_upload_to, max_length=255)

    class Meta(StoredUpload.Meta):
        indexes = [
            models.Index(fields=["tenant", "complaint"], name="complaint_attachment_idx"),
        ]


class ComplaintEvent(TimelineEvent):
    """One row of a complaint's timeline: every state change, assignment and SLA notice."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")

    class Meta(TimelineEvent.Meta):
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")
        indexes = [
            models.Index(fields=["tenant", "complaint", "created_at"], name="complaint_event_idx"),
        ]


class StageOutcome(models.TextChoices):
    MET = "met", _("Met")  # left by its due moment
    MISSED = "missed", _("Missed")  # left after its due moment


class ComplaintStageVisit(TenantOwnedModel):
    """One stay of a complaint in a stage: entered, due, paused, left, met or missed.

    The history the stage figures are computed from; the open visit (not left) is the
    complaint's current stage, mirrored on Complaint.stage*. Times are business time of the
    tenant's calendar; `paused_seconds` is business time spent waiting for the customer,
    which pushed `due_at` on (docs/complaint-stages.md).
    """

    complaint = models.ForeignKey(
        Complaint,
        on_delete=models.CASCADE,
        related_name="stage_visits",
        verbose_name=_("complaint"),
    )
    stage = models.ForeignKey(
        ComplaintStage, on_delete=models.PROTECT, related_name="visits", verbose_name=_("stage")
    )
    limit_days = models.DecimalField(
        _("limit (working days)"),
        max_digits=5,
        decimal_places=2,
        help_text=_("The stage's limit when the complaint entered it."),
    )
    started_at = models.DateTimeField(_("entered"))
    due_at = models.DateTimeField(_("due"))
    at_risk_at = models.DateTimeField(_("at risk from"))
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("business seconds paused"), default=0)
    left_at = models.DateTimeField(_("left"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=StageOutcome.choices, blank=True
    )
    # When the SLA watch announced each threshold: each is announced once per visit.
    at_risk_notified_at = models.DateTimeField(_("at-risk notice sent"), null=True, blank=True)
    breach_notified_at = models.DateTimeField(_("breach notice sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint stage visit")
        verbose_name_plural = _("complaint stage visits")
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["complaint"],
                condition=models.Q(left_at__isnull=True),
                name="stage_visit_one_open_per_complaint",
            ),
            models.CheckConstraint(
                condition=models.Q(left_at__isnull=True)
                | models.Q(left_at__gte=models.F("started_at")),
                name="stage_visit_left_after_entered",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "complaint", "started_at"], name="stage_visit_case_idx"),
            # Figures per stage and period: visits left (met or missed) in a period.
            models.Index(fields=["tenant", "stage", "left_at"], name="stage_visit_left_idx"),
            models.Index(fields=["tenant", "stage", "started_at"], name="stage_visit_started_idx"),
            # The SLA watch reads open visits by their moments.
            models.Index(
                fields=["tenant", "due_at"],
                condition=models.Q(left_at__isnull=True),
                name="stage_visit_open_due_idx",
            ),
            models.Index(
                fields=["tenant", "at_risk_at"],
                condition=models.Q(left_at__isnull=True),
                name="stage_visit_open_risk_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.stage_id} from {self.started_at:%Y-%m-%d %H:%M}"


class SatisfactionRating(TenantOwnedModel):
    complaint = models.OneToOneField(
        Complaint, on_delete=models.CASCADE, related_name="rating", verbose_name=_("complaint")
    )
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(CSAT_MIN), MaxValueValidator(CSAT_MAX)]
    )
    # The survey's optional "would you recommend us" (docs/feedback.md).
    nps = models.PositiveSmallIntegerField(
        _("would recommend us (0–10)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(NPS_MIN), MaxValueValidator(NPS_MAX)],
    )
    comment = models.TextField(_("comment"), blank=True)
    # The portal, also through its API with the customer's own token (as CaseChannel).
    channel = models.CharField(
        _("answered through"),
        max_length=10,
        choices=SurveyChannel.choices,
        default=SurveyChannel.PORTAL,
    )
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("rated"), auto_now_add=True)

    class Meta:
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")
        indexes = [models.Index(fields=["tenant", "created_at"], name="rating_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1) & models.Q(score__lte=5),
                name="rating_score_1_to_5",
            ),
            nps_constraint("rating_nps_0_to_10"),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.score}"

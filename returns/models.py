"""Return requests (RMA), their lines, timeline, attachments, and the return policy."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from customers.cases import CaseChannel
from rma_portal.cadence import CustomerUpdateCadence
from rma_portal.concurrency import VersionedModel
from rma_portal.files.models import StoredUpload
from rma_portal.sla import (
    BusinessCalendar,
    SlaState,
    add_business_time,
    at_risk_moment,
    business_seconds_between,
    resumed_due_at,
    state_at,
    working_days_due_at,
)
from rma_portal.tenancy.models import TenantOwnedModel
from rma_portal.tenancy.timeline import TimelineEvent

from .policies import (
    LEVEL_COORDINATOR,
    LEVEL_MANAGER,
    LISTING_ALLOW,
    LISTING_REFUSE,
    LISTING_REVIEW,
    MAX_DECISION_HOURS,
    MAX_REFUND_DAYS,
    MAX_SHIP_DAYS,
    PolicyRules,
)

MONEY = {"max_digits": 12, "decimal_places": 2}


class ReturnStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")  # being filled in by the customer
    SUBMITTED = "submitted", _("Submitted")  # waiting for a decision
    # an agent recommends approval; its value or an override needs a coordinator or manager
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    NEEDS_INFO = "needs_info", _("Needs information")  # staff asked the customer a question
    APPROVED = "approved", _("Approved")  # goods may be sent back
    REJECTED = "rejected", _("Rejected")  # refused, with a reason
    CANCELLED = "cancelled", _("Cancelled")  # withdrawn before the goods arrived
    RECEIVED = "received", _("Received")  # goods arrived at the warehouse
    INSPECTED = "inspected", _("Inspected")  # each line has a condition and a disposition
    RESOLVED = "resolved", _("Resolved")  # refund / credit note / replacement / repair decided
    CLOSED = "closed", _("Closed")  # finished, nothing more happens
    EXPIRED = "expired", _("Expired")  # approved, but the goods were not sent in time


# Returns whose lines hold on to delivered quantity (see selectors.claimed_quantities).
CLAIMING_STATUSES = frozenset(
    {
        ReturnStatus.SUBMITTED,
        ReturnStatus.AWAITING_APPROVAL,
        ReturnStatus.NEEDS_INFO,
        ReturnStatus.APPROVED,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
        ReturnStatus.RESOLVED,
        ReturnStatus.CLOSED,
    }
)
OPEN_STATUSES = frozenset(
    {
        ReturnStatus.SUBMITTED,
        ReturnStatus.AWAITING_APPROVAL,
        ReturnStatus.NEEDS_INFO,
        ReturnStatus.APPROVED,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
    }
)


# The decision clock runs in these statuses (unless paused) and is paused in the next ones;
# the refund clock runs in REFUND_CLOCK_STATUSES (docs/returns-rules.md#clocks-of-returns).
DECISION_RUNNING_STATUSES = (ReturnStatus.SUBMITTED, ReturnStatus.AWAITING_APPROVAL)
DECISION_CLOCK_STATUSES = (*DECISION_RUNNING_STATUSES, ReturnStatus.NEEDS_INFO, ReturnStatus.DRAFT)
REFUND_CLOCK_STATUSES = (ReturnStatus.RECEIVED, ReturnStatus.INSPECTED)
# The customer-update cadence runs while the next move is the merchant's (rma_portal/cadence.py).
UPDATE_CADENCE_STATUSES = (*DECISION_RUNNING_STATUSES, *REFUND_CLOCK_STATUSES)


class ReturnReason(models.TextChoices):
    DAMAGED_IN_TRANSPORT = "damaged_in_transport", _("Damaged in transport")
    DEFECTIVE = "defective", _("Defective / quality issue")
    WRONG_ITEM = "wrong_item", _("Wrong item shipped")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    WRONG_SIZE = "wrong_size", _("Wrong size or dimensions")
    ORDERED_BY_MISTAKE = "ordered_by_mistake", _("Ordered by mistake")
    LATE_DELIVERY = "late_delivery", _("Late delivery")
    OTHER = "other", _("Other")


class Resolution(models.TextChoices):
    REFUND = "refund", _("Refund")
    CREDIT_NOTE = "credit_note", _("Credit note")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")


class ReturnResolution(models.TextChoices):
    """The resolution of a whole return: the one every line has, or "per line" when the lines
    were resolved differently (each line says how, `ReturnLine.resolution`)."""

    REFUND = "refund", _("Refund")
    CREDIT_NOTE = "credit_note", _("Credit note")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")
    MIXED = "mixed", _("Per line (mixed)")


# Resolutions that pay money back (a line's amount); replacement and repair pay nothing.
MONEY_RESOLUTIONS = frozenset({Resolution.REFUND, Resolution.CREDIT_NOTE})
# Resolutions the ERP answers with an order (a replacement order, a repair order).
ORDER_RESOLUTIONS = frozenset({Resolution.REPLACEMENT, Resolution.REPAIR})


class DocumentKind(models.TextChoices):
    """The ERP's documents that carry out a resolution."""

    CREDIT_NOTE = "credit_note", _("Credit note")
    REPLACEMENT_ORDER = "replacement_order", _("Replacement / repair order")


class ReturnMethod(models.TextChoices):
    COURIER_PICKUP = "courier_pickup", _("Courier pickup")
    DROP_OFF = "drop_off", _("Drop-off point")
    SELF_PRINTED_LABEL = "self_printed_label", _("Self-printed label")


class ItemCondition(models.TextChoices):
    UNOPENED = "unopened", _("Unopened")
    OPENED = "opened", _("Opened")
    USED = "used", _("Used")
    DAMAGED = "damaged", _("Damaged")


class Disposition(models.TextChoices):
    RESTOCK = "restock", _("Restock")
    REFURBISH = "refurbish", _("Refurbish")
    SCRAP = "scrap", _("Scrap")
    RETURN_TO_SUPPLIER = "return_to_supplier", _("Return to supplier")


class ShippingPaidBy(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    MERCHANT = "merchant", _("Merchant")


# Ten years: a longer window is a mistake, and would carry the return deadline past the
# calendar's range.
MAX_WINDOW_DAYS = 3650


class ApprovalLevel(models.TextChoices):
    """Who must approve a return (PolicyRules.approval_level); empty: any agent."""

    COORDINATOR = LEVEL_COORDINATOR, _("a coordinator")
    MANAGER = LEVEL_MANAGER, _("a manager")


class CustomerListing(models.TextChoices):
    """How a customer's contract lists the customer for returns."""

    ALLOW = LISTING_ALLOW, _("Always returnable: windows and non-returnable lists do not apply")
    REVIEW = LISTING_REVIEW, _("Always reviewed: never approved automatically")
    REFUSE = LISTING_REFUSE, _("Refused: returns only through our staff")


class ReturnPolicy(TenantOwnedModel):
    """The tenant's return rules (customer_account empty) or one customer's contract override.

    In an override, an empty field means "as in the tenant's policy".
    """

    customer_account = models.OneToOneField(
        "customers.CustomerAccount",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="return_policy",
        verbose_name=_("customer account"),
        help_text=_("Empty for the tenant's policy; set for a customer's contract override."),
    )
    default_window_days = models.PositiveIntegerField(
        _("return window (days)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_WINDOW_DAYS)],
        help_text=_("Days after delivery, for categories without their own window."),
    )
    conditions_text = models.TextField(_("conditions shown to customers"), blank=True)
    restocking_fee_percent = models.DecimalField(
        _("restocking fee %"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    free_shipping_reasons = models.JSONField(
        _("reasons with free return shipping"), null=True, blank=True
    )
    allowed_reasons = models.JSONField(_("allowed reasons"), null=True, blank=True)
    allowed_resolutions = models.JSONField(_("allowed resolutions"), null=True, blank=True)
    auto_approve_enabled = models.BooleanField(_("auto-approve"), null=True, blank=True)
    auto_approve_reasons = models.JSONField(_("auto-approve reasons"), null=True, blank=True)
    auto_approve_max_value = models.DecimalField(
        _("auto-approve up to value"), **MONEY, null=True, blank=True
    )
    ship_reminder_days = models.PositiveSmallIntegerField(
        _("remind to send the goods after (days)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_SHIP_DAYS)],
        help_text=_(
            "Days after approval; the customer is reminded once if the goods have not "
            "arrived. 0: no reminder."
        ),
    )
    ship_within_days = models.PositiveSmallIntegerField(
        _("goods to arrive within (days)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_SHIP_DAYS)],
        help_text=_(
            "Days after approval; a return whose goods have not arrived by then expires and "
            "its quantities can be returned again. 0: never expires."
        ),
    )
    decision_hours = models.PositiveSmallIntegerField(
        _("decide within (business hours)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_DECISION_HOURS)],
        help_text=_(
            "Business hours of the support calendar from submission to approval or rejection; "
            "waiting for the customer's answer does not count. 0: no clock."
        ),
    )
    refund_days = models.PositiveSmallIntegerField(
        _("resolve within (working days)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_REFUND_DAYS)],
        help_text=_(
            "Working days of the support calendar from the goods' arrival to the refund, "
            "credit note, replacement or repair. 0: no clock."
        ),
    )
    non_returnable_categories = models.ManyToManyField(
        "customers.ProductCategory",
        blank=True,
        related_name="+",
        verbose_name=_("non-returnable categories"),
    )
    non_returnable_products = models.ManyToManyField(
        "customers.Product",
        blank=True,
        related_name="+",
        verbose_name=_("non-returnable products"),
    )
    approval_coordinator_from = models.DecimalField(
        _("coordinator approves from"),
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "Returns asking for at least this value are approved by a coordinator, a manager "
            "or a tenant admin; an agent asks them to. Empty: no such limit."
        ),
    )
    approval_manager_from = models.DecimalField(
        _("manager approves from"),
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "Returns asking for at least this value are approved by a manager or a tenant "
            "admin. Empty: no such limit."
        ),
    )
    override_approval = models.CharField(
        _("returns filed with a policy override are approved by"),
        max_length=12,
        choices=ApprovalLevel.choices,
        blank=True,
        help_text=_("Empty: any agent, like other returns."),
    )
    warranty_months = models.PositiveSmallIntegerField(
        _("warranty (months)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(120)],
        help_text=_(
            "In the tenant policy: the warranty of goods whose product and category give none. "
            "In a customer's override: the warranty of all the customer's goods. Counted from "
            "delivery; empty: none of its own."
        ),
    )
    warranty_reasons = models.JSONField(_("warranty claim reasons"), null=True, blank=True)
    warranty_resolutions = models.JSONField(_("warranty claim resolutions"), null=True, blank=True)
    always_returnable_categories = models.ManyToManyField(
        "customers.ProductCategory",
        blank=True,
        related_name="+",
        verbose_name=_("always returnable categories"),
        help_text=_(
            "Returned whatever the return window and the non-returnable lists say; only the "
            "quantity delivered still limits."
        ),
    )
    always_returnable_products = models.ManyToManyField(
        "customers.Product",
        blank=True,
        related_name="+",
        verbose_name=_("always returnable products"),
    )
    review_categories = models.ManyToManyField(
        "customers.ProductCategory",
        blank=True,
        related_name="+",
        verbose_name=_("always reviewed categories"),
        help_text=_("A return with such goods is never approved automatically."),
    )
    review_products = models.ManyToManyField(
        "customers.Product",
        blank=True,
        related_name="+",
        verbose_name=_("always reviewed products"),
    )
    customer_listing = models.CharField(
        _("customer listed as"),
        max_length=10,
        choices=CustomerListing.choices,
        blank=True,
        help_text=_("On a customer's override only; empty: as the lists above say."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("return policy")
        verbose_name_plural = _("return policies")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(customer_account__isnull=True),
                name="return_policy_one_default_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["tenant", "customer_account"], name="return_policy_customer_unique"
            ),
        ]

    def __str__(self) -> str:
        if self.customer_account_id:
            return str(_("Return policy for %(customer)s") % {"customer": self.customer_account})
        return str(_("Return policy of %(tenant)s") % {"tenant": self.tenant})

    def clean(self) -> None:
        super().clean()
        if self.customer_listing and self.customer_account_id is None:
            raise ValidationError(
                {"customer_listing": _("Only a customer's override lists the customer.")}
            )
        coordinator, manager = self.approval_coordinator_from, self.approval_manager_from
        if coordinator is not None and manager is not None and manager < coordinator:
            raise ValidationError(
                {
                    "approval_manager_from": _(
                        "A manager's limit cannot be below a coordinator's: returns between "
                        "the two would skip the coordinator."
                    )
                }
            )
        remind, within = self.ship_reminder_days, self.ship_within_days
        if remind and within and remind >= within:
            raise ValidationError(
                {
                    "ship_reminder_days": _(
                        "The reminder must come before the goods are due: give fewer days "
                        "than for the goods to arrive."
                    )
                }
            )


class CategoryWindow(TenantOwnedModel):
    policy = models.ForeignKey(
        ReturnPolicy, on_delete=models.CASCADE, related_name="category_windows"
    )
    category = models.ForeignKey(
        "customers.ProductCategory", on_delete=models.CASCADE, verbose_name=_("category")
    )
    days = models.PositiveIntegerField(_("days"), validators=[MaxValueValidator(MAX_WINDOW_DAYS)])

    class Meta:
        verbose_name = _("category window")
        verbose_name_plural = _("category windows")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "policy", "category"], name="category_window_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.days}"


def return_label_upload_to(instance, filename: str) -> str:
    from rma_portal.tenancy.storage import tenant_media_path

    return tenant_media_path(instance.tenant_id, "labels", "label.pdf")


class ReturnRequest(
    ConcurrentTransitionMixin, TenantOwnedModel, VersionedModel, CustomerUpdateCadence
):
    # Given on submission (services.transitions): a draft never submitted has none, so drafts
    # given up consume no number. `reference` names a return either way.
    number = models.CharField(_("RMA number"), max_length=32, blank=True)
    customer_account = models.ForeignKey(
        "customers.CustomerAccount",
        on_delete=models.PROTECT,
        related_name="return_requests",
        verbose_name=_("customer account"),
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="return_requests",
        verbose_name=_("requested by"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_returns",
        verbose_name=_("assigned to"),
    )
    status = FSMField(
        _("status"), default=ReturnStatus.DRAFT, choices=ReturnStatus.choices, protected=True
    )
    # How the return reached us: the portal for customers, what staff chose when they filed it
    # for a customer (phone, e-mail, ...), the API for integrations' keys.
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
            "The staff member who filed the return for the customer; empty when the "
            "customer filed it."
        ),
    )
    requested_resolution = models.CharField(
        _("requested resolution"), max_length=20, choices=Resolution.choices, blank=True
    )
    return_method = models.CharField(
        _("return method"), max_length=20, choices=ReturnMethod.choices, blank=True
    )
    pickup_date = models.DateField(_("pickup date"), null=True, blank=True)
    pickup_address = models.TextField(_("pickup address"), blank=True)
    customer_note = models.TextField(_("note from the customer"), blank=True)
    policy_snapshot = models.JSONField(_("policy applied"), null=True, blank=True, editable=False)
    auto_approved = models.BooleanField(_("approved automatically"), default=False)
    # A return whose line is a defect past the return window while the warranty runs.
    is_warranty_claim = models.BooleanField(_("warranty claim"), default=False)
    shipping_paid_by = models.CharField(
        _("return shipping paid by"), max_length=10, choices=ShippingPaidBy.choices, blank=True
    )
    requested_value = models.DecimalField(_("requested value"), **MONEY, default=Decimal("0"))
    accepted_value = models.DecimalField(_("accepted value"), **MONEY, null=True, blank=True)
    restocking_fee = models.DecimalField(_("restocking fee"), **MONEY, null=True, blank=True)
    # All the money the return pays back: its refund lines and its credit-note lines.
    refund_total = models.DecimalField(_("refund / credit total"), **MONEY, null=True, blank=True)
    # The part of refund_total on credit-note lines.
    credit_note_total = models.DecimalField(
        _("of which by credit note"), **MONEY, null=True, blank=True
    )
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=ReturnResolution.choices, blank=True
    )
    credit_note_number = models.CharField(_("credit note number"), max_length=40, blank=True)
    replacement_order_ref = models.CharField(
        _("replacement / repair order"), max_length=40, blank=True
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    info_request = models.TextField(_("open question to the customer"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("approved by"),
        help_text=_("Empty when the return policy approved it automatically."),
    )
    # Who must approve, set on submission from the policy applied (PolicyRules.approval_level):
    # empty: any agent.
    approval_level = models.CharField(
        _("approval needed from"),
        max_length=12,
        choices=ApprovalLevel.choices,
        blank=True,
        editable=False,
    )
    # Set on approval from the policy applied (PolicyRules.ship_deadlines); empty when off.
    ship_reminder_at = models.DateTimeField(
        _("reminder to send the goods due"), null=True, blank=True, editable=False
    )
    ship_reminded_at = models.DateTimeField(
        _("reminded to send the goods"), null=True, blank=True, editable=False
    )
    ship_by = models.DateTimeField(_("goods to arrive by"), null=True, blank=True, editable=False)
    expired_at = models.DateTimeField(_("expired"), null=True, blank=True, editable=False)
    # The clocks (docs/returns-rules.md#clocks-of-returns), set by the services in the
    # transactions of the transitions that start, pause, resume and stop them. The decision
    # clock runs from submission to approval or rejection, paused while the return waits for
    # the customer (a question, or taken back to be changed); the refund clock runs from the
    # goods' arrival to the resolution. Each is at risk from its `*_at_risk_at`.
    decision_started_at = models.DateTimeField(
        _("decision clock started"), null=True, blank=True, editable=False
    )
    decision_due_at = models.DateTimeField(_("decision due"), null=True, blank=True, editable=False)
    decision_at_risk_at = models.DateTimeField(
        _("decision at risk from"), null=True, blank=True, editable=False
    )
    decision_paused_at = models.DateTimeField(
        _("decision clock paused since"), null=True, blank=True, editable=False
    )
    # Business time the decision clock spent paused (its due time was pushed by it).
    decision_paused_seconds = models.PositiveIntegerField(
        _("decision clock: business seconds paused"), default=0, editable=False
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    refund_due_at = models.DateTimeField(
        _("refund / credit due"), null=True, blank=True, editable=False
    )
    refund_at_risk_at = models.DateTimeField(
        _("refund / credit at risk from"), null=True, blank=True, editable=False
    )
    # The notices the SLA watch sent ("decision:at_risk", "refund:breached", ...), each once.
    sla_warned = models.JSONField(_("SLA notices sent"), default=list, blank=True, editable=False)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    inspected_at = models.DateTimeField(_("inspected"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The return label + packing slip PDF, rendered by a worker once the return is approved
    # (returns.labels); empty until then, and re-rendered on download if the file is gone.
    label_file = models.FileField(
        _("return label"),
        upload_to=return_label_upload_to,
        max_length=255,
        null=True,
        blank=True,
        editable=False,
    )
    label_rendered_at = models.DateTimeField(
        _("return label rendered"), null=True, blank=True, editable=False
    )
    # Set when a label is asked for and cleared when it is rendered (or no longer needed): the
    # outbox sweep hands a label still asked for after a few minutes to a worker again.
    label_requested_at = models.DateTimeField(
        _("return label requested"), null=True, blank=True, editable=False
    )
    # The portal wizard's state of a draft, so that the customer resumes where they left on
    # any device: the orders chosen in step 1 (ids, checked against the company's orders when
    # read) and the last step they opened (1-4; 0: never opened in the wizard, e.g. a draft
    # filed through the API).
    wizard_order_ids = models.JSONField(
        _("orders chosen in the wizard"), default=list, blank=True, editable=False
    )
    wizard_step = models.PositiveSmallIntegerField(
        _("last wizard step opened"), default=0, editable=False
    )

    class Meta:
        verbose_name = _("return request")
        verbose_name_plural = _("return requests")
        ordering = ["-created_at"]
        constraints = [
            # Drafts never submitted have no number yet.
            models.UniqueConstraint(
                fields=["tenant", "number"],
                name="return_number_unique",
                condition=~models.Q(number=""),
            ),
        ]
        indexes = [
            # The outbox sweep's question: labels asked for and still not rendered.
            models.Index(
                fields=["tenant", "label_requested_at"],
                name="return_label_requested_idx",
                condition=models.Q(label_requested_at__isnull=False),
            ),
            models.Index(fields=["tenant", "status", "-created_at"], name="return_queue_idx"),
            models.Index(
                fields=["tenant", "customer_account", "-created_at"], name="return_customer_idx"
            ),
            models.Index(fields=["tenant", "assignee", "status"], name="return_assignee_idx"),
            # The KPI rollups read a day's returns by each timestamp that counts.
            models.Index(fields=["tenant", "submitted_at"], name="return_submitted_idx"),
            models.Index(fields=["tenant", "approved_at"], name="return_approved_idx"),
            models.Index(fields=["tenant", "received_at"], name="return_received_idx"),
            models.Index(fields=["tenant", "resolved_at"], name="return_resolved_idx"),
            # The shipping deadlines' scan (returns.maintenance): approved returns only.
            models.Index(
                fields=["tenant", "ship_by"],
                name="return_ship_by_idx",
                condition=models.Q(status="approved"),
            ),
            models.Index(
                fields=["tenant", "ship_reminder_at"],
                name="return_ship_reminder_idx",
                condition=models.Q(status="approved", ship_reminded_at__isnull=True),
            ),
            # The SLA watch and the queues read running clocks by their at-risk moments.
            models.Index(
                fields=["tenant", "decision_at_risk_at"],
                name="return_decision_risk_idx",
                condition=models.Q(status__in=["submitted", "awaiting_approval"]),
            ),
            models.Index(
                fields=["tenant", "refund_at_risk_at"],
                name="return_refund_risk_idx",
                condition=models.Q(status__in=["received", "inspected"]),
            ),
            # The SLA watch and the "update owed" queue: returns owing the customer an update.
            models.Index(
                fields=["tenant", "update_due_at"],
                name="return_update_due_idx",
                condition=models.Q(update_due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """How people name the return: its RMA number, or for a draft never submitted (it
        has no number yet) "Draft of 5 Dec 2026", the day it was started."""
        if self.number:
            return self.number
        started = timezone.localdate(self.created_at) if self.created_at else timezone.localdate()
        return _("Draft of %(date)s") % {"date": date_format(started, "DATE_FORMAT")}

    # --- clocks (no database: the services call these around the transitions) ---

    def start_decision_clock(self, calendar: BusinessCalendar, *, now) -> None:
        """On submission: start the decision clock (the policy applied gives its business
        hours), or resume it when it was paused (a return taken back and submitted again)."""
        if self.decision_paused_at is not None:
            self.resume_decision_clock(calendar, now=now)
            return
        hours = self.rules_applied().decision_hours
        if self.decision_due_at is not None or not hours:
            return
        self.decision_started_at = now
        self.decision_due_at = add_business_time(calendar, now, hours * 3600)
        self.decision_at_risk_at = at_risk_moment(
            calendar, started_at=now, due_at=self.decision_due_at
        )

    def pause_decision_clock(self, *, now) -> None:
        """Waiting for the customer (a question, or the return taken back to be changed)."""
        if self.decision_due_at is not None and self.decision_paused_at is None:
            self.decision_paused_at = now

    def resume_decision_clock(self, calendar: BusinessCalendar, *, now) -> None:
        """The customer answered: the business time left when it paused counts from now."""
        paused_at = self.decision_paused_at
        if paused_at is None or self.decision_due_at is None:
            return
        self.decision_due_at = resumed_due_at(
            calendar, due_at=self.decision_due_at, paused_at=paused_at, resumed_at=now
        )
        self.decision_paused_seconds += int(business_seconds_between(calendar, paused_at, now))
        self.decision_paused_at = None
        self.decision_at_risk_at = at_risk_moment(
            calendar,
            started_at=self.decision_started_at,
            due_at=self.decision_due_at,
            paused_seconds=self.decision_paused_seconds,
        )

    def stop_decision_clock(self, calendar: BusinessCalendar, *, now) -> None:
        """Approved or rejected: the clock stops, met when by its due moment. A return
        rejected while waiting for the customer is resumed first: the wait does not count."""
        if self.decision_due_at is None:
            return
        self.resume_decision_clock(calendar, now=now)
        self.decided_at = now

    def start_refund_clock(self, calendar: BusinessCalendar, *, now) -> None:
        """On the goods' arrival: the policy applied gives the working days."""
        days = self.rules_applied().refund_days
        if not days:
            return
        self.refund_due_at = working_days_due_at(calendar, now, days)
        self.refund_at_risk_at = at_risk_moment(calendar, started_at=now, due_at=self.refund_due_at)

    def decision_state(self, now) -> SlaState | None:
        """The decision clock's state; None without a clock, or when the return was
        cancelled before a decision (the clock stopped without an outcome)."""
        if self.decision_due_at is None:
            return None
        if self.decided_at is None and self.status not in DECISION_CLOCK_STATUSES:
            return None
        return state_at(
            due_at=self.decision_due_at,
            at_risk_at=self.decision_at_risk_at,
            now=now,
            paused_at=self.decision_paused_at,
            stopped_at=self.decided_at,
        )

    def refund_state(self, now) -> SlaState | None:
        if self.refund_due_at is None:
            return None
        return state_at(
            due_at=self.refund_due_at,
            at_risk_at=self.refund_at_risk_at,
            now=now,
            stopped_at=self.resolved_at,
        )

    # Transitions only change this row; services add locking, events and notifications.

    @transition(status, source=ReturnStatus.DRAFT, target=ReturnStatus.SUBMITTED)
    def submit(self) -> None:
        # A return taken back to be changed keeps the moment it was first submitted.
        self.submitted_at = self.submitted_at or timezone.now()

    @transition(
        status,
        source=[ReturnStatus.SUBMITTED, ReturnStatus.NEEDS_INFO],
        target=ReturnStatus.DRAFT,
    )
    def reopen(self) -> None:
        """The customer takes the return back to change it before staff decide; the open
        question, if any, is answered by the changed return."""
        self.info_request = ""

    @transition(status, source=ReturnStatus.SUBMITTED, target=ReturnStatus.AWAITING_APPROVAL)
    def request_approval(self) -> None:
        pass

    @transition(
        status,
        source=[ReturnStatus.SUBMITTED, ReturnStatus.AWAITING_APPROVAL],
        target=ReturnStatus.APPROVED,
    )
    def approve(self, *, automatic: bool = False) -> None:
        self.approved_at = timezone.now()
        self.auto_approved = automatic
        self.ship_reminder_at, self.ship_by = self.rules_applied().ship_deadlines(
            self.approved_at, self.tenant.timezone
        )

    @transition(status, source=ReturnStatus.APPROVED, target=ReturnStatus.EXPIRED)
    def expire(self, *, now=None) -> None:
        self.expired_at = now or timezone.now()

    def rules_applied(self) -> PolicyRules:
        """The return policy applied on submission (the defaults for a return without one)."""
        if self.policy_snapshot:
            return PolicyRules.from_snapshot(self.policy_snapshot)
        return PolicyRules()

    @transition(status, source=ReturnStatus.SUBMITTED, target=ReturnStatus.NEEDS_INFO)
    def request_info(self, *, question: str) -> None:
        self.info_request = question

    @transition(status, source=ReturnStatus.NEEDS_INFO, target=ReturnStatus.SUBMITTED)
    def provide_info(self) -> None:
        self.info_request = ""

    @transition(
        status,
        source=[ReturnStatus.SUBMITTED, ReturnStatus.NEEDS_INFO, ReturnStatus.AWAITING_APPROVAL],
        target=ReturnStatus.REJECTED,
    )
    def reject(self, *, reason: str) -> None:
        self.rejection_reason = reason

    @transition(
        status,
        source=[
            ReturnStatus.DRAFT,
            ReturnStatus.SUBMITTED,
            ReturnStatus.NEEDS_INFO,
            ReturnStatus.AWAITING_APPROVAL,
            ReturnStatus.APPROVED,
        ],
        target=ReturnStatus.CANCELLED,
    )
    def cancel(self) -> None:
        pass

    @transition(status, source=ReturnStatus.APPROVED, target=ReturnStatus.RECEIVED)
    def mark_received(self) -> None:
        self.received_at = timezone.now()

    @transition(status, source=ReturnStatus.RECEIVED, target=ReturnStatus.INSPECTED)
    def inspect(self) -> None:
        self.inspected_at = timezone.now()

    @transition(status, source=ReturnStatus.INSPECTED, target=ReturnStatus.RESOLVED)
    def resolve(self) -> None:
        self.resolved_at = timezone.now()

    @transition(status, source=ReturnStatus.RESOLVED, target=ReturnStatus.CLOSED)
    def close(self) -> None:
        self.closed_at = timezone.now()


class ReturnLine(TenantOwnedModel):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines", verbose_name=_("return")
    )
    order_line = models.ForeignKey(
        "customers.OrderLine",
        on_delete=models.PROTECT,
        related_name="return_lines",
        verbose_name=_("order line"),
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    reason = models.CharField(_("reason"), max_length=30, choices=ReturnReason.choices)
    reason_text = models.CharField(_("reason (other)"), max_length=500, blank=True)
    customer_comment = models.TextField(_("comment"), blank=True)
    serial_numbers = models.JSONField(_("serial numbers"), default=list, blank=True)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    condition = models.CharField(
        _("condition"), max_length=20, choices=ItemCondition.choices, blank=True
    )
    disposition = models.CharField(
        _("disposition"), max_length=20, choices=Disposition.choices, blank=True
    )
    accepted_quantity = models.PositiveIntegerField(_("accepted quantity"), null=True, blank=True)
    # What inspection found, in two texts that never mix (docs/security.md#inspection-notes):
    # the customer reads the one in the portal, the API and the resolution e-mail; the
    # internal one stays with staff (back-office, staff API, the dashboard's CSV export).
    inspection_customer_note = models.TextField(
        _("inspection note for the customer"),
        blank=True,
        help_text=_("Visible to the customer."),
    )
    inspection_note = models.TextField(
        _("internal inspection note"),
        blank=True,
        help_text=_("Internal, never shown to the customer."),
    )
    # The resolution of this line (docs/api.md#resolve): a refund or a credit note pays
    # refund_amount; a replacement sends replacement_quantity of replacement_sku; a repair
    # repairs the accepted units. Empty until the return is resolved.
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, blank=True
    )
    refund_amount = models.DecimalField(_("refund amount"), **MONEY, null=True, blank=True)
    replacement_sku = models.CharField(_("replacement SKU"), max_length=60, blank=True)
    replacement_quantity = models.PositiveIntegerField(
        _("replacement quantity"), null=True, blank=True
    )
    # Why staff paid more than the accepted value, or replaced more than was accepted.
    override_reason = models.TextField(
        _("reason for exceeding the accepted value"),
        blank=True,
        help_text=_("Internal, never shown to the customer."),
    )

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        ordering = ["return_request", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "return_request", "order_line"], name="return_line_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="return_line_quantity_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_quantity__isnull=True)
                | models.Q(accepted_quantity__lte=models.F("quantity")),
                name="return_line_accepted_le_quantity",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "order_line"], name="return_line_order_line_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.return_request_id}: {self.order_line_id} × {self.quantity}"

    @property
    def line_value(self) -> Decimal:
        return self.unit_price * self.quantity


class ResolutionDocument(TenantOwnedModel):
    """A document of the ERP that carries out a return's resolution, as the ERP confirmed it
    (or staff typed it in): the credit note (number, date, amount) paying the return's money
    back, or the replacement / repair order. At most one of each per return."""

    return_request = models.ForeignKey(
        ReturnRequest,
        on_delete=models.CASCADE,
        related_name="documents",
        verbose_name=_("return"),
    )
    kind = models.CharField(_("document"), max_length=20, choices=DocumentKind.choices)
    number = models.CharField(_("document number"), max_length=40)
    issued_on = models.DateField(_("date"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY, null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    confirmed_at = models.DateTimeField(_("confirmed"), default=timezone.now)

    class Meta:
        verbose_name = _("resolution document")
        verbose_name_plural = _("resolution documents")
        ordering = ["confirmed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "return_request", "kind"], name="resolution_document_one_per_kind"
            ),
            # A credit note pays back one return; an order may serve several.
            models.UniqueConstraint(
                fields=["tenant", "number"],
                condition=models.Q(kind="credit_note"),
                name="resolution_credit_note_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "kind", "number"], name="resolution_document_number_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class ReturnEvent(TimelineEvent):
    """One row of a return's timeline: every state change and every message."""

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="events"
    )

    class Meta(TimelineEvent.Meta):
        verbose_name = _("return event")
        verbose_name_plural = _("return events")
        indexes = [
            models.Index(
                fields=["tenant", "return_request", "created_at"], name="return_event_idx"
            ),
        ]


def return_attachment_upload_to(instance, filename: str) -> str:
    from rma_portal.tenancy.storage import tenant_media_path

    return tenant_media_path(instance.tenant_id, "returns", filename)


class ReturnAttachment(StoredUpload):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    line = models.ForeignKey(
        ReturnLine,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("line"),
    )
    file = models.FileField(_("file"), upload_to=return_attachment_upload_to, max_length=255)

    class Meta(StoredUpload.Meta):
        indexes = [
            models.Index(fields=["tenant", "return_request"], name="return_attachment_idx"),
        ]


from .feedback_models import ReturnFeedback  # noqa: E402,F401

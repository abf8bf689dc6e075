"""Forms of the complaints back-office: behind the complaint buttons (assign, reply, canned
response picker), filing a case for a customer, and the editors of SLA policies, stages,
support calendar and canned responses."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db import transaction
from django.db.models import Q
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from customers.filing_forms import staff_channel_field
from customers.models import Order
from rma_portal.accounts.models import Role, User
from rma_portal.forms import MultipleFileField
from rma_portal.tenancy.models import Tenant

from .forms import ComplaintFileForm
from .models import (
    STAGE_STATUSES,
    ComplaintStage,
    ComplaintStatus,
    Holiday,
    Priority,
    SlaPolicy,
    SupportSettings,
)
from .services.complaints import ASSIGNING_ROLES

# Whom a complaint can be assigned to (complaint_assign accepts tenant admins too, but they
# are not the people who work the queues).
ASSIGNABLE_ROLES = (Role.AGENT, Role.COORDINATOR)


def may_assign_others(user: User) -> bool:
    """Coordinators and tenant admins assign; agents only take complaints for themselves."""
    return user.is_superuser or user.role in ASSIGNING_ROLES


def assignable_staff(*, tenant_ids, actor: User):
    """The active agents and coordinators of the given tenants, and the acting user; an agent
    is offered only themselves."""
    if not may_assign_others(actor):
        return User.objects.filter(pk=actor.pk, tenant_id__in=tenant_ids, is_active=True)
    return (
        User.objects.filter(tenant_id__in=tenant_ids, is_active=True)
        .filter(Q(role__in=ASSIGNABLE_ROLES) | Q(pk=actor.pk))
        .order_by("full_name", "email")
    )


class AssignForm(forms.Form):
    """Whom to assign one complaint (the Assign button) or many (the bulk action) to."""

    assignee = forms.ModelChoiceField(
        label=_("assign to"), queryset=User.objects.none(), empty_label=None
    )

    def __init__(self, *args, tenant_ids, actor: User, initial_assignee=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        field.queryset = assignable_staff(tenant_ids=tenant_ids, actor=actor)
        field.label_from_instance = lambda user: user.get_full_name()
        if initial_assignee is not None:
            field.initial = initial_assignee


class PriorityForm(forms.Form):
    """The complaint page's priority change (the service checks the value again)."""

    priority = forms.ChoiceField(label=_("priority"), choices=Priority.choices)


class ReplyForm(forms.Form):
    """The text is checked by complaint_reply (required, length); files by the upload rules."""

    body = forms.CharField(
        label=_("message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    is_internal = forms.BooleanField(
        label=_("internal note (staff only, the customer never sees it)"), required=False
    )
    files = MultipleFileField(
        label=_("files"), help_text=_("Photos (JPEG, PNG, WebP) or PDF documents.")
    )


# --- tenant configuration ---------------------------------------------------------------


def _tenant_id(form: forms.ModelForm, cleaned: dict) -> int | None:
    tenant = cleaned.get("tenant")
    return tenant.pk if tenant is not None else form.instance.tenant_id


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "tenant",
            "customer_account",
            "priority",
            "first_response_hours",
            "resolution_hours",
        ]

    def clean(self):
        cleaned = super().clean()
        first = cleaned.get("first_response_hours")
        resolution = cleaned.get("resolution_hours")
        if first is not None and resolution is not None and resolution < first:
            self.add_error(
                "resolution_hours",
                _("The resolution time cannot be shorter than the first response time."),
            )
        tenant_id = _tenant_id(self, cleaned)
        priority = cleaned.get("priority")
        if tenant_id is None or not priority or self.has_error("customer_account"):
            return cleaned
        customer = cleaned.get("customer_account")
        if customer is not None and customer.tenant_id != tenant_id:
            self.add_error("customer_account", _("Choose a customer of the same tenant."))
            return cleaned
        others = SlaPolicy.unscoped.filter(
            tenant_id=tenant_id, priority=priority, customer_account=customer
        ).exclude(pk=self.instance.pk)
        if others.exists():
            if customer is None:
                message = _("The tenant already has targets for this priority; edit them instead.")
            else:
                message = _(
                    "This customer already has targets for this priority; edit them instead."
                )
            self.add_error("priority", message)
        return cleaned

    def _get_validation_exclusions(self):
        # Both uniqueness rules are checked in clean() with messages a tenant admin
        # understands; Django's generic check of the conditional one runs the scoped manager
        # inside an expression without a model, which the tenant condition cannot resolve.
        return {*super()._get_validation_exclusions(), "customer_account"}


STATUS_LABELS = dict(ComplaintStatus.choices)


class ComplaintStageForm(forms.ModelForm):
    """A stage of the tenant's complaint procedure. Refused, with nothing saved: a limit of
    0 working days or less, a status that is unknown or finished (closed, rejected), and a
    status another active stage of the tenant already covers."""

    statuses = forms.MultipleChoiceField(
        label=_("complaint statuses"),
        choices=[(status, STATUS_LABELS[status]) for status in STAGE_STATUSES],
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "A complaint is in this stage while it has one of these statuses. Waiting for "
            "the customer pauses the stage's clock; closed and rejected complaints are in no "
            "stage."
        ),
        error_messages={
            "required": _("Choose at least one complaint status the stage covers."),
            "invalid_choice": _(
                "“%(value)s” is not a complaint status a stage can cover: choose among new, "
                "open, in progress, awaiting customer and resolved."
            ),
        },
    )
    limit_days = forms.DecimalField(
        label=_("limit (working days)"),
        max_digits=5,
        decimal_places=2,
        help_text=_(
            "Working days of the support calendar (its working hours, without weekends and "
            "holidays); 0.5 is half a working day."
        ),
    )

    class Meta:
        model = ComplaintStage
        fields = ["tenant", "position", "key", "name", "limit_days", "statuses", "is_active"]

    def clean_limit_days(self) -> Decimal:
        limit = self.cleaned_data["limit_days"]
        if limit <= 0:
            raise forms.ValidationError(_("The limit must be more than 0 working days."))
        return limit

    def clean_statuses(self) -> list[str]:
        chosen = set(self.cleaned_data["statuses"])
        return [status.value for status in STAGE_STATUSES if status in chosen]

    def clean(self):
        cleaned = super().clean()
        tenant_id = _tenant_id(self, cleaned)
        if tenant_id is None:
            return cleaned
        if transaction.get_connection().in_atomic_block:
            # Stage edits of one tenant take turns (the admin saves in a transaction): two
            # stages saved at once cannot both claim a status.
            Tenant.objects.select_for_update().filter(pk=tenant_id).first()
        others = ComplaintStage.unscoped.filter(tenant_id=tenant_id).exclude(pk=self.instance.pk)
        key = cleaned.get("key")
        if key and others.filter(key=key).exists():
            self.add_error("key", _("Another stage already has this key."))
        statuses = cleaned.get("statuses") or []
        if cleaned.get("is_active") and statuses:
            taken = []
            for other in others.filter(is_active=True).order_by("position", "key"):
                for status in statuses:
                    if status in (other.statuses or []):
                        taken.append(
                            _("“%(status)s” already belongs to the stage “%(stage)s”.")
                            % {"status": STATUS_LABELS[status], "stage": other.name}
                        )
            if taken:
                self.add_error(
                    "statuses",
                    [
                        *taken,
                        _(
                            "A status belongs to one active stage: take it off the other "
                            "stage first, or make this stage inactive."
                        ),
                    ],
                )
        return cleaned

    def _get_validation_exclusions(self):
        # The key's uniqueness per tenant is checked in clean() with a readable message.
        return {*super()._get_validation_exclusions(), "key"}


class SupportSettingsForm(forms.ModelForm):
    working_weekdays = forms.TypedMultipleChoiceField(
        label=_("working weekdays"),
        choices=sorted(WEEKDAYS.items()),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one working day.")},
    )

    class Meta:
        model = SupportSettings
        fields = [
            "tenant",
            "day_start",
            "day_end",
            "working_weekdays",
            "reopen_window_days",
            "auto_close_days",
            "update_cadence_hours",
            "status_update_emails",
        ]
        help_texts = {
            "day_start": _("In the tenant's time zone, e.g. 08:00."),
            "day_end": _("In the tenant's time zone, e.g. 16:00."),
        }

    def clean_working_weekdays(self) -> list[int]:
        return sorted(set(self.cleaned_data["working_weekdays"]))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("day_start"), cleaned.get("day_end")
        if start is not None and end is not None and end <= start:
            self.add_error("day_end", _("The working day must end after it starts."))
        tenant_id = _tenant_id(self, cleaned)
        if (
            tenant_id is not None
            and SupportSettings.unscoped.filter(tenant_id=tenant_id)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error(None, _("The tenant already has its support settings; edit those."))
        return cleaned

    def _get_validation_exclusions(self):
        # One row per tenant is checked in clean() with a readable message.
        return {*super()._get_validation_exclusions(), "tenant"}


class HolidayForm(forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["tenant", "date", "name"]

    def clean(self):
        cleaned = super().clean()
        tenant_id, date = _tenant_id(self, cleaned), cleaned.get("date")
        if (
            tenant_id is not None
            and date is not None
            and Holiday.unscoped.filter(tenant_id=tenant_id, date=date)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error("date", _("This day is already a holiday."))
        return cleaned


# --- filing for a customer ------------------------------------------------------------------


# The order select of the back-office's form lists the company's most recent orders and the
# chosen one.
ORDER_CHOICES_LIMIT = 100


class FileComplaintForm(ComplaintFileForm):
    """A complaint an agent files for a customer user: the portal's form (the same line
    choices of the customer's company, the same files), worded for staff, with the channel the
    customer reached them through. The order is chosen from the company's recent orders (the
    portal's order picker searches as the customer types; its search is the customer's)."""

    order = forms.TypedChoiceField(
        label=_("Order"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Optional: the order the complaint is about."),
        error_messages={"invalid_choice": _("Choose one of your company's orders.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["order_number"]
        self.fields["order"].choices = [
            ("", _("No particular order")),
            *((order.pk, self._order_label(order)) for order in self.recent_orders),
        ]
        self.fields["channel"] = staff_channel_field()
        self.order_fields(
            [
                "channel",
                "category",
                "priority",
                "subject",
                "description",
                "order",
                "order_line",
                "files",
            ]
        )
        self.fields["category"].label = _("category")
        self.fields["priority"].label = _("priority")
        self.fields["priority"].widget = forms.Select(choices=Priority.choices)
        self.fields["subject"].label = _("subject")
        self.fields["description"].label = _("description")
        self.fields["order"].help_text = _("Optional: the order of the customer's company.")
        self.fields["order_line"].help_text = _(
            "Optional: a line of the chosen order (choose the order, then show its lines)."
        )

    def find_order(self) -> Order | None:
        """The chosen order of the select: one of the company's recent orders, or an older
        one of the company added to the choices."""
        company_orders = Order.objects.filter(customer_account=self.customer_account)
        self.recent_orders = list(
            company_orders.order_by("-order_date", "-pk")[:ORDER_CHOICES_LIMIT]
        )
        raw = str(self._given("order") or "").strip()
        chosen_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
        chosen = next((order for order in self.recent_orders if order.pk == chosen_id), None)
        if chosen is None and chosen_id is not None:
            chosen = company_orders.filter(pk=chosen_id).first()
            if chosen is not None:
                self.recent_orders.insert(0, chosen)
        return chosen

    def chosen_order_id(self) -> int | None:
        return self.cleaned_data.get("order")

    @staticmethod
    def _order_label(order: Order) -> str:
        return f"{order.number} · {date_format(order.order_date, 'SHORT_DATE_FORMAT')}"

    def service_arguments(self) -> dict:
        return {**super().service_arguments(), "channel": self.cleaned_data["channel"]}

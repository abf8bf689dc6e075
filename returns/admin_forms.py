"""Forms of the returns back-office: the return policy editor, the forms behind the
transition buttons (assign, message, inspection, resolution), and filing a return for a
customer."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from customers.filing_forms import staff_channel_field
from rma_portal.accounts.models import Role, User
from rma_portal.backoffice.admin import name_fields_for_screen_readers
from rma_portal.forms import IsoDateInput, MultipleFileField

from .models import (
    Disposition,
    DocumentKind,
    ItemCondition,
    Resolution,
    ReturnLine,
    ReturnMethod,
    ReturnPolicy,
    ReturnReason,
    ReturnRequest,
)
from .policies import (
    ALL_REASONS,
    ALL_RESOLUTIONS,
    DEFAULT_FREE_SHIPPING_REASONS,
    DEFAULT_WARRANTY_REASONS,
    DEFAULT_WARRANTY_RESOLUTIONS,
)

# --- return policy --------------------------------------------------------------------------

# JSON list fields of ReturnPolicy: their choices and what the engine uses when the tenant's
# policy leaves them empty (None).
POLICY_LIST_FIELDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "free_shipping_reasons": (ReturnReason, DEFAULT_FREE_SHIPPING_REASONS),
    "allowed_reasons": (ReturnReason, ALL_REASONS),
    "allowed_resolutions": (Resolution, ALL_RESOLUTIONS),
    "auto_approve_reasons": (ReturnReason, ()),
    "warranty_reasons": (ReturnReason, DEFAULT_WARRANTY_REASONS),
    "warranty_resolutions": (Resolution, DEFAULT_WARRANTY_RESOLUTIONS),
}
# Without any reason or resolution no return could ever be filed.
REQUIRED_ON_TENANT_POLICY = frozenset({"allowed_reasons", "allowed_resolutions"})

INHERIT_HELP = _(
    "On a customer's override, tick nothing to use the tenant policy's list; ticking any "
    "box replaces that list for this customer."
)


class InheritableBooleanSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [
            ("unknown", _("Not set (tenant policy: off; override: as in the tenant policy)")),
            ("true", _("Yes")),
            ("false", _("No")),
        ]


def _choice_field(label, choices, help_text) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
    )


# The policy's lists of categories and products (many-to-many), checked for the tenant.
POLICY_OBJECT_LISTS = (
    "non_returnable_categories",
    "non_returnable_products",
    "always_returnable_categories",
    "always_returnable_products",
    "review_categories",
    "review_products",
)


class ReturnPolicyForm(forms.ModelForm):
    """The reason and resolution lists are edited as checkboxes and stored as JSON lists.

    On the tenant's policy the lists are stored as ticked (nothing ticked means "none", and
    the allowed reasons and resolutions need at least one). On a customer's override nothing
    ticked means "inherit" and is stored as None.
    """

    free_shipping_reasons = _choice_field(
        _("reasons with free return shipping"),
        ReturnReason.choices,
        format_lazy(
            "{} {}",
            _(
                "For these reasons the merchant pays the return shipping and no restocking fee "
                "is charged."
            ),
            INHERIT_HELP,
        ),
    )
    allowed_reasons = _choice_field(
        _("allowed reasons"),
        ReturnReason.choices,
        format_lazy(
            "{} {}",
            _("Reasons customers may give. The tenant policy needs at least one."),
            INHERIT_HELP,
        ),
    )
    allowed_resolutions = _choice_field(
        _("allowed resolutions"),
        Resolution.choices,
        format_lazy(
            "{} {}",
            _("Resolutions customers may ask for. The tenant policy needs at least one."),
            INHERIT_HELP,
        ),
    )
    auto_approve_reasons = _choice_field(
        _("auto-approve reasons"),
        ReturnReason.choices,
        format_lazy(
            "{} {}",
            _("A return is approved automatically only if every line has one of these reasons."),
            INHERIT_HELP,
        ),
    )

    warranty_reasons = _choice_field(
        _("warranty claim reasons"),
        ReturnReason.choices,
        format_lazy(
            "{} {}",
            _(
                "A line past the return window (or of goods not returnable) with one of these "
                "reasons is a warranty claim while its warranty runs."
            ),
            INHERIT_HELP,
        ),
    )
    warranty_resolutions = _choice_field(
        _("warranty claim resolutions"),
        Resolution.choices,
        format_lazy(
            "{} {}",
            _("What a warranty claim may ask for (by default repair or replacement, no refund)."),
            INHERIT_HELP,
        ),
    )

    class Meta:
        model = ReturnPolicy
        # The admin passes its fieldsets; relation fields are left out here because their
        # querysets are scoped to the request's tenant and cannot be built at import time.
        fields = [*POLICY_LIST_FIELDS, "auto_approve_enabled"]
        widgets = {"auto_approve_enabled": InheritableBooleanSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        unset = [name for name in POLICY_LIST_FIELDS if self.initial.get(name) is None]
        if unset and self._starts_as_tenant_policy():
            # Show what the engine applies today, so saving unchanged changes nothing.
            for name in unset:
                self.initial[name] = list(POLICY_LIST_FIELDS[name][1])

    def _starts_as_tenant_policy(self) -> bool:
        if self.instance.pk:
            return self.instance.customer_account_id is None
        # A new policy is the tenant's own only when the tenant has none yet.
        tenant_id = self.initial.get("tenant") or self.instance.tenant_id
        if not tenant_id and "tenant" in self.fields:
            tenant_id = self.fields["tenant"].initial
        policies = ReturnPolicy.unscoped.filter(customer_account__isnull=True)
        if tenant_id:
            return not policies.filter(tenant_id=tenant_id).exists()
        return False

    def _tenant_id(self, cleaned: dict) -> int | None:
        tenant = cleaned.get("tenant")
        return tenant.pk if tenant is not None else self.instance.tenant_id

    def _is_tenant_policy(self, cleaned: dict) -> bool:
        if "customer_account" in self.fields:
            return cleaned.get("customer_account") is None
        return self.instance.customer_account_id is None

    def clean(self):
        cleaned = super().clean()
        if self.has_error("customer_account") or self.has_error("tenant"):
            return cleaned
        tenant_id = self._tenant_id(cleaned)
        is_tenant_policy = self._is_tenant_policy(cleaned)
        for name, (choices, _default) in POLICY_LIST_FIELDS.items():
            if name not in self.fields or self.has_error(name):
                continue
            ticked = set(cleaned.get(name) or [])
            ordered = [value for value in choices.values if value in ticked]
            if ordered:
                cleaned[name] = ordered
            elif not is_tenant_policy:
                cleaned[name] = None  # inherit the tenant's list
            elif name in REQUIRED_ON_TENANT_POLICY:
                self.add_error(name, _("The tenant policy needs at least one."))
            else:
                cleaned[name] = []
        if is_tenant_policy and tenant_id:
            others = ReturnPolicy.unscoped.filter(
                tenant_id=tenant_id, customer_account__isnull=True
            )
            if self.instance.pk:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                message = _(
                    "This tenant already has its policy; choose the customer this override "
                    "is for, or edit the tenant policy."
                )
                field = "customer_account" if "customer_account" in self.fields else None
                self.add_error(field, message)
        if not is_tenant_policy and tenant_id and "customer_account" in self.fields:
            customer = cleaned["customer_account"]
            others = ReturnPolicy.unscoped.filter(customer_account=customer).exclude(
                pk=self.instance.pk
            )
            if customer.tenant_id != tenant_id:
                self.add_error("customer_account", _("Choose a customer of the same tenant."))
            elif others.exists():
                self.add_error(
                    "customer_account",
                    _("This customer already has an override; edit that one instead."),
                )
        if tenant_id:
            for name in POLICY_OBJECT_LISTS:
                chosen = cleaned.get(name)
                if chosen is not None and any(obj.tenant_id != tenant_id for obj in chosen):
                    self.add_error(name, _("Choose objects of the same tenant."))
        for blocked, allowed in (
            ("non_returnable_categories", "always_returnable_categories"),
            ("non_returnable_products", "always_returnable_products"),
        ):
            both = set(cleaned.get(blocked) or ()) & set(cleaned.get(allowed) or ())
            if both and not self.has_error(allowed):
                self.add_error(
                    allowed,
                    _("Not returnable and always returnable at once: %(names)s.")
                    % {"names": ", ".join(sorted(str(obj) for obj in both))},
                )
        if cleaned.get("customer_listing") and is_tenant_policy:
            self.add_error("customer_listing", _("Only a customer's override lists the customer."))
        return cleaned

    def _get_validation_exclusions(self):
        # Both constraints on the customer (one tenant policy per tenant, one override per
        # customer) are checked in clean() with messages a tenant admin understands; Django's
        # generic check of the conditional constraint runs the scoped manager inside an
        # expression without a model, which the tenant condition cannot resolve.
        return {*super()._get_validation_exclusions(), "customer_account"}


class CategoryWindowFormSet(BaseInlineFormSet):
    """One window per category; rows take the policy's tenant."""

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            category = form.cleaned_data.get("category")
            if category is None:
                continue
            if self.instance.tenant_id and category.tenant_id != self.instance.tenant_id:
                form.add_error("category", _("Choose a category of the same tenant."))
            if category.pk in seen:
                form.add_error("category", _("This category already has a window."))
            seen.add(category.pk)

    def save_new(self, form, commit=True):
        form.instance.tenant_id = self.instance.tenant_id
        return super().save_new(form, commit=commit)


# --- transition forms -----------------------------------------------------------------------


def assignable_staff(return_request: ReturnRequest, *, actor: User):
    """Active agents and coordinators of the return's tenant, and the acting user."""
    return User.objects.filter(tenant_id=return_request.tenant_id, is_active=True).filter(
        Q(role__in=[Role.AGENT, Role.COORDINATOR]) | Q(pk=actor.pk)
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("assign to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— nobody —"),
    )

    def __init__(self, *args, return_request: ReturnRequest, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        field.queryset = assignable_staff(return_request, actor=actor).order_by(
            "full_name", "email"
        )
        field.initial = return_request.assignee_id


class CommentForm(forms.Form):
    PUBLIC = "public"
    INTERNAL = "internal"

    note = forms.CharField(label=_("message"), widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(
        label=_("visible to"),
        choices=[
            (PUBLIC, _("Public reply (the customer sees it)")),
            (INTERNAL, _("Internal note (staff only)")),
        ],
        initial=INTERNAL,
        widget=forms.RadioSelect,
    )
    files = MultipleFileField(
        label=_("files"),
        required=False,
        help_text=_(
            "Photos (JPEG, PNG, WebP) or PDF documents, with a reply to the customer: they see "
            "a return's files."
        ),
    )


def _blank(choices) -> list[tuple[str, str]]:
    return [("", "---------"), *choices]


# Every inspection text says who reads it (docs/security.md#inspection-notes).
FOR_THE_CUSTOMER = _("Visible to the customer.")
INTERNAL_ONLY = _("Internal, never shown to the customer.")


class InspectionLineForm(forms.Form):
    condition = forms.ChoiceField(label=_("condition"), choices=_blank(ItemCondition.choices))
    disposition = forms.ChoiceField(label=_("disposition"), choices=_blank(Disposition.choices))
    customer_note = forms.CharField(
        label=_("note for the customer"),
        required=False,
        max_length=4000,
        help_text=FOR_THE_CUSTOMER,
    )
    note = forms.CharField(
        label=_("internal note"), required=False, max_length=4000, help_text=INTERNAL_ONLY
    )

    def __init__(self, *args, line: ReturnLine, **kwargs):
        kwargs.setdefault("prefix", f"line-{line.pk}")
        super().__init__(*args, **kwargs)
        self.line = line
        # The inspection table says who reads each note once, in its column header.
        for name, help_id in (
            ("customer_note", "inspection-customer-note-help"),
            ("note", "inspection-internal-note-help"),
        ):
            self.fields[name].widget.attrs["aria-describedby"] = help_id
        self.fields["accepted_quantity"] = forms.IntegerField(
            label=_("accepted quantity"),
            min_value=0,
            max_value=line.quantity,
            initial=line.quantity,
        )
        name_fields_for_screen_readers(self)  # a row of the inspection table


class InspectionForm(forms.Form):
    note = forms.CharField(
        label=_("note on the inspection for the customer"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Visible to the customer: on the return's timeline and in the resolution e-mail."
        ),
    )
    internal_note = forms.CharField(
        label=_("internal note on the inspection"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=INTERNAL_ONLY,
    )


class ResolveLineForm(forms.Form):
    """One line's resolution. Every field shows the policy's proposal; only the fields of the
    chosen resolution are used (the service says what is wrong, per line)."""

    resolution = forms.ChoiceField(label=_("resolution"), choices=Resolution.choices)
    amount = forms.DecimalField(
        label=_("amount"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("Refund or credit note."),
    )
    replacement_sku = forms.CharField(
        label=_("replacement SKU"), required=False, max_length=60, help_text=_("Replacement.")
    )
    replacement_quantity = forms.IntegerField(
        label=_("replacement quantity"), required=False, min_value=1, help_text=_("Replacement.")
    )
    override_reason = forms.CharField(
        label=_("reason for exceeding the accepted value"),
        required=False,
        max_length=4000,
        help_text=_("Internal, never shown to the customer."),
    )

    def __init__(self, *args, proposal, default_resolution: str, **kwargs):
        line = proposal.line
        kwargs.setdefault("prefix", f"line-{line.pk}")
        kwargs.setdefault(
            "initial",
            {
                "resolution": default_resolution,
                "amount": proposal.amount,
                "replacement_sku": line.order_line.product.sku,
                "replacement_quantity": line.accepted_quantity or None,
            },
        )
        super().__init__(*args, **kwargs)
        self.proposal = proposal
        self.line = line
        for name in ("amount", "replacement_sku", "replacement_quantity", "override_reason"):
            self.fields[name].widget.attrs["aria-describedby"] = f"resolve-{name}-help"
        name_fields_for_screen_readers(self)  # a row of the settlement table

    def decision(self):
        """The service's input: only what the chosen resolution takes."""
        from .services import LineResolution

        data = self.cleaned_data
        kind = data["resolution"]
        return LineResolution(
            resolution=kind,
            amount=data["amount"] if kind in (Resolution.REFUND, Resolution.CREDIT_NOTE) else None,
            replacement_sku=(data["replacement_sku"] or "")
            if kind == Resolution.REPLACEMENT
            else "",
            replacement_quantity=data["replacement_quantity"]
            if kind == Resolution.REPLACEMENT
            else None,
            override_reason=data["override_reason"],
        )


class ResolveForm(forms.Form):
    credit_note_number = forms.CharField(
        label=_("credit note number"),
        required=False,
        max_length=40,
        help_text=_("If already known; the ERP confirms the credit note later."),
    )
    replacement_order_ref = forms.CharField(
        label=_("replacement / repair order"),
        required=False,
        max_length=40,
        help_text=_("If already known; the ERP confirms the order later."),
    )
    note = forms.CharField(
        label=_("resolution note"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The customer sees this note."),
    )


class ConfirmDocumentForm(forms.Form):
    """A document of the ERP typed in by hand: the same rules as the ERP's confirmation."""

    kind = forms.ChoiceField(
        label=_("document"), choices=DocumentKind.choices, widget=forms.RadioSelect
    )
    number = forms.CharField(label=_("document number"), max_length=40)
    issued_on = forms.DateField(
        label=_("date"),
        required=False,
        help_text=_("Required for a credit note (YYYY-MM-DD)."),
    )
    amount = forms.DecimalField(
        label=_("amount"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("A credit note's amount: the money the return pays back."),
    )


# --- filing for a customer ------------------------------------------------------------------


class FileReturnForm(forms.Form):
    """What an agent files besides the lines (returns/forms.py's ReturnLineFormSet): the
    channel, the resolution and shipping the customer asked for, files for the whole return,
    and the reason for overriding a refusal of the return policy. Every resolution and reason
    is offered: what the policy refuses shows as its verdict and needs the override reason."""

    q = forms.CharField(label=_("order number or SKU"), required=False, max_length=40)
    channel = staff_channel_field()
    requested_resolution = forms.ChoiceField(
        label=_("requested resolution"),
        choices=_blank(Resolution.choices),
        error_messages={"required": _("Choose the resolution the customer asks for.")},
    )
    return_method = forms.ChoiceField(
        label=_("return method"),
        choices=_blank(ReturnMethod.choices),
        error_messages={"required": _("Choose how the goods will come back.")},
    )
    pickup_date = forms.DateField(
        label=_("pickup date"),
        required=False,
        widget=IsoDateInput,
        help_text=_("Courier pickup only: a working day within the next 30 days."),
    )
    pickup_address = forms.CharField(
        label=_("pickup address"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Courier pickup only."),
    )
    customer_note = forms.CharField(
        label=_("comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The customer sees it on the return as their note."),
    )
    files = MultipleFileField(label=_("photos or documents for the whole return"))
    override_reason = forms.CharField(
        label=_("override reason"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Only to file lines the return policy refuses (return window, non-returnable "
            "goods, a reason or resolution it does not offer). Internal: recorded on the "
            "timeline for staff. Quantities beyond what can still be returned are never "
            "overridden."
        ),
    )

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "requested_resolution": data["requested_resolution"],
            "return_method": data["return_method"],
            "pickup_date": data["pickup_date"],
            "pickup_address": data["pickup_address"],
            "customer_note": data["customer_note"],
            "override_reason": data["override_reason"],
            "uploads": data["files"],
        }

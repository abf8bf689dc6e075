"""Forms of the customer portal's return pages: list filters, the wizard's steps, messages.

Forms check types and shapes; the services decide what is allowed (their `ApplicationError`
is put back on the form by `add_application_error`).
"""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rma_portal.forms import IsoDateInput, MultipleFileField, add_application_error
from rma_portal.ids import ModelMultipleIdChoiceField, parse_id

from .models import Resolution, ReturnMethod, ReturnStatus
from .selectors import returnable_at_most
from .services.drafts import MAX_WIZARD_ORDERS

__all__ = ["IsoDateInput", "MultipleFileField", "add_application_error"]  # used by the views

# The service keeps at most this many on a draft (services.drafts.return_draft_choose_orders).
MAX_ORDERS_PER_RETURN = MAX_WIZARD_ORDERS
MAX_LINES_PER_RETURN = 500
LINE_ERROR_KEY = re.compile(r"lines\[(\d+)\](?:\.(\w+))?")


# --- list -------------------------------------------------------------------------------


class ReturnFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *ReturnStatus.choices],
    )
    created_from = forms.DateField(label=_("Created from"), required=False, widget=IsoDateInput)
    created_to = forms.DateField(label=_("Created to"), required=False, widget=IsoDateInput)
    order = forms.CharField(label=_("Order number"), required=False, max_length=40)
    q = forms.CharField(label=_("RMA number"), required=False, max_length=40)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The end date is before the start date."))
        return cleaned

    def selector_filters(self) -> dict:
        """Keyword arguments for `return_requests_list`, from the fields that are valid."""
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or "",
            "created_from": data.get("created_from"),
            "created_to": data.get("created_to"),
            "order_number": data.get("order") or "",
            "search": data.get("q") or "",
        }


# --- wizard step 1: orders --------------------------------------------------------------


class WizardOrdersForm(forms.Form):
    orders = ModelMultipleIdChoiceField(
        label=_("Orders"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one delivered order."),
            "invalid_choice": _("Choose delivered orders of your company."),
            "invalid_pk_value": _("Choose delivered orders of your company."),
        },
    )

    def __init__(self, *args, orders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["orders"].queryset = orders

    def clean_orders(self):
        orders = self.cleaned_data["orders"]
        if len(orders) > MAX_ORDERS_PER_RETURN:
            raise ValidationError(
                _("Choose at most %(count)d orders for one return.")
                % {"count": MAX_ORDERS_PER_RETURN}
            )
        return orders


# --- wizard step 2: lines ---------------------------------------------------------------


class ReturnLineForm(forms.Form):
    """One order line of the chosen orders; quantity 0 means "not returned"."""

    order_line = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(
        label=_("Quantity to return"),
        min_value=0,
        required=False,
        error_messages={
            "min_value": _("Enter 0 (not returned) or more."),
            "invalid": _("Enter a whole number."),
        },
    )
    reason = forms.ChoiceField(label=_("Reason"), required=False)
    reason_text = forms.CharField(label=_("Describe the reason"), required=False, max_length=500)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    serial_numbers = forms.MultipleChoiceField(
        label=_("Serial numbers returned"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    files = MultipleFileField(label=_("Photos or documents for this line"))

    def __init__(self, *args, order_lines: dict, reasons: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        raw = (
            self.data.get(self.add_prefix("order_line"))
            if self.is_bound
            else self.initial.get("order_line")
        )
        self.order_line = order_lines.get(parse_id(raw))
        self.fields["reason"].choices = [("", _("Choose a reason")), *reasons]
        self.fields["quantity"].widget.attrs.update({"min": 0, "inputmode": "numeric"})
        if self.order_line is not None:
            # The wizard lowers it to what can still be returned (returns/views/portal.py).
            self.fields["quantity"].widget.attrs["max"] = returnable_at_most(self.order_line)
            if self.order_line.product.is_serial_tracked:
                serials = self.order_line.serial_numbers or []
                self.fields["serial_numbers"].choices = [(s, s) for s in serials]

    @property
    def is_serial_tracked(self) -> bool:
        return self.order_line is not None and self.order_line.product.is_serial_tracked

    def clean_quantity(self):
        return self.cleaned_data.get("quantity") or 0

    def clean(self):
        cleaned = super().clean()
        if self.order_line is None and "order_line" in cleaned:
            self.add_error(
                None, _("Unknown order line: choose a line of one of the orders you picked.")
            )
        if cleaned.get("files") and not cleaned.get("quantity"):
            self.add_error("files", _("Attach files only to lines you return."))
        return cleaned


class BaseReturnLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen: set[int] = set()
        for form in self.forms:
            order_line = form.cleaned_data.get("order_line")
            if order_line in seen:
                raise ValidationError(_("An order line is listed twice."))
            seen.add(order_line)


ReturnLineFormSet = forms.formset_factory(
    ReturnLineForm,
    formset=BaseReturnLineFormSet,
    extra=0,
    max_num=MAX_LINES_PER_RETURN,
    absolute_max=MAX_LINES_PER_RETURN,
    validate_max=True,
)


class ReturnFilesForm(forms.Form):
    files = MultipleFileField(label=_("Photos or documents for the whole return"))


# --- wizard step 3: resolution and shipping ---------------------------------------------


class ReturnDetailsForm(forms.Form):
    requested_resolution = forms.ChoiceField(
        label=_("What would you like?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the resolution you would like.")},
    )
    return_method = forms.ChoiceField(
        label=_("How will the goods come back?"),
        widget=forms.RadioSelect,
        choices=ReturnMethod.choices,
        error_messages={"required": _("Choose how the goods will come back.")},
    )
    pickup_date = forms.DateField(
        label=_("Pickup date"),
        required=False,
        widget=IsoDateInput,
        help_text=_("A working day within the next 30 days."),
    )
    pickup_address = forms.CharField(
        label=_("Pickup address"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    customer_note = forms.CharField(
        label=_("Note for our team"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, resolutions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requested_resolution"].choices = [
            (value, label) for value, label in Resolution.choices if value in resolutions
        ]


# --- detail page ------------------------------------------------------------------------


class InfoAnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Your answer"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write your answer.")},
    )


class ReturnMessageForm(forms.Form):
    note = forms.CharField(
        label=_("Message"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write a message.")},
    )


class AttachmentUploadForm(forms.Form):
    files = MultipleFileField(
        label=_("Photos or documents"),
        required=True,
        help_text=_("JPEG, PNG, WebP or PDF."),
        error_messages={"required": _("Choose a file to upload.")},
    )

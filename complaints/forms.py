"""Forms of the customer portal's complaint pages: list filters, filing, replies, reopening
and the rating.

Forms check types and shapes; the services decide what is allowed (their `ApplicationError`
is put back on the form by `rma_portal.forms.add_application_error`).
"""

from __future__ import annotations

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from customers.models import Order, OrderLine
from rma_portal.forms import IsoDateInput, MultipleFileField, add_application_error
from rma_portal.surveys.forms import nps_field

from .models import ComplaintCategory, ComplaintStatus, Priority
from .services.complaints import MAX_FILES_PER_MESSAGE, MAX_TEXT

__all__ = [
    "ORDER_NUMBER_MAX_LENGTH",
    "ComplaintFileForm",
    "ComplaintFilterForm",
    "ComplaintRatingForm",
    "ComplaintReopenForm",
    "ComplaintReplyForm",
    "add_application_error",
]

# The longest order number the ERP gives (customers.models.Order.number).
ORDER_NUMBER_MAX_LENGTH = 40

PRIORITY_HINTS = {
    Priority.LOW: _("A question or a small problem that can wait."),
    Priority.NORMAL: _("Most complaints: something is wrong and should be put right."),
    Priority.HIGH: _("The problem disrupts your work or your deliveries."),
    Priority.URGENT: _("Your work has stopped, for example a production line is down."),
}

RATING_CHOICES = [
    (1, _("Very poor")),
    (2, _("Poor")),
    (3, _("Fair")),
    (4, _("Good")),
    (5, _("Excellent")),
]


# --- list -------------------------------------------------------------------------------


class ComplaintFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *ComplaintStatus.choices],
    )
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("Any category")), *ComplaintCategory.choices],
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        required=False,
        choices=[("", _("Any priority")), *Priority.choices],
    )
    created_from = forms.DateField(label=_("Filed from"), required=False, widget=IsoDateInput)
    created_to = forms.DateField(label=_("Filed to"), required=False, widget=IsoDateInput)
    q = forms.CharField(label=_("Number or subject"), required=False, max_length=100)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The end date is before the start date."))
        return cleaned

    def selector_filters(self) -> dict:
        """Keyword arguments for `complaints_list`, from the fields that are valid."""
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or "",
            "category": data.get("category") or "",
            "priority": data.get("priority") or "",
            "created_from": data.get("created_from"),
            "created_to": data.get("created_to"),
            "search": data.get("q") or "",
        }


# --- filing -----------------------------------------------------------------------------


def company_order_by_number(*, customer_account, number: str) -> Order | None:
    """The company's order with this number, whatever its case and the spaces around it (the
    exact spelling first, should two numbers differ only in case); None for any other."""
    number = number.strip()
    if not number or len(number) > ORDER_NUMBER_MAX_LENGTH or "\x00" in number:
        return None
    matches = list(
        Order.objects.filter(customer_account=customer_account, number__iexact=number).order_by(
            "-order_date", "-pk"
        )[:10]
    )
    return next((order for order in matches if order.number == number), None) or (
        matches[0] if matches else None
    )


class ComplaintFileForm(forms.Form):
    """A new complaint. The order is given by its number: typed (without JavaScript), or
    picked from the company's orders as the customer types (static/js/order_picker.js, which
    fills in the same field). The order line select lists the lines of the chosen order only:
    without JavaScript the customer asks for them ("Show the order's lines")."""

    category = forms.ChoiceField(
        label=_("What is the complaint about?"),
        choices=[("", _("Choose a category")), *ComplaintCategory.choices],
        error_messages={"required": _("Choose a category.")},
    )
    priority = forms.ChoiceField(
        label=_("How urgent is it?"),
        choices=Priority.choices,
        initial=Priority.NORMAL,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a priority.")},
    )
    order_number = forms.CharField(
        label=_("Order number"),
        required=False,
        max_length=ORDER_NUMBER_MAX_LENGTH,
        help_text=_(
            "Optional: the number of the order the complaint is about, as on your order "
            "confirmation or invoice."
        ),
        error_messages={
            "max_length": _("An order number has at most %(limit_value)d characters."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    order_line = forms.TypedChoiceField(
        label=_("Order line"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Optional: the product of the order the complaint is about."),
        error_messages={"invalid_choice": _("Choose a line of the chosen order.")},
    )
    subject = forms.CharField(
        label=_("Subject"),
        max_length=200,
        error_messages={"required": _("Give the complaint a subject.")},
    )
    description = forms.CharField(
        label=_("Describe the problem"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Describe the problem.")},
    )
    files = MultipleFileField(
        label=_("Photos or documents"),
        max_files=MAX_FILES_PER_MESSAGE,
        help_text=_("Optional. JPEG, PNG, WebP or PDF."),
    )

    def __init__(self, *args, customer_account, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer_account = customer_account
        self.chosen_order = self.find_order()
        self.order_lines: list[OrderLine] = []
        if self.chosen_order is not None:
            self.order_lines = list(
                OrderLine.objects.filter(order=self.chosen_order)
                .select_related("product")
                .order_by("line_number")
            )
        else:
            self.fields["order_line"].error_messages["invalid_choice"] = _(
                "Choose the order first, then one of its lines."
            )
        self.fields["order_line"].choices = [
            ("", _("The whole order")),
            *((line.pk, self._line_label(line)) for line in self.order_lines),
        ]

    def _given(self, name: str):
        """A field's value as sent, or its initial value when the form is not bound."""
        return self.data.get(self.add_prefix(name)) if self.is_bound else self.initial.get(name)

    def find_order(self) -> Order | None:
        """The company's order the complaint is about, from its number."""
        self.order_number_given = str(self._given("order_number") or "").strip()
        order = company_order_by_number(
            customer_account=self.customer_account, number=self.order_number_given
        )
        # Shown under the field when the form is not bound (the order's lines were asked
        # for): a bound form says the same through clean_order_number.
        self.order_number_error = ""
        if self.order_number_given and order is None:
            self.order_number_error = self.unknown_order_message(self.order_number_given)
        return order

    def chosen_order_id(self) -> int | None:
        """The valid form's order (its id), or None."""
        order = self.cleaned_data.get("order_number")
        return order.pk if order else None

    @staticmethod
    def unknown_order_message(number: str) -> str:
        if "\x00" in number:
            return str(ProhibitNullCharactersValidator.message)
        if len(number) > ORDER_NUMBER_MAX_LENGTH:
            return str(
                _("An order number has at most %(limit_value)d characters.")
                % {"limit_value": ORDER_NUMBER_MAX_LENGTH}
            )
        return str(
            _(
                "Your company has no order numbered “%(number)s”. Check the number on your "
                "order confirmation or invoice, or leave the field empty."
            )
            % {"number": number}
        )

    def clean_order_number(self) -> Order | None:
        number = self.cleaned_data["order_number"].strip()
        if not number:
            return None
        if self.chosen_order is None:
            raise forms.ValidationError(self.unknown_order_message(number), code="unknown_order")
        return self.chosen_order

    @staticmethod
    def _line_label(line: OrderLine) -> str:
        return f"{line.line_number}. {line.product.name} ({line.product.sku}) × {line.quantity}"

    def priority_options(self) -> list[tuple]:
        """The priority radios with what each priority means."""
        return [(radio, PRIORITY_HINTS.get(radio.data["value"], "")) for radio in self["priority"]]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "category": data["category"],
            "priority": data["priority"],
            "subject": data["subject"],
            "description": data["description"],
            "order_id": self.chosen_order_id(),
            "order_line_id": data["order_line"],
            "uploads": data["files"],
        }


# --- detail page ------------------------------------------------------------------------


class ComplaintReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write a message.")},
    )
    files = MultipleFileField(
        label=_("Photos or documents"),
        max_files=MAX_FILES_PER_MESSAGE,
        help_text=_("Optional. JPEG, PNG, WebP or PDF."),
    )


class ComplaintReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still wrong?"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why the complaint is not resolved.")},
    )


class ComplaintRatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your rating"),
        coerce=int,
        choices=RATING_CHOICES,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a rating from 1 to 5."),
            "invalid_choice": _("Choose a rating from 1 to 5."),
        },
    )
    # The survey's optional 0–10 question, drawn by templates/surveys/_nps_fieldset.html.
    nps = nps_field()
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def score_options(self) -> list[tuple]:
        """The score radios with their stars, for the star rating."""
        return [
            (radio, "★" * radio.data["value"] + "☆" * (5 - radio.data["value"]))
            for radio in self["score"]
        ]

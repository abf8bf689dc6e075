"""What the back-office's filing of returns and complaints for a customer shares: whom the
case is for (company, then customer user), how the customer reached the staff (the channel),
and the timeline's sentence saying who filed it for whom. Returns and complaints never import
each other, so the shared part lives here, with the customer companies it is about."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rma_portal.accounts.models import CUSTOMER_ROLES, User
from rma_portal.ids import parse_id

from .cases import CaseChannel
from .models import CustomerAccount

# How a customer reaches the staff who file a case for them. The portal and the API are the
# customer's and the integration's own ways in, never chosen by staff.
STAFF_CHANNELS = (CaseChannel.PHONE, CaseChannel.EMAIL, CaseChannel.CHAT, CaseChannel.ON_SITE)


# The timeline's first entry of a case staff filed for a customer; one sentence per channel,
# so that a translation need not agree with an inserted word.
FILED_FOR_CUSTOMER = {
    CaseChannel.PHONE: _("Filed by %(agent)s for %(customer)s by phone"),
    CaseChannel.EMAIL: _("Filed by %(agent)s for %(customer)s by e-mail"),
    CaseChannel.CHAT: _("Filed by %(agent)s for %(customer)s by chat"),
    CaseChannel.ON_SITE: _("Filed by %(agent)s for %(customer)s on site"),
    CaseChannel.PORTAL: _("Filed by %(agent)s for %(customer)s in the portal"),
    CaseChannel.API: _("Filed by %(agent)s for %(customer)s through the API"),
}


def filed_for_customer_text(*, filed_by: User, customer: User, channel: str) -> str:
    """ "Filed by Anna Agent for Piotr Nowak by phone": who filed a case for whom, and how
    the customer reached them (returns' and complaints' back-office timelines)."""
    sentence = FILED_FOR_CUSTOMER.get(channel, FILED_FOR_CUSTOMER[CaseChannel.PORTAL])
    return str(sentence) % {"agent": filed_by.get_full_name(), "customer": customer.get_full_name()}


def staff_channel_field() -> forms.ChoiceField:
    """The channel of a case staff file for a customer (returns and complaints alike)."""
    return forms.ChoiceField(
        label=_("channel"),
        choices=[
            ("", _("— how did the customer reach you? —")),
            *((channel.value, channel.label) for channel in STAFF_CHANNELS),
        ],
        error_messages={
            "required": _("Choose the channel the customer reached you through."),
            "invalid_choice": _("Choose the channel the customer reached you through."),
        },
    )


class FilingCustomerForm(forms.Form):
    """Whom staff file a return or a complaint for: an active company of the tenant, then one
    of its active customer users. A GET form: the page reloads with the company's users."""

    company = forms.ModelChoiceField(
        label=_("company"),
        queryset=CustomerAccount.objects.none(),
        empty_label=_("— choose a company —"),
        error_messages={
            "required": _("Choose the company."),
            "invalid_choice": _("Choose an active company of this tenant."),
        },
    )
    customer = forms.ModelChoiceField(
        label=_("customer user"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— choose the customer user —"),
        error_messages={"invalid_choice": _("Choose an active user of the chosen company.")},
    )

    def __init__(self, data=None, *, tenant, **kwargs):
        super().__init__(data, **kwargs)
        companies = (
            CustomerAccount.objects.for_tenant(tenant).filter(is_active=True).order_by("name", "pk")
        )
        self.fields["company"].queryset = companies
        self.fields["company"].label_from_instance = lambda c: f"{c.name} ({c.number})"
        company_id = parse_id(self.data.get("company")) if self.is_bound else None
        self.chosen_company = (
            companies.filter(pk=company_id).first() if company_id is not None else None
        )
        if self.chosen_company is not None:
            field = self.fields["customer"]
            field.queryset = User.objects.filter(
                tenant=tenant,
                is_active=True,
                role__in=CUSTOMER_ROLES,
                customer_membership__customer_account=self.chosen_company,
            ).order_by("full_name", "email")
            field.label_from_instance = lambda u: f"{u.get_full_name()} <{u.email}>"

    def chosen(self):
        """(company, customer user) when both are chosen and valid, else None."""
        if not self.is_bound or not self.is_valid():
            return None
        customer = self.cleaned_data.get("customer")
        if customer is None:
            return None
        return self.cleaned_data["company"], customer


@dataclass
class FilingPage:
    """The start of a back-office page filing a case for a customer (`filing_page`)."""

    chooser: FilingCustomerForm
    context: dict
    template: str
    company: CustomerAccount | None = None
    customer: User | None = None

    def render(self, request, **extra) -> TemplateResponse:
        return TemplateResponse(request, self.template, {**self.context, **extra})


def filing_page(model_admin, request, *, title: str) -> FilingPage:
    """The chooser of company and customer user (from the query string), the page's context
    and its template (admin/<app>/<model>/file_for_customer.html). `company` and `customer`
    stay None until both are chosen; a POST made before that gets an error message."""
    opts = model_admin.opts
    chooser = FilingCustomerForm(request.GET or None, tenant=request.tenant)
    page = FilingPage(
        chooser=chooser,
        template=f"admin/{opts.app_label}/{opts.model_name}/file_for_customer.html",
        context={
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": opts,
            "app_label": opts.app_label,
            "has_view_permission": True,
            "chooser": chooser,
            "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        },
    )
    chosen = chooser.chosen()
    if chosen is None:
        if request.method == "POST":
            messages.error(request, gettext("Choose the company and the customer user first."))
    else:
        page.company, page.customer = chosen
        page.context.update({"company": page.company, "customer": page.customer})
    return page

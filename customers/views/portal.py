"""Customer portal pages: the company's home with its orders and their search, an order with
its returns and complaints, the order picker's search, the team, and the signed-in user's
e-mail settings."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import Throttled

from customers import selectors, services
from customers.cases import order_cases
from customers.models import TeamInvitation
from rma_portal.accounts.models import Role
from rma_portal.api.throttling import ApiRateThrottle
from rma_portal.errors import ApplicationError, error_body
from rma_portal.forms import add_application_error
from rma_portal.languages import (
    customer_language,
    native_choices,
    offered_languages,
    remember_language,
)
from rma_portal.notifications import preferences

from .access import customer_admin_required, customer_required

ORDERS_PER_PAGE = 10
# The order picker's answer: this many orders at most, the newest first.
PICKER_RESULTS = 10
PICKER_PRODUCTS = 3


# What the order picker (static/js/order_picker.js) says; %(count)s and %(number)s are
# filled in by the script.
ORDER_PICKER_TEXTS = {
    "list_label": gettext_lazy("Orders found"),
    "count": gettext_lazy(
        "Orders found: %(count)s. Choose one with the arrow keys and Enter, or keep typing."
    ),
    "more": gettext_lazy("More orders match: type more of the number to see them."),
    "none": gettext_lazy(
        "No order of your company matches. Check the number on your order confirmation or invoice."
    ),
    "chosen": gettext_lazy("Order %(number)s chosen."),
    "failed": gettext_lazy("The orders cannot be searched just now: type the whole order number."),
}


def order_picker_context() -> dict:
    """What a form with the order picker passes to its template: the search's address and the
    script's texts (for json_script)."""
    return {
        "search_url": reverse("portal:order_search"),
        "texts": {key: str(text) for key, text in ORDER_PICKER_TEXTS.items()},
    }


class OrderSearchForm(forms.Form):
    """The search of the company's orders (`selectors.order_search_q`), in the portal's list
    and in the order picker's endpoint."""

    q = forms.CharField(
        label=gettext_lazy("Search orders"),
        required=False,
        max_length=selectors.ORDER_SEARCH_MAX_LENGTH,
        help_text=gettext_lazy(
            "Order or invoice number, SKU, product name, serial number or lot number."
        ),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def search(self) -> str:
        """The search to run: empty when there is none or it is not valid."""
        if not self.is_bound or not self.is_valid():
            return ""
        return selectors.normalised_search(self.cleaned_data["q"])


@customer_required
def home(request):
    form = OrderSearchForm(request.GET if "q" in request.GET else None)
    search = form.search()
    orders = selectors.orders_for_customer(customer_account=request.customer_account, search=search)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/home.html",
        {
            "account": request.customer_account,
            "form": form,
            "search": search,
            "page": page,
            "orders": page.object_list,
        },
    )


@customer_required
def order_detail(request, order_id: int):
    order = selectors.order_for_customer(
        customer_account=request.customer_account, order_id=order_id
    )
    if order is None:
        raise Http404
    # The invoices that billed its lines (loaded with the lines), else the order's reference.
    invoices = sorted(
        {line.invoice for line in order.lines.all() if line.invoice_id},
        key=lambda invoice: (invoice.issue_date, invoice.number),
    )
    return render(
        request,
        "portal/order_detail.html",
        {
            "order": order,
            "invoices": invoices,
            # The returns and complaints about it the user may see (customers.cases).
            "cases": order_cases(order=order, user=request.user),
        },
    )


def _products_summary(order) -> str:
    lines = list(order.lines.all())
    names = ", ".join(line.product.name for line in lines[:PICKER_PRODUCTS])
    more = len(lines) - PICKER_PRODUCTS
    if more > 0:
        # The same words as the returns' order list (templates/portal/returns/_order_row.html).
        names += " " + ngettext("and %(counter)s more", "and %(counter)s more", more) % {
            "counter": more
        }
    return names


@require_GET
@customer_required
def order_search(request):
    """The order picker's search (static/js/order_picker.js): `?q=` as in the list, the
    newest PICKER_RESULTS orders of the company it finds (the newest without `q`), in JSON.

    Counted against the user's API rate limit (ApiRateThrottle: the tenant's requests per
    minute, one count with the user's API requests); a constant number of queries.
    """
    throttle = ApiRateThrottle()
    allowed = throttle.allow_request(request, None)
    if not allowed:
        message = str(Throttled(wait=throttle.wait()).detail)
        response = JsonResponse(error_body("throttled", message), status=429)
        response["Retry-After"] = str(int(throttle.wait()))
    else:
        form = OrderSearchForm(request.GET)
        if not form.is_valid():
            errors = [str(error) for error in form.errors["q"]]
            response = JsonResponse(error_body("invalid", errors[0], {"q": errors}), status=400)
        else:
            search = form.search()
            orders = list(
                selectors.orders_for_picker(
                    customer_account=request.customer_account, search=search
                )[: PICKER_RESULTS + 1]
            )
            response = JsonResponse(
                {
                    "query": search,
                    "results": [
                        {
                            "id": order.pk,
                            "number": order.number,
                            "order_date": order.order_date.isoformat(),
                            "label": f"{order.number} · "
                            f"{date_format(order.order_date, 'SHORT_DATE_FORMAT')}",
                            "products": _products_summary(order),
                        }
                        for order in orders[:PICKER_RESULTS]
                    ],
                    "more": len(orders) > PICKER_RESULTS,
                }
            )
    for name, value in throttle.state.headers().items():
        response[name] = value
    return response


CUSTOMER_ROLE_CHOICES = [
    (Role.CUSTOMER_USER, Role.CUSTOMER_USER.label),
    (Role.CUSTOMER_ADMIN, Role.CUSTOMER_ADMIN.label),
]


class ColleagueForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200)
    email = forms.EmailField(label=gettext_lazy("E-mail"))
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=CUSTOMER_ROLE_CHOICES, initial=Role.CUSTOMER_USER
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        # The languages the tenant offers its customers, each named in itself.
        self.fields["language"].choices = native_choices(offered_languages(tenant))


class RoleForm(forms.Form):
    """A member's role on the team list (one small form per member)."""

    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=CUSTOMER_ROLE_CHOICES)


@customer_admin_required
def team(request):
    """The company's users (active and deactivated, with their role and last sign-in) and the
    invitations not taken up yet; invite a colleague. A constant number of queries."""
    account = request.customer_account
    form = ColleagueForm(
        request.POST or None,
        tenant=request.tenant,
        initial={"language": customer_language(request.tenant, account.preferred_language)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_user_create(
                customer_account=account,
                actor=request.user,
                base_url=request.build_absolute_uri("/"),
                **form.cleaned_data,
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            # One answer whatever became of the address: whether it already has an account
            # anywhere on the platform is not this company's to learn.
            messages.success(
                request,
                _(
                    "We sent an e-mail to %(email)s. Your colleague is listed as invited until "
                    "they have chosen a password."
                )
                % {"email": form.cleaned_data["email"].strip().lower()},
            )
            return redirect("portal:team")
    colleagues = list(selectors.colleagues_of(customer_account=account))
    invitations = list(selectors.pending_invitations_of(customer_account=account))
    # When a member was invited: their invitation's row, if the company invited them.
    sent = dict(
        TeamInvitation.objects.for_tenant(account.tenant)
        .filter(customer_account=account, email__in=[m.user.email for m in colleagues])
        .values_list("email", "first_sent_at")
    )
    for membership in colleagues:
        membership.invited_at = sent.get(membership.user.email)
    return render(
        request,
        "portal/team.html",
        {
            "colleagues": colleagues,
            "invitations": invitations,
            "role_choices": CUSTOMER_ROLE_CHOICES,
            "form": form,
        },
    )


def _colleague_or_404(request, user_id: int):
    membership = (
        selectors.colleagues_of(customer_account=request.customer_account)
        .filter(user_id=user_id)
        .first()
    )
    if membership is None:
        raise Http404
    return membership


@require_POST
@customer_admin_required
def team_member_set_active(request, user_id: int):
    membership = _colleague_or_404(request, user_id)
    active = request.POST.get("active") == "1"
    try:
        services.customer_user_set_active(user=membership.user, active=active, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        text = (
            _("%(email)s can sign in again.") if active else _("%(email)s can no longer sign in.")
        )
        messages.success(request, text % {"email": membership.user.email})
    return redirect("portal:team")


@require_POST
@customer_admin_required
def team_member_set_role(request, user_id: int):
    membership = _colleague_or_404(request, user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a customer role."))
        return redirect("portal:team")
    try:
        user = services.customer_user_set_role(
            user=membership.user, role=form.cleaned_data["role"], actor=request.user
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("portal:team")
    messages.success(
        request,
        _("%(email)s is now: %(role)s.") % {"email": user.email, "role": Role(user.role).label},
    )
    if user.pk == request.user.pk and not user.is_customer_admin:
        # No longer an administrator: the team page is not theirs any more.
        return redirect("portal:home")
    return redirect("portal:team")


@require_POST
@customer_admin_required
def team_invitation_resend(request, invitation_id: int):
    invitation = (
        selectors.pending_invitations_of(customer_account=request.customer_account)
        .select_related("customer_account")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise Http404
    try:
        services.customer_invitation_resend(
            invitation=invitation,
            actor=request.user,
            base_url=request.build_absolute_uri("/"),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("We sent the invitation to %(email)s again.") % {"email": invitation.email},
        )
    return redirect("portal:team")


class EmailSettingsForm(forms.Form):
    """One radio group per kind of e-mail (immediately, in the daily digest, or never), and
    the language of the portal and of the e-mails among those the tenant offers."""

    # Not required: a form without it (an empty POST) leaves the language as it is.
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        help_text=gettext_lazy("The language of the portal and of your e-mails."),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in preferences.KINDS:
            self.fields[kind.key] = forms.ChoiceField(
                label=kind.label,
                help_text=kind.help,
                choices=preferences.Delivery.choices,
                widget=forms.RadioSelect,
                error_messages={
                    "required": gettext_lazy("Choose how you receive these e-mails."),
                    "invalid_choice": gettext_lazy(
                        "Choose immediately, in a daily digest or never."
                    ),
                },
            )
        # The languages the tenant offers its customers, each named in itself.
        self.fields["language"].choices = native_choices(offered_languages(tenant))
        self.order_fields([*preferences.KIND_KEYS, "language"])

    def kind_fields(self):
        return [self[key] for key in preferences.KIND_KEYS]


@customer_required
def profile(request):
    """The signed-in user's own e-mail settings and language: nobody else's can be changed
    here."""
    user = request.user
    form = EmailSettingsForm(
        request.POST if request.method == "POST" else None,
        tenant=request.tenant,
        initial={**preferences.choices_of(user), "language": user.preferred_language},
    )
    if request.method == "POST" and form.is_valid():
        choices = {key: form.cleaned_data[key] for key in preferences.KIND_KEYS}
        language = form.cleaned_data["language"]
        try:
            with transaction.atomic():
                # Every kind at once, in one UPDATE of the user's own row.
                preferences.email_preferences_set(user=user, choices=choices)
                if language and language != user.language:
                    user.language = language
                    user.save(update_fields=["language"])
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            if language:
                translation.activate(language)
            messages.success(request, _("Your e-mail settings are saved."))
            response = redirect("portal:profile")
            if language:
                remember_language(response, language)
            return response
    return render(
        request,
        "portal/profile.html",
        {
            "form": form,
            "always_immediate": preferences.ALWAYS_IMMEDIATE,
            "digest_hour": f"{settings.NOTIFICATION_DIGEST_HOUR:02d}:00",
        },
    )

"""Customer portal pages: the company's home with its orders, an order, the team, and the
signed-in user's e-mail settings."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from customers import selectors, services
from rma_portal.accounts.models import Role
from rma_portal.errors import ApplicationError
from rma_portal.forms import add_application_error

from .access import customer_admin_required, customer_required

ORDERS_PER_PAGE = 10


@customer_required
def home(request):
    orders = selectors.orders_for_customer(customer_account=request.customer_account)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/home.html",
        {"account": request.customer_account, "page": page, "orders": page.object_list},
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
    return render(request, "portal/order_detail.html", {"order": order, "invoices": invoices})


class ColleagueForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200)
    email = forms.EmailField(label=gettext_lazy("E-mail"))
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=[
            (Role.CUSTOMER_USER, Role.CUSTOMER_USER.label),
            (Role.CUSTOMER_ADMIN, Role.CUSTOMER_ADMIN.label),
        ],
        initial=Role.CUSTOMER_USER,
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)


@customer_admin_required
def team(request):
    account = request.customer_account
    form = ColleagueForm(request.POST or None, initial={"language": account.preferred_language})
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
                    "We sent an e-mail to %(email)s. Your colleague appears in this list once "
                    "they have chosen a password."
                )
                % {"email": form.cleaned_data["email"].strip().lower()},
            )
            return redirect("portal:team")
    colleagues = selectors.colleagues_of(customer_account=account)
    return render(request, "portal/team.html", {"colleagues": colleagues, "form": form})


@require_POST
@customer_admin_required
def team_member_set_active(request, user_id: int):
    membership = (
        selectors.colleagues_of(customer_account=request.customer_account)
        .filter(user_id=user_id)
        .first()
    )
    if membership is None:
        raise Http404
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


class EmailSettingsForm(forms.Form):
    wants_status_emails = forms.BooleanField(
        label=gettext_lazy("Send me e-mails about every status change"),
        required=False,
        help_text=gettext_lazy(
            "Confirmations, goods received and new messages. Decisions, questions we need you "
            "to answer and password links are always sent."
        ),
    )


@customer_required
def profile(request):
    """The signed-in user's own e-mail settings: nobody else's can be changed here."""
    user = request.user
    # Bound on every POST: an unticked box sends nothing, and an empty POST still means "off".
    form = EmailSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"wants_status_emails": user.wants_status_emails},
    )
    if request.method == "POST" and form.is_valid():
        # One preference of the user's own row: no rules beyond the form, so no service.
        user.wants_status_emails = form.cleaned_data["wants_status_emails"]
        user.save(update_fields=["wants_status_emails"])
        messages.success(
            request,
            _("You will receive e-mails about every status change.")
            if user.wants_status_emails
            else _("You will receive only essential e-mails: decisions and questions."),
        )
        return redirect("portal:profile")
    return render(request, "portal/profile.html", {"form": form})

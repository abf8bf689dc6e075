"""Back-office: an agent files a complaint for a customer user of a chosen company, e.g. after
a phone call or an e-mail. The form is the portal's (the company's orders and lines, the same
upload checks) with the channel the customer reached staff through; filing is
`complaint_file_for_customer`, the service the API uses: the complaint is the customer's (their
e-mails, their portal), its SLA clocks start now, and nothing is stored unless all of it is.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.filing_forms import FilingCustomerForm
from rma_portal.errors import ApplicationError

from .. import services
from ..admin_forms import FileComplaintForm
from ..forms import add_application_error
from ..models import Priority
from ..services.complaints import STAFF_ACTING_ROLES

# The fields a reload for the order's lines keeps (files are chosen again).
KEPT_FIELDS = ("channel", "category", "priority", "order", "order_line", "subject", "description")


def may_file_for_customers(user) -> bool:
    """Agents, coordinators and tenant admins of a tenant: the staff the filing services let
    act for a customer. Managers only read; a platform superuser works across tenants and
    files nothing (a case is filed by the staff of the customer's tenant)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.tenant_id
        and user.role in STAFF_ACTING_ROLES
    )


def filing_admin_view(model_admin, view):
    """The back-office's own wrapper (sign-in, CSRF, no caching), after a role check that
    answers 403 to everyone signed in who may not file: customers and managers alike."""
    protected = model_admin.admin_site.admin_view(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not (
            may_file_for_customers(user) and model_admin.has_transition_permission(request)
        ):
            raise PermissionDenied
        return protected(request, *args, **kwargs)

    return wrapper


def file_complaint_view(model_admin, request):
    chooser = FilingCustomerForm(request.GET or None, tenant=request.tenant)
    chosen = chooser.chosen()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("File a complaint for a customer"),
        "opts": model_admin.opts,
        "app_label": model_admin.opts.app_label,
        "has_view_permission": True,
        "chooser": chooser,
        "changelist_url": reverse("admin:complaints_complaint_changelist"),
    }
    template = "admin/complaints/complaint/file_for_customer.html"
    if chosen is None:
        if request.method == "POST":
            messages.error(request, _("Choose the company and the customer user first."))
        return TemplateResponse(request, template, context)
    company, customer = chosen
    if request.method == "POST" and "show_lines" in request.POST:
        # Without JavaScript, choosing the order reloads the form with that order's lines.
        initial = {name: request.POST.get(name, "") for name in KEPT_FIELDS}
        initial["priority"] = initial["priority"] or Priority.NORMAL
        form = FileComplaintForm(initial=initial, customer_account=company)
        context["files_again"] = bool(request.FILES)
    elif request.method == "POST":
        form = FileComplaintForm(request.POST, request.FILES, customer_account=company)
        if form.is_valid():
            try:
                complaint = services.complaint_file_for_customer(
                    actor=request.user, customer_id=customer.pk, **form.service_arguments()
                )
            except ApplicationError as error:
                # The service's field errors where the form has the field (an unknown
                # customer, e.g. one deactivated meanwhile, above the form).
                add_application_error(form, error)
            else:
                messages.success(
                    request,
                    _("Complaint %(code)s was filed for %(customer)s.")
                    % {"code": complaint.code, "customer": customer.get_full_name()},
                )
                return HttpResponseRedirect(
                    reverse("admin:complaints_complaint_change", args=[complaint.pk])
                )
        context["files_again"] = bool(request.FILES)
    else:
        form = FileComplaintForm(initial={"priority": Priority.NORMAL}, customer_account=company)
    context.update({"company": company, "customer": customer, "form": form})
    return TemplateResponse(request, template, context)

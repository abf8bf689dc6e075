"""Back-office: an agent files a complaint for a customer user of a chosen company, e.g. after
a phone call or an e-mail. The form is the portal's (the company's orders and lines, the same
upload checks) with the channel the customer reached staff through; filing is
`complaint_file_for_customer`, the service the API uses: the complaint is the customer's (their
e-mails, their portal), its SLA clocks start now, and nothing is stored unless all of it is.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.filing_forms import filing_page
from rma_portal.errors import ApplicationError

from .. import services
from ..admin_forms import FileComplaintForm
from ..forms import add_application_error
from ..models import Priority

# The fields a reload for the order's lines keeps (files are chosen again).
KEPT_FIELDS = ("channel", "category", "priority", "order", "order_line", "subject", "description")


def file_complaint_view(model_admin, request):
    page = filing_page(model_admin, request, title=_("File a complaint for a customer"))
    if page.customer is None:
        return page.render(request)
    company, customer = page.company, page.customer
    context = {}
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
    return page.render(request, form=form, **context)

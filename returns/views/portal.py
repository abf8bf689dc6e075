"""Customer portal pages for returns: the list, the four-step wizard that files a return
against delivered orders, and a return's page with its timeline, messages and files.

Every return is reached through `selectors.return_request_for_user` (a foreign id is a 404);
every change goes through a service, and a service's `ApplicationError` is shown on the page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe
from django_fsm import can_proceed

from customers import selectors as customer_selectors
from customers.cases import CaseKind, link_return, portal_case
from customers.models import Order, OrderLine, ProductCategory
from customers.views.access import customer_required
from rma_portal.errors import ApplicationError
from rma_portal.files.responses import stored_file_response
from rma_portal.files.uploads import UploadRejected, safe_display_name
from rma_portal.ids import parse_id, parse_ids

from .. import labels, selectors, services
from ..forms import (
    LINE_ERROR_KEY,
    AttachmentUploadForm,
    InfoAnswerForm,
    ReturnDetailsForm,
    ReturnFilesForm,
    ReturnFilterForm,
    ReturnLineFormSet,
    ReturnMessageForm,
    WizardOrdersForm,
    add_application_error,
)
from ..models import ReturnLine, ReturnReason, ReturnRequest, ReturnStatus
from ..policies import LineVerdict, PolicyRules, evaluate_line, evaluate_return
from ..progress import return_progress
from ..services.access import is_customer_party
from ..services.attachments import CLOSED_FOR_UPLOADS

RETURNS_PER_PAGE = 20
ORDERS_PER_PAGE = 20
# Step 1 lists orders delivered in the last year; a search by number reaches older ones.
ORDER_LOOKBACK_DAYS = 365
# A return started from a complaint's page ("Start a return for this order"): the complaint id
# per draft id, so that submitting the draft links the return to the complaint.
WIZARD_COMPLAINTS_KEY = "return_wizard_complaints"
REMEMBERED_DRAFTS = 20

EVENT_TITLES = {
    "created": gettext_lazy("Draft started"),
    "submitted": gettext_lazy("Return submitted"),
    "auto_approved": gettext_lazy("Approved automatically"),
    "approved": gettext_lazy("Approved"),
    "info_requested": gettext_lazy("Question from our team"),
    "info_provided": gettext_lazy("Answer sent"),
    "rejected": gettext_lazy("Rejected"),
    "cancelled": gettext_lazy("Cancelled"),
    "received": gettext_lazy("Goods received"),
    "inspected": gettext_lazy("Goods inspected"),
    "resolved": gettext_lazy("Resolved"),
    "credit_note_confirmed": gettext_lazy("Credit note issued"),
    "replacement_order_confirmed": gettext_lazy("Replacement / repair order placed"),
    "closed": gettext_lazy("Closed"),
    "ship_reminder": gettext_lazy("Reminder: please send the goods"),
    "reopened": gettext_lazy("Taken back to be changed"),
    "expired": gettext_lazy("Expired: the goods did not arrive in time"),
    "comment": gettext_lazy("Message"),
    "attachment": gettext_lazy("File added"),
    "assigned": gettext_lazy("Assigned"),
}


# --- access and wizard state ------------------------------------------------------------


def _visible_return(request, return_id: int) -> ReturnRequest:
    return_request = selectors.return_request_for_user(user=request.user, return_id=return_id)
    if return_request is None:
        raise Http404
    return return_request


def draft_step(view):
    """A wizard step: the draft must be visible to the user (else 404) and still a draft."""

    @wraps(view)
    @customer_required
    def wrapper(request, return_id: int, *args, **kwargs):
        return_request = _visible_return(request, return_id)
        if return_request.status != ReturnStatus.DRAFT:
            values = {
                "number": return_request.reference,
                "status": return_request.get_status_display().lower(),
            }
            if return_request.number:
                text = _("Return %(number)s is %(status)s; it can no longer be edited.")
            else:  # a draft cancelled before it was ever submitted
                text = _("%(number)s is %(status)s; it can no longer be edited.")
            messages.info(request, text % values)
            return redirect("portal:return_detail", return_request.pk)
        return view(request, return_request, *args, **kwargs)

    return wrapper


def _complaint_to_link(request):
    """The complaint a new return is started from (`?complaint=<id>`), if the user sees it
    (found through customers.cases, where complaints registers its cases)."""
    complaint_id = parse_id(request.POST.get("complaint") or request.GET.get("complaint"))
    if complaint_id is None:
        return None
    return portal_case(CaseKind.COMPLAINT, user=request.user, pk=complaint_id)


def _remember_complaint(request, draft: ReturnRequest, complaint) -> None:
    remembered = dict(request.session.get(WIZARD_COMPLAINTS_KEY, {}))
    remembered.pop(str(draft.pk), None)
    remembered[str(draft.pk)] = complaint.pk
    while len(remembered) > REMEMBERED_DRAFTS:  # the oldest drafts go first
        remembered.pop(next(iter(remembered)))
    request.session[WIZARD_COMPLAINTS_KEY] = remembered


def _forget_complaint(request, return_request: ReturnRequest) -> int | None:
    """Drop the complaint remembered for a draft; return its id."""
    remembered = request.session.get(WIZARD_COMPLAINTS_KEY) or {}
    if str(return_request.pk) not in remembered:
        return None
    remembered = dict(remembered)
    complaint_id = remembered.pop(str(return_request.pk))
    request.session[WIZARD_COMPLAINTS_KEY] = remembered
    return complaint_id


def _link_to_complaint(request, submitted: ReturnRequest, complaint_id: int) -> None:
    """Link a submitted return to the complaint it was started from. The return stays
    submitted either way; a failed link is reported, never dropped silently."""
    complaint = portal_case(CaseKind.COMPLAINT, user=request.user, pk=complaint_id)
    if complaint is None:
        messages.warning(
            request,
            _(
                "Return %(number)s could not be linked to the complaint it was started from: "
                "the complaint is no longer available to you."
            )
            % {"number": submitted.reference},
        )
        return
    try:
        link_return(
            CaseKind.COMPLAINT, case=complaint, actor=request.user, return_request=submitted
        )
    except ApplicationError as error:
        messages.warning(
            request,
            _("Return %(number)s could not be linked to complaint %(code)s: %(reason)s")
            % {"number": submitted.reference, "code": complaint.code, "reason": error.message},
        )
    else:
        messages.info(
            request,
            _("Return %(number)s is linked to complaint %(code)s.")
            % {"number": submitted.reference, "code": complaint.code},
        )


def _chosen_order_ids(draft: ReturnRequest) -> list[int]:
    """The orders picked in step 1, kept on the draft; for a draft filed elsewhere (the API,
    staff), the orders of its lines."""
    chosen = [pk for pk in draft.wizard_order_ids or [] if isinstance(pk, int)]
    if chosen:
        return chosen
    return sorted(set(draft.lines.values_list("order_line__order_id", flat=True)))


STEP_URL_NAMES = {
    1: "portal:return_wizard_orders",
    2: "portal:return_wizard_lines",
    3: "portal:return_wizard_details",
    4: "portal:return_wizard_review",
}


def _resume_step(return_request: ReturnRequest, *, line_count: int) -> int:
    """The step "continue" opens: the one the customer opened last (`wizard_step`), unless an
    earlier step still needs something; a draft never opened in the wizard (filed through
    the API or by staff), the first step that needs something."""
    if not line_count:
        needed = 2 if return_request.wizard_order_ids else 1
    elif not (return_request.requested_resolution and return_request.return_method):
        needed = 3
    else:
        needed = 4
    if not return_request.wizard_step:
        return needed
    return min(return_request.wizard_step, needed)


def _resume_url(return_request: ReturnRequest, *, line_count: int) -> str:
    step = _resume_step(return_request, line_count=line_count)
    return reverse(STEP_URL_NAMES[step], args=[return_request.pk])


def _left_wizard(request, return_request: ReturnRequest, error: ApplicationError):
    """The draft changed under the user (submitted or cancelled elsewhere, or removed)."""
    messages.error(request, error.message)
    if not ReturnRequest.objects.filter(pk=return_request.pk).exists():
        return redirect("portal:return_list")
    return redirect("portal:return_detail", return_request.pk)


def _reason_choices(rules: PolicyRules) -> list[tuple[str, str]]:
    return [
        (value, label) for value, label in ReturnReason.choices if value in rules.allowed_reasons
    ]


# --- list -------------------------------------------------------------------------------


@customer_required
def return_list(request):
    form = ReturnFilterForm(request.GET if request.GET else None)
    if form.is_bound:
        form.is_valid()  # invalid fields show their errors; the valid ones still filter
    lines = ReturnLine.objects.select_related("order_line__order").order_by("pk")
    # A draft without lines is not listed (the housekeeping removes it after a day); the
    # "New return" page offers to continue the customer's own.
    returns = (
        selectors.return_requests_list(user=request.user, **form.selector_filters())
        .exclude(
            ~Exists(ReturnLine.objects.filter(return_request=OuterRef("pk"))),
            status=ReturnStatus.DRAFT,
        )
        .prefetch_related(Prefetch("lines", queryset=lines))
    )
    page = Paginator(returns, RETURNS_PER_PAGE).get_page(request.GET.get("page"))
    for return_request in page.object_list:
        request_lines = list(return_request.lines.all())
        return_request.line_count = len(request_lines)
        return_request.order_numbers = sorted(
            {line.order_line.order.number for line in request_lines}
        )
        if return_request.status == ReturnStatus.DRAFT:
            return_request.resume_url = _resume_url(
                return_request, line_count=return_request.line_count
            )
    return render(
        request,
        "portal/returns/list.html",
        {
            "form": form,
            "page": page,
            "returns": page.object_list,
            "currency": request.tenant.currency,
        },
    )


# --- wizard step 1: orders --------------------------------------------------------------


@customer_required
def return_new(request):
    return _orders_step(request, draft=None)


@draft_step
def return_wizard_orders(request, draft: ReturnRequest):
    return _orders_step(request, draft=draft)


def _delivered_since(since: datetime.date | None) -> Q:
    """Orders delivered (since `since`): the whole order by its delivery date, or any line the
    ERP reported delivered on its own date (a partial delivery of an order not yet complete)."""
    if since is None:
        return Q(delivery_date__isnull=False) | Exists(
            OrderLine.objects.filter(order=OuterRef("pk"), delivered_on__isnull=False)
        )
    return Q(delivery_date__gte=since) | Exists(
        OrderLine.objects.filter(order=OuterRef("pk"), delivered_on__gte=since)
    )


def _orders_step(request, *, draft: ReturnRequest | None):
    account = request.customer_account
    complaint = _complaint_to_link(request) if draft is None else None
    choosable = Order.objects.filter(_delivered_since(None), customer_account=account)
    if request.method == "POST":
        form = WizardOrdersForm(request.POST, orders=choosable)
        if form.is_valid():
            order_ids = [order.pk for order in form.cleaned_data["orders"]]
            try:
                if draft is None:
                    chosen_for = services.return_draft_create(
                        customer_account=account, requester=request.user, order_ids=order_ids
                    )
                else:
                    chosen_for = services.return_draft_choose_orders(
                        return_request=draft, actor=request.user, order_ids=order_ids
                    )
            except services.ReturnInvalid as error:
                add_application_error(form, error)
            except ApplicationError as error:
                if draft is not None:  # submitted, cancelled or removed meanwhile
                    return _left_wizard(request, draft, error)
                add_application_error(form, error)
            else:
                if complaint is not None:
                    _remember_complaint(request, chosen_for, complaint)
                return redirect("portal:return_wizard_lines", chosen_for.pk)
        selected_ids = parse_ids(request.POST.getlist("orders"), limit=50)
    else:
        form = WizardOrdersForm(orders=choosable)
        if draft is not None:
            services.return_draft_note_step(return_request=draft, step=1)
            selected_ids = _chosen_order_ids(draft)
        else:
            selected_ids = parse_ids(request.GET.getlist("order"), limit=50)

    delivered = customer_selectors.orders_for_customer(customer_account=account).filter(
        _delivered_since(None)
    )
    selected = list(delivered.filter(pk__in=selected_ids)) if selected_ids else []
    query = (request.GET.get("q") or "").strip()[:40]
    listed = delivered.exclude(pk__in=[order.pk for order in selected])
    if query:
        listed = listed.filter(number__icontains=query)
    else:
        since = selectors.tenant_today(request.tenant) - datetime.timedelta(
            days=ORDER_LOOKBACK_DAYS
        )
        listed = listed.filter(_delivered_since(since))
    page = Paginator(listed, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    unfinished = []
    if draft is None:
        unfinished = selectors.empty_drafts_of(user=request.user)
        chosen = {pk for other in unfinished for pk in other.wizard_order_ids or []}
        numbers = dict(delivered.filter(pk__in=chosen).values_list("pk", "number"))
        for other in unfinished:
            other.order_numbers = [
                numbers[pk] for pk in other.wizard_order_ids or [] if pk in numbers
            ]
            other.resume_url = _resume_url(other, line_count=0)
    return render(
        request,
        "portal/returns/wizard_orders.html",
        {
            "draft": draft,
            "step": 1,
            "form": form,
            "selected": selected,
            "page": page,
            "orders": page.object_list,
            "query": query,
            "lookback_days": ORDER_LOOKBACK_DAYS,
            "complaint": complaint,
            "unfinished": unfinished,
        },
    )


# --- wizard step 2: lines ---------------------------------------------------------------


@dataclass
class LineRow:
    """One order line on step 2: its form, what is left to return, and the policy preview."""

    form: object
    order_line: OrderLine | None
    delivered: int = 0
    claimed: int = 0
    returnable: int = 0
    verdict: LineVerdict | None = None
    attachments: list = field(default_factory=list)


def _line_rows(formset, *, rules, today, claimed, saved_lines) -> list[LineRow]:
    rows = []
    fallback_reason = rules.allowed_reasons[0] if rules.allowed_reasons else ReturnReason.OTHER
    for form in formset.forms:
        order_line = form.order_line
        if order_line is None:
            rows.append(LineRow(form=form, order_line=None))
            continue
        saved = saved_lines.get(order_line.pk)
        facts = selectors.line_facts(
            order_line=order_line,
            quantity=saved.quantity if saved else 1,
            reason=saved.reason if saved else fallback_reason,
            claimed_elsewhere=claimed.get(order_line.pk, 0),
        )
        verdict = evaluate_line(rules, facts, today=today)
        # The browser refuses more than can still be returned, before the page is sent.
        form.fields["quantity"].widget.attrs["max"] = verdict.returnable_quantity
        rows.append(
            LineRow(
                form=form,
                order_line=order_line,
                delivered=facts.quantity_delivered,
                claimed=claimed.get(order_line.pk, 0),
                returnable=verdict.returnable_quantity,
                verdict=verdict,
                attachments=list(saved.attachments.all()) if saved else [],
            )
        )
    return rows


def _put_line_errors(formset, forms_by_input: list, error: ApplicationError) -> list[str]:
    """Place `lines[i].field` errors on the form of the i-th line sent to the service;
    return the errors that belong to no line."""
    general = []
    for key, texts in error.fields.items():
        match = LINE_ERROR_KEY.fullmatch(key)
        if match is None or int(match[1]) >= len(forms_by_input):
            general.extend(texts)
            continue
        form = forms_by_input[int(match[1])]
        name = match[2] if match[2] in form.fields and match[2] != "order_line" else None
        form.add_error(name, list(texts))
    if not error.fields:
        general.append(error.message)
    return general


def _attach_uploads(request, draft: ReturnRequest, uploads: list) -> tuple[int, list[str]]:
    stored, problems = 0, []
    for upload, line in uploads:
        try:
            services.return_attachment_add(
                return_request=draft, actor=request.user, upload=upload, line=line
            )
        except ApplicationError as error:
            problems.append(
                _("Your lines were saved, but %(name)s was not attached: %(reason)s")
                % {"name": safe_display_name(upload.name), "reason": error.message}
            )
        else:
            stored += 1
    return stored, problems


@draft_step
def return_wizard_lines(request, draft: ReturnRequest):
    order_ids = _chosen_order_ids(draft)
    if not order_ids:
        messages.info(request, _("Choose the orders you are returning goods from."))
        return redirect("portal:return_wizard_orders", draft.pk)
    account = draft.customer_account
    order_lines = {
        line.pk: line
        for line in selectors.returnable_order_lines(customer_account=account, order_ids=order_ids)
    }
    saved_lines = {line.order_line_id: line for line in draft.lines.prefetch_related("attachments")}
    rules = selectors.return_rules_for(customer_account=account)
    form_kwargs = {"order_lines": order_lines, "reasons": _reason_choices(rules)}
    initial = []
    for order_line in order_lines.values():
        saved = saved_lines.get(order_line.pk)
        initial.append(
            {
                "order_line": order_line.pk,
                "quantity": saved.quantity if saved else 0,
                "reason": saved.reason if saved else "",
                "reason_text": saved.reason_text if saved else "",
                "comment": saved.customer_comment if saved else "",
                "serial_numbers": saved.serial_numbers if saved else [],
            }
        )
    step_errors: list[str] = []
    if request.method == "POST":
        formset = ReturnLineFormSet(
            request.POST, request.FILES, prefix="lines", form_kwargs=form_kwargs
        )
        files_form = ReturnFilesForm(request.POST, request.FILES, prefix="return")
        if formset.is_valid() and files_form.is_valid():
            inputs, forms_by_input = [], []
            for form in formset.forms:
                data = form.cleaned_data
                if data["quantity"] > 0:
                    inputs.append(
                        services.LineInput(
                            order_line_id=data["order_line"],
                            quantity=data["quantity"],
                            reason=data["reason"],
                            reason_text=data["reason_text"],
                            comment=data["comment"],
                            serial_numbers=tuple(data["serial_numbers"]),
                        )
                    )
                    forms_by_input.append(form)
            try:
                # Refused by the policy now, as submission would refuse it (step 4).
                services.return_draft_set_lines(
                    return_request=draft, actor=request.user, lines=inputs, check_policy=True
                )
            except services.ReturnInvalid as error:
                step_errors = _put_line_errors(formset, forms_by_input, error)
            except ApplicationError as error:
                return _left_wizard(request, draft, error)
            else:
                saved = {line.order_line_id: line for line in draft.lines.all()}
                uploads = [
                    (upload, saved.get(form.cleaned_data["order_line"]))
                    for form in forms_by_input
                    for upload in form.cleaned_data["files"]
                ]
                uploads += [(upload, None) for upload in files_form.cleaned_data["files"]]
                stored, problems = _attach_uploads(request, draft, uploads)
                if stored:
                    messages.success(
                        request,
                        ngettext("%(count)d file attached.", "%(count)d files attached.", stored)
                        % {"count": stored},
                    )
                if problems:
                    for problem in problems:
                        messages.error(request, problem)
                    return redirect("portal:return_wizard_lines", draft.pk)
                return redirect("portal:return_wizard_details", draft.pk)
        elif formset.non_form_errors():
            step_errors = list(formset.non_form_errors())
    else:
        services.return_draft_note_step(return_request=draft, step=2)
        formset = ReturnLineFormSet(prefix="lines", initial=initial, form_kwargs=form_kwargs)
        files_form = ReturnFilesForm(prefix="return")

    claimed = selectors.claimed_quantities(order_line_ids=order_lines, exclude_return_id=draft.pk)
    rows = _line_rows(
        formset,
        rules=rules,
        today=selectors.tenant_today(request.tenant),
        claimed=claimed,
        saved_lines=saved_lines,
    )
    return_files = [a for a in draft.attachments.all() if a.line_id is None]
    return render(
        request,
        "portal/returns/wizard_lines.html",
        {
            "draft": draft,
            "step": 2,
            "formset": formset,
            "files_form": files_form,
            "rows": rows,
            "step_errors": step_errors,
            "has_errors": bool(step_errors) or (formset.is_bound and not formset.is_valid()),
            "return_files": return_files,
            "currency": request.tenant.currency,
        },
    )


# --- wizard step 3: resolution and shipping ---------------------------------------------


@draft_step
def return_wizard_details(request, draft: ReturnRequest):
    if not draft.lines.exists():
        messages.info(request, _("Choose what you are returning first."))
        return redirect("portal:return_wizard_lines", draft.pk)
    rules = selectors.return_rules_for(customer_account=draft.customer_account)
    account = draft.customer_account
    initial = {
        "requested_resolution": draft.requested_resolution,
        "return_method": draft.return_method,
        "pickup_date": draft.pickup_date,
        "pickup_address": draft.pickup_address or "\n".join(account.shipping_address_lines),
        "customer_note": draft.customer_note,
    }
    form = ReturnDetailsForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        resolutions=rules.allowed_resolutions,
    )
    if not form.is_bound:
        services.return_draft_note_step(return_request=draft, step=3)
    if form.is_bound and form.is_valid():
        try:
            services.return_draft_set_details(
                return_request=draft, actor=request.user, **form.cleaned_data
            )
        except services.ReturnInvalid as error:
            add_application_error(form, error)
        except ApplicationError as error:
            return _left_wizard(request, draft, error)
        else:
            return redirect("portal:return_wizard_review", draft.pk)
    return render(
        request,
        "portal/returns/wizard_details.html",
        {"draft": draft, "step": 3, "form": form},
    )


# --- wizard step 4: review and submit ---------------------------------------------------


@draft_step
def return_wizard_review(request, draft: ReturnRequest):
    submit_error = ""
    if request.method == "POST":
        try:
            submitted = services.return_request_submit(return_request=draft, actor=request.user)
        except services.ReturnInvalid as error:
            submit_error = error.message
        except ApplicationError as error:
            return _left_wizard(request, draft, error)
        else:
            complaint_id = _forget_complaint(request, submitted)
            if submitted.status == ReturnStatus.APPROVED:
                text = _(
                    "Return %(number)s was submitted and approved automatically. "
                    "You can send the goods back now."
                )
            else:
                text = _(
                    "Return %(number)s was submitted. We will let you know as soon as it "
                    "has been reviewed."
                )
            messages.success(request, text % {"number": submitted.reference})
            if complaint_id is not None:
                _link_to_complaint(request, submitted, complaint_id)
            return redirect("portal:return_detail", submitted.pk)
    else:
        services.return_draft_note_step(return_request=draft, step=4)

    detailed = selectors.return_request_detail(return_request=draft, public_only=True)
    lines = list(detailed.lines.all())
    # The facts, rules and engine of submission (services.transitions._submit).
    rules = selectors.return_rules_for(customer_account=draft.customer_account)
    facts = selectors.lines_facts(
        [(line.order_line, line.quantity, line.reason) for line in lines],
        exclude_return_id=draft.pk,
    )
    verdict = evaluate_return(
        rules,
        facts,
        resolution=detailed.requested_resolution,
        today=selectors.tenant_today(request.tenant),
    )
    details_missing = not (detailed.requested_resolution and detailed.return_method)
    # The money as the resolution would compute it if every unit were accepted.
    estimate = services.resolution_estimate(
        detailed, lines, rules=rules, free_shipping=verdict.free_shipping
    )
    return render(
        request,
        "portal/returns/wizard_review.html",
        {
            "draft": detailed,
            "step": 4,
            "rows": list(zip(lines, verdict.lines, estimate.lines, strict=True)),
            "verdict": verdict,
            "estimate": estimate,
            "details_missing": details_missing,
            "rules": rules,
            "policy": _policy_summary(rules),
            "can_submit": verdict.allowed and not details_missing,
            "submit_error": submit_error,
            "return_files": [a for a in detailed.attachments.all() if a.line_id is None],
            "currency": request.tenant.currency,
        },
    )


# --- detail -----------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    when: datetime.datetime
    title: str
    actor: str
    from_label: str
    to_label: str
    note: str
    is_message: bool


def _status_label(value: str) -> str:
    try:
        return str(ReturnStatus(value).label)
    except ValueError:
        return value


def _actor_name(actor) -> str:
    """Customers see their colleagues by name and our staff as "Support" + first name."""
    if actor is None:
        return _("Automatic")
    if actor.is_customer:
        return actor.get_full_name()
    first_name = actor.full_name.split(" ")[0] if actor.full_name else ""
    if first_name:
        return _("Support · %(name)s") % {"name": first_name}
    return _("Support")


def _timeline(return_request: ReturnRequest) -> list[TimelineEntry]:
    entries = []
    for event in return_request.events.all():
        changed = bool(event.from_status) and event.from_status != event.to_status
        entries.append(
            TimelineEntry(
                when=event.created_at,
                title=str(EVENT_TITLES.get(event.action, event.action)),
                actor=_actor_name(event.actor),
                from_label=_status_label(event.from_status) if changed else "",
                to_label=_status_label(event.to_status) if changed else "",
                note=event.note,
                is_message=event.action in {"comment", "info_requested", "info_provided"},
            )
        )
    return entries


def _policy_summary(rules: PolicyRules) -> dict:
    codes = set(rules.category_windows) | set(rules.non_returnable_categories)
    names = (
        dict(ProductCategory.objects.filter(code__in=codes).values_list("code", "name"))
        if codes
        else {}
    )
    reason_labels = dict(ReturnReason.choices)
    return {
        "rules": rules,
        "windows": sorted(
            (names.get(code, code), days) for code, days in rules.category_windows.items()
        ),
        "non_returnable_categories": sorted(
            names.get(code, code) for code in rules.non_returnable_categories
        ),
        "free_shipping_reasons": [
            reason_labels[r] for r in ReturnReason.values if r in rules.free_shipping_reasons
        ],
    }


def _render_detail(
    request,
    return_request: ReturnRequest,
    *,
    answer_form=None,
    message_form=None,
    upload_form=None,
):
    detailed = selectors.return_request_detail(return_request=return_request, public_only=True)
    lines = list(detailed.lines.all())
    is_draft = detailed.status == ReturnStatus.DRAFT
    return render(
        request,
        "portal/returns/detail.html",
        {
            "rma": detailed,
            "lines": lines,
            "timeline": _timeline(detailed),
            "attachments": list(detailed.attachments.all()),
            "policy": _policy_summary(selectors.return_rules_applied(return_request=detailed)),
            "is_draft": is_draft,
            "resume_url": _resume_url(detailed, line_count=len(lines)) if is_draft else "",
            "can_cancel": can_proceed(detailed.cancel),
            # The requester (or a customer admin) may take it back to change it until staff
            # decide.
            "can_reopen": can_proceed(detailed.reopen)
            and is_customer_party(request.user, detailed),
            "needs_info": detailed.status == ReturnStatus.NEEDS_INFO,
            "accepts_files": detailed.status not in CLOSED_FOR_UPLOADS,
            "has_label": labels.label_available(detailed),
            "progress": return_progress(detailed),
            "inspected": any(line.accepted_quantity is not None for line in lines),
            "answer_form": answer_form or InfoAnswerForm(),
            "message_form": message_form or ReturnMessageForm(),
            "upload_form": upload_form or AttachmentUploadForm(),
            "currency": request.tenant.currency,
        },
    )


@customer_required
def return_detail(request, return_id: int):
    return _render_detail(request, _visible_return(request, return_id))


@require_POST
@customer_required
def return_cancel(request, return_id: int):
    return_request = _visible_return(request, return_id)
    was_draft = return_request.status == ReturnStatus.DRAFT
    try:
        services.return_request_cancel(return_request=return_request, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("portal:return_detail", return_request.pk)
    _forget_complaint(request, return_request)
    if was_draft:
        if return_request.number:  # a return taken back to be changed
            text = _("The draft %(number)s was cancelled.") % {"number": return_request.number}
        else:
            text = _("%(draft)s was cancelled.") % {"draft": return_request.reference}
        messages.success(request, text)
        return redirect("portal:return_list")
    messages.success(
        request, _("Return %(number)s was cancelled.") % {"number": return_request.reference}
    )
    return redirect("portal:return_detail", return_request.pk)


@require_POST
@customer_required
def return_reopen(request, return_id: int):
    """Take a submitted return back to a draft and continue in the wizard's lines step."""
    return_request = _visible_return(request, return_id)
    try:
        services.return_request_reopen(return_request=return_request, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("portal:return_detail", return_request.pk)
    messages.success(
        request,
        _(
            "Return %(number)s is a draft again: change it, then submit it. Our team sees "
            "it again when you do."
        )
        % {"number": return_request.reference},
    )
    return redirect("portal:return_wizard_lines", return_request.pk)


@require_POST
@customer_required
def return_provide_info(request, return_id: int):
    return_request = _visible_return(request, return_id)
    form = InfoAnswerForm(request.POST)
    if form.is_valid():
        try:
            services.return_request_provide_info(
                return_request=return_request,
                actor=request.user,
                answer=form.cleaned_data["answer"],
            )
        except services.ReturnInvalid as error:
            add_application_error(form, error)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("portal:return_detail", return_request.pk)
        else:
            messages.success(request, _("Thank you, your answer was sent to our team."))
            return redirect("portal:return_detail", return_request.pk)
    return _render_detail(request, return_request, answer_form=form)


@require_POST
@customer_required
def return_comment(request, return_id: int):
    return_request = _visible_return(request, return_id)
    form = ReturnMessageForm(request.POST)
    if form.is_valid():
        try:
            services.return_request_comment(
                return_request=return_request,
                actor=request.user,
                note=form.cleaned_data["note"],
                is_public=True,
            )
        except services.ReturnInvalid as error:
            add_application_error(form, error)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("portal:return_detail", return_request.pk)
        else:
            messages.success(request, _("Your message was sent."))
            return redirect("portal:return_detail", return_request.pk)
    return _render_detail(request, return_request, message_form=form)


@require_POST
@customer_required
def return_upload(request, return_id: int):
    return_request = _visible_return(request, return_id)
    form = AttachmentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        stored, problems = 0, []
        for upload in form.cleaned_data["files"]:
            try:
                services.return_attachment_add(
                    return_request=return_request, actor=request.user, upload=upload
                )
            except (UploadRejected, services.ReturnInvalid) as error:
                problems.append(
                    _("%(name)s was not attached: %(reason)s")
                    % {"name": safe_display_name(upload.name), "reason": error.message}
                )
            except ApplicationError as error:  # the return no longer takes files
                messages.error(request, error.message)
                return redirect("portal:return_detail", return_request.pk)
            else:
                stored += 1
        if stored:
            messages.success(
                request,
                ngettext("%(count)d file attached.", "%(count)d files attached.", stored)
                % {"count": stored},
            )
        if not problems:
            return redirect("portal:return_detail", return_request.pk)
        for problem in problems:
            form.add_error("files", problem)
    return _render_detail(request, return_request, upload_form=form)


@customer_required
def return_attachment(request, return_id: int, attachment_id: int):
    return_request = _visible_return(request, return_id)
    attachment = return_request.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return stored_file_response(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )


@require_safe
@customer_required
def return_label(request, return_id: int):
    """The return label + packing slip PDF; rendered now if the worker has not (yet)."""
    return_request = _visible_return(request, return_id)
    if not labels.label_available(return_request):
        raise Http404
    return stored_file_response(
        labels.return_label_file(return_request=return_request),
        filename=labels.label_filename(return_request),
        content_type="application/pdf",
    )

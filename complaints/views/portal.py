"""Customer portal pages for complaints: the list, filing a complaint, and a complaint's page
with its public thread, files, reply, reopen and rating forms.

Every complaint is reached through `selectors.complaint_for_user` (a foreign id is a 404) and
its thread through `complaint_thread(for_customer=True)`, so internal notes and their files
never reach these pages; every change goes through a service, whose `ApplicationError` is
shown on the page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from customers.cases import CaseKind, portal_case
from customers.models import Order, OrderLine
from customers.views.access import customer_required
from customers.views.portal import order_picker_context
from rma_portal.errors import ApplicationError
from rma_portal.files.responses import stored_file_response
from rma_portal.files.uploads import UploadRejected
from rma_portal.ids import parse_id
from rma_portal.surveys import SurveyChannel

from .. import selectors, services
from ..forms import (
    ORDER_NUMBER_MAX_LENGTH,
    ComplaintFileForm,
    ComplaintFilterForm,
    ComplaintRatingForm,
    ComplaintReopenForm,
    ComplaintReplyForm,
    add_application_error,
)
from ..models import (
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Priority,
    SatisfactionRating,
    priority_change_text,
)
from .survey import rate_from_form

COMPLAINTS_PER_PAGE = 20
# A return can be started from a complaint about goods of an order.
RETURNABLE_CATEGORIES = frozenset({ComplaintCategory.PRODUCT_QUALITY, ComplaintCategory.DELIVERY})
FILE_FORM_FIELDS = ("category", "priority", "order_number", "order_line", "subject", "description")

# Timeline titles of the public events; an event not listed here shows only a status change,
# and its note (which may be meant for staff) is never shown.
EVENT_TITLES = {
    "filed": gettext_lazy("Complaint filed"),
    "started": gettext_lazy("Our team started working on it"),
    "awaiting_customer": gettext_lazy("Waiting for your answer"),
    "customer_replied": gettext_lazy("Answer received"),
    "resolved": pgettext_lazy("complaint status", "Resolved"),
    "rejected": pgettext_lazy("complaint status", "Rejected"),
    "reopened": pgettext_lazy("complaint", "Reopened"),
    "rated": pgettext_lazy("complaint", "Rated"),
    "closed": pgettext_lazy("complaint status", "Closed"),
    "return_linked": gettext_lazy("Return linked"),
    "priority_changed": gettext_lazy("Priority changed"),
}
# Events whose note is meant for the customer and is not already shown as a message.
EVENTS_WITH_PUBLIC_NOTES = frozenset({"resolved", "rejected", "return_linked"})


# --- access -----------------------------------------------------------------------------


def _visible_complaint(request, complaint_id: int) -> Complaint:
    complaint = selectors.complaint_for_user(user=request.user, complaint_id=complaint_id)
    if complaint is None:
        raise Http404
    return complaint


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


def _stars(score: int) -> str:
    return "★" * score + "☆" * (5 - score)


def _status_label(value: str) -> str:
    try:
        return str(ComplaintStatus(value).label)
    except ValueError:
        return value


# --- list -------------------------------------------------------------------------------


@customer_required
def complaint_list(request):
    form = ComplaintFilterForm(request.GET if request.GET else None)
    if form.is_bound:
        form.is_valid()  # invalid fields show their errors; the valid ones still filter
    complaints = selectors.complaints_list(user=request.user, **form.selector_filters())
    page = Paginator(complaints, COMPLAINTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/complaints/list.html",
        {"form": form, "page": page, "complaints": page.object_list},
    )


# --- filing -----------------------------------------------------------------------------


def _preselected(request) -> dict:
    """`?order=<id>` or `?order_line=<id>` from an order's page, or `?order_number=` from the
    order picker asking for the order's lines (foreign and unknown ids are ignored; an unknown
    number is shown with its error)."""
    account = request.customer_account
    initial: dict = {}
    line_id = parse_id(request.GET.get("order_line"))
    if line_id is not None:
        line = (
            OrderLine.objects.filter(pk=line_id, order__customer_account=account)
            .select_related("order")
            .only("pk", "order__number")
            .first()
        )
        if line is not None:
            initial.update(order_number=line.order.number, order_line=line.pk)
    order_id = parse_id(request.GET.get("order"))
    if "order_number" not in initial and order_id is not None:
        order = Order.objects.filter(pk=order_id, customer_account=account).only("number").first()
        if order is not None:
            initial["order_number"] = order.number
    number = request.GET.get("order_number", "")
    if "order_number" not in initial and number.strip():
        initial["order_number"] = number[: ORDER_NUMBER_MAX_LENGTH + 1]
    return initial


@customer_required
def complaint_new(request):
    account = request.customer_account
    if request.method == "POST" and "show_lines" in request.POST:
        # Without JavaScript, choosing the order reloads the form with that order's lines.
        initial = {name: request.POST.get(name, "") for name in FILE_FORM_FIELDS}
        initial["priority"] = initial["priority"] or Priority.NORMAL
        form = ComplaintFileForm(initial=initial, customer_account=account)
        if form.chosen_order is not None:
            messages.info(request, _("Now choose the line, if the complaint is about one."))
    elif request.method == "POST":
        form = ComplaintFileForm(request.POST, request.FILES, customer_account=account)
        if form.is_valid():
            try:
                complaint = services.complaint_file(
                    customer_account=account, reporter=request.user, **form.service_arguments()
                )
            except UploadRejected as error:
                form.add_error("files", error.message)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(
                    request,
                    _("Thank you. Your complaint %(code)s was filed.") % {"code": complaint.code},
                )
                return redirect("portal:complaint_detail", complaint.pk)
    else:
        form = ComplaintFileForm(
            initial={"priority": Priority.NORMAL, **_preselected(request)}, customer_account=account
        )
        if request.GET.get("part") == "order-lines":
            # The order picker's request for the chosen order's lines: the field alone.
            return render(request, "portal/complaints/_order_line_field.html", {"form": form})
    context = {"form": form, "order_picker": order_picker_context()}
    return render(request, "portal/complaints/new.html", context)


# --- detail -----------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    when: datetime.datetime
    title: str
    actor: str
    from_label: str = ""
    to_label: str = ""
    note: str = ""
    is_message: bool = False
    is_mine: bool = False
    files: list = field(default_factory=list)


def _timeline(complaint: Complaint, *, viewer) -> list[TimelineEntry]:
    """The public events and messages of a complaint (already filtered by the selector), in
    the order they happened; a status change comes before the message written with it."""
    entries: list[tuple[tuple, TimelineEntry]] = []
    for event in complaint.events.all():
        changed = bool(event.from_status) and event.from_status != event.to_status
        title = EVENT_TITLES.get(event.action)
        if title is None and not changed:
            continue
        entry = TimelineEntry(
            when=event.created_at,
            title=str(title or _("Status changed")),
            actor=_actor_name(event.actor),
            from_label=_status_label(event.from_status) if changed else "",
            to_label=_status_label(event.to_status) if changed else "",
            note=event.note if event.action in EVENTS_WITH_PUBLIC_NOTES else "",
        )
        if event.action == "rated" and event.note.isdigit():
            entry.note = _("%(score)s of 5") % {"score": event.note}
        elif event.action == "priority_changed":
            entry.note = priority_change_text(event.note)
        entries.append(((event.created_at, 0, event.pk), entry))
    for message in complaint.messages.all():
        entry = TimelineEntry(
            when=message.created_at,
            title=str(_("Message")),
            actor=_actor_name(message.author),
            note=message.body,
            is_message=True,
            is_mine=message.author_id == viewer.pk,
            files=list(message.attachments.all()),
        )
        entries.append(((message.created_at, 1, message.pk), entry))
    return [entry for _key, entry in sorted(entries, key=lambda pair: pair[0])]


def _render_detail(
    request, complaint: Complaint, *, reply_form=None, reopen_form=None, rating_form=None
):
    thread = selectors.complaint_thread(complaint=complaint, for_customer=True)
    status = thread.status
    now = timezone.now()

    # Rated or not, a resolved complaint may be reopened until its window ends.
    reopen_until = selectors.reopen_until(thread)
    rating = SatisfactionRating.objects.filter(complaint=thread).first()

    linked_return = thread.return_request
    linked_return_visible = linked_return is not None and (
        portal_case(CaseKind.RETURN, user=request.user, pk=linked_return.pk) is not None
    )
    start_return_url = ""
    if (
        thread.order is not None
        and thread.order.delivery_date is not None
        and thread.category in RETURNABLE_CATEGORIES
        and linked_return is None
        and status != ComplaintStatus.REJECTED
    ):
        query = urlencode({"order": thread.order_id, "complaint": thread.pk})
        start_return_url = f"{reverse('portal:return_new')}?{query}"

    waiting_for_first_answer = (
        thread.first_responded_at is None
        and status in OPEN_COMPLAINT_STATUSES
        and status != ComplaintStatus.AWAITING_CUSTOMER
    )
    return render(
        request,
        "portal/complaints/detail.html",
        {
            "complaint": thread,
            "timeline": _timeline(thread, viewer=request.user),
            "description_files": [a for a in thread.visible_attachments if a.message_id is None],
            "waiting_for_first_answer": waiting_for_first_answer,
            "answer_overdue": waiting_for_first_answer and thread.first_response_due_at < now,
            "awaiting_customer": status == ComplaintStatus.AWAITING_CUSTOMER,
            "can_reply": status in OPEN_COMPLAINT_STATUSES,
            "show_resolution": status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
            and bool(thread.resolution),
            "reopen_until": reopen_until,
            "can_reopen": reopen_until is not None and now <= reopen_until,
            "rating": rating,
            "rating_stars": _stars(rating.score) if rating else "",
            "can_rate": rating is None
            and status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED),
            "linked_return": linked_return,
            "linked_return_visible": linked_return_visible,
            "start_return_url": start_return_url,
            "reply_form": reply_form or ComplaintReplyForm(),
            "reopen_form": reopen_form or ComplaintReopenForm(),
            "rating_form": rating_form or ComplaintRatingForm(),
        },
    )


@customer_required
def complaint_detail(request, complaint_id: int):
    return _render_detail(request, _visible_complaint(request, complaint_id))


def _back_to(complaint: Complaint, anchor: str = ""):
    url = reverse("portal:complaint_detail", args=[complaint.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


@require_POST
@customer_required
def complaint_reply(request, complaint_id: int):
    complaint = _visible_complaint(request, complaint_id)
    form = ComplaintReplyForm(request.POST, request.FILES)
    if form.is_valid():
        was_awaiting = complaint.status == ComplaintStatus.AWAITING_CUSTOMER
        try:
            message = services.complaint_reply(
                complaint=complaint,
                actor=request.user,
                body=form.cleaned_data["body"],
                uploads=form.cleaned_data["files"],
            )
        except UploadRejected as error:
            form.add_error("files", error.message)
        except services.ComplaintInvalid as error:
            add_application_error(form, error)
        except ApplicationError as error:  # the complaint no longer takes replies
            messages.error(request, error.message)
            return _back_to(complaint)
        else:
            if was_awaiting and message.complaint.status == ComplaintStatus.IN_PROGRESS:
                messages.success(
                    request,
                    _(
                        "Thank you, your answer was sent. Our team is working on your "
                        "complaint again."
                    ),
                )
            else:
                messages.success(request, _("Your message was sent."))
            return _back_to(complaint, "thread")
    return _render_detail(request, complaint, reply_form=form)


@require_POST
@customer_required
def complaint_reopen(request, complaint_id: int):
    complaint = _visible_complaint(request, complaint_id)
    form = ComplaintReopenForm(request.POST)
    if form.is_valid():
        try:
            services.complaint_reopen(
                complaint=complaint, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except services.ComplaintInvalid as error:
            add_application_error(form, error)
        except ApplicationError as error:  # not resolved, or the reopen window has passed
            messages.error(request, error.message)
            return _back_to(complaint)
        else:
            messages.success(
                request,
                _("Complaint %(code)s was reopened. Our team will look at it again.")
                % {"code": complaint.code},
            )
            return _back_to(complaint)
    return _render_detail(request, complaint, reopen_form=form)


@require_POST
@customer_required
def complaint_rate(request, complaint_id: int):
    complaint = _visible_complaint(request, complaint_id)
    form = ComplaintRatingForm(request.POST)
    if form.is_valid():
        try:
            rating = rate_from_form(
                form,
                complaint=complaint,
                actor=request.user,
                score=form.cleaned_data["score"],
                channel=SurveyChannel.PORTAL,
            )
        except ApplicationError as error:  # already rated, or not resolved yet
            messages.error(request, error.message)
            return _back_to(complaint)
        if rating is not None:
            messages.success(request, _("Thank you for your rating."))
            return _back_to(complaint)
    return _render_detail(request, complaint, rating_form=form)


@customer_required
def complaint_attachment(request, complaint_id: int, attachment_id: int):
    complaint = _visible_complaint(request, complaint_id)
    # The selector decides what a customer may see: files of internal notes are left out.
    thread = selectors.complaint_thread(complaint=complaint, for_customer=True)
    attachment = next((a for a in thread.visible_attachments if a.pk == attachment_id), None)
    if attachment is None:
        raise Http404
    return stored_file_response(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )

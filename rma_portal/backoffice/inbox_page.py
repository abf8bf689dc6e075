"""The "My work" page, the back-office's home for the tenant's staff: the inbox of
rma_portal/backoffice/inbox.py with its views, filters, sort and pages. A constant number of
queries whatever the number of cases: the counts (one per case kind), one page of rows, and
the assignees' names."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rma_portal.accounts.models import SavedView, User
from rma_portal.formats import local_moment
from rma_portal.sla import SlaState

from .cases import sla_badge
from .inbox import (
    DEFAULT_SORT,
    VIEWS,
    Filters,
    inbox_rows,
    inbox_sources,
    row_state,
    source_of,
    view_counts,
)
from .inbox_bulk import acting_sources, offered_operations
from .inbox_form import (
    PAGE_SIZE,
    InboxForm,
    filter_params,
    inbox_staff,
    normal_query,
)


def _relative(due_at: datetime.datetime, now: datetime.datetime) -> str:
    """ "in 3 h 20 min" or "2 h 5 min overdue" (days from 48 hours on)."""
    seconds = int((due_at - now).total_seconds())
    minutes = abs(seconds) // 60
    if minutes >= 48 * 60:
        amount = _("%(days)d d") % {"days": minutes // (24 * 60)}
    elif minutes >= 60:
        amount = _("%(hours)d h %(minutes)02d min") % {
            "hours": minutes // 60,
            "minutes": minutes % 60,
        }
    else:
        amount = _("%(minutes)d min") % {"minutes": minutes}
    if seconds >= 0:
        return _("in %(amount)s") % {"amount": amount}
    return _("%(amount)s overdue") % {"amount": amount}


def inbox_page(request, *, site_context: dict, admin_site) -> TemplateResponse:
    now = timezone.now()
    staff = inbox_staff(request.tenant)
    form = InboxForm(request.GET or None, staff=staff)
    filters = form.filters() if form.is_bound else Filters()
    page = form.page_number() if form.is_bound else 1
    counts = view_counts(filters, request.user, now)
    total = counts[filters.view]
    last_page = max(1, -(-total // PAGE_SIZE))
    page = min(page, last_page)
    rows = inbox_rows(filters, request.user, now, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    assignees = {user.pk: user.get_full_name() for user in staff}
    others = {row["assignee_id"] for row in rows if row["assignee_id"]} - set(assignees)
    if others:  # not the tenant's staff (no longer): rare, one more query
        assignees.update(
            (user.pk, user.get_full_name()) for user in User.objects.filter(pk__in=others)
        )
    time_zone = request.tenant.timezone if getattr(request, "tenant", None) else "UTC"
    for row in rows:
        source = source_of(row["kind"])
        row["kind_label"] = source.label
        row["url"] = reverse(source.change_url_name, args=[row["pk"]])
        row["status_label"] = source.status_labels.get(row["status"], row["status"])
        row["priority_label"] = source.priority_labels.get(row["priority"] or "", "")
        row["assignee_name"] = assignees.get(row["assignee_id"], "")
        state = row_state(row, now)
        row["state"] = state.value if state else ""
        if state is not None:
            row["badge"] = sla_badge(state, paused=bool(row["paused"]))
            row["due_local"] = local_moment(row["due_at"], time_zone)
            row["relative"] = (
                _relative(row["due_at"], row["paused"] or now)
                if state not in (SlaState.MET, SlaState.MISSED)
                else ""
            )

    def link(**changes) -> str:
        params = {**filter_params(filters), **changes}
        return "?" + urlencode({key: value for key, value in params.items() if value})

    views = [
        {
            "key": view.key,
            "label": view.label,
            "count": counts[view.key],
            "url": link(view=view.key, page=""),
            "current": view.key == filters.view,
        }
        for view in VIEWS
        if view.key in {"all"} | {k for s in inbox_sources() for k in s.views}
    ]
    saved = [
        {"pk": view.pk, "name": view.name, "url": "?" + view.query}
        for view in SavedView.objects.filter(user=request.user)
    ]
    context = {
        **site_context,
        "title": _("My work"),
        "saved_views": saved,
        "current_query": link(page="")[1:],
        "save_form": SavedViewForm(),
        "form": form if form.is_bound else InboxForm(initial={"sort": DEFAULT_SORT}, staff=staff),
        "filters": filters,
        "views": views,
        "current_view": next(v for v in VIEWS if v.key == filters.view),
        "rows": rows,
        "total": total,
        "page": page,
        "last_page": last_page,
        "previous_url": link(page=page - 1) if page > 1 else "",
        "next_url": link(page=page + 1) if page < last_page else "",
        "time_zone": time_zone,
        # The bulk bar: what the user may do to the ticked cases (nothing for managers).
        "bulk_operations": offered_operations(acting_sources(request, admin_site)),
    }
    return TemplateResponse(request, "admin/inbox.html", context)


# --- saved views -------------------------------------------------------------------------

MAX_SAVED_VIEWS = 20


class SavedViewForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name of the view"), max_length=60, strip=True)
    query = forms.CharField(required=False, max_length=500)


def save_view(request):
    """POST: keep the filters shown as one of the staff member's own views."""
    form = SavedViewForm(request.POST)
    home = reverse("admin:index")
    staff = inbox_staff(request.tenant)
    if not form.is_valid():
        messages.error(request, _("Give the view a name of at most 60 characters."))
        query = normal_query(request.POST.get("query", ""), staff)
        return HttpResponseRedirect(home + "?" + query)
    query = normal_query(form.cleaned_data["query"], staff)
    name = form.cleaned_data["name"]
    mine = SavedView.objects.filter(user=request.user)
    if mine.filter(name=name).exists():
        messages.error(request, _("You already have a view named “%(name)s”.") % {"name": name})
    elif mine.count() >= MAX_SAVED_VIEWS:
        messages.error(
            request,
            _("You can keep at most %(count)d views; delete one first.")
            % {"count": MAX_SAVED_VIEWS},
        )
    else:
        SavedView.objects.create(tenant=request.tenant, user=request.user, name=name, query=query)
        messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return HttpResponseRedirect(home + "?" + query)


def delete_view(request, pk: int):
    """POST: delete one of the staff member's own views (another's: 404)."""
    view = SavedView.objects.filter(user=request.user, pk=pk).first()
    if view is None:
        raise Http404
    view.delete()
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return HttpResponseRedirect(reverse("admin:index"))

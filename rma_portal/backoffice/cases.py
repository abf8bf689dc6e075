"""The back-office's case lists (returns, complaints): queues, named filters shown as tabs
above the list, each with how many cases it holds; the list's links for staff (file a case
for a customer, the load per agent); and the guard of the pages filing a case for a customer.

A domain app describes its queues with `Queue` rows, makes their list filter with
`queue_filter()`, mixes `CaseQueuesAdminMixin` into its ModelAdmin and wraps its filing page
in `filing_admin_view()`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rma_portal.accounts.admin import may_manage_assignment
from rma_portal.accounts.permissions import may_file_for_customers
from rma_portal.formats import local_moment
from rma_portal.sla import SlaState

PARAMETER = "queue"

# The state of a business-hours clock, as the case pages and lists show it
# (templates/admin/_sla_styles.html colours them).
SLA_LABELS = {
    SlaState.ON_TRACK: gettext_lazy("On track"),
    SlaState.AT_RISK: gettext_lazy("At risk"),
    SlaState.BREACHED: gettext_lazy("Breached"),
    SlaState.MET: gettext_lazy("Met"),
    SlaState.MISSED: gettext_lazy("Missed"),
}


def sla_badge(state: SlaState, *, paused: bool = False, kind: str = "sla") -> str:
    """A clock's state as a badge; `kind` "stage" for a complaint stage's clock."""
    label = str(SLA_LABELS[state])
    if paused:
        label = _("%(state)s (paused)") % {"state": label}
    return format_html('<span class="{0}-badge {0}-{1}">{2}</span>', kind, state.value, label)


def customer_update_text(case, *, now: datetime.datetime, time_zone: str) -> str:
    """The customer-update cadence of a case (rma_portal/cadence.py) on its page: when the
    customer last heard from us and when the next update is owed, overdue or not."""
    last = (
        _("Last update to the customer: %(at)s.")
        % {"at": local_moment(case.customer_updated_at, time_zone)}
        if case.customer_updated_at
        else _("The customer has had no update from us yet.")
    )
    if case.update_due_at is None:
        return format_html(
            "{} {}", last, _("No update owed now: the customer is to act, or it is decided.")
        )
    due = _("Next update due %(due_at)s (%(time_zone)s)") % {
        "due_at": local_moment(case.update_due_at, time_zone),
        "time_zone": time_zone,
    }
    state = SlaState.BREACHED if case.update_overdue(now) else SlaState.ON_TRACK
    return format_html("{} {} {}", last, due, sla_badge(state))


# The queue of cases whose customer is owed an update, and the cadence's timeline entries.
UPDATE_OWED_QUEUE_LABEL = gettext_lazy("Customer owed an update")
UPDATE_EVENT_LABELS = {
    "update_overdue": gettext_lazy("Customer owed an update: staff told (internal)"),
    "status_update_sent": gettext_lazy("Status update e-mailed to the customer"),
}


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    # (the signed-in user, now) -> the cases of the queue.
    condition: Callable[[object, datetime.datetime], Q]


def queue_filter(queues: Sequence[Queue]) -> type[admin.SimpleListFilter]:
    """The list filter choosing one of `queues` (?queue=<key>)."""
    by_key = {queue.key: queue for queue in queues}

    class QueueFilter(admin.SimpleListFilter):
        title = gettext_lazy("queue")
        parameter_name = PARAMETER

        def lookups(self, request, model_admin):
            return [(queue.key, queue.label) for queue in queues]

        def queryset(self, request, queryset):
            queue = by_key.get(self.value() or "")
            if queue is None:
                return queryset
            return queryset.filter(queue.condition(request.user, timezone.now()))

    return QueueFilter


class CaseQueuesAdminMixin:
    """The changelist's queue tabs and staff links. Set `queues` and `file_url_name` (the
    URL name of the page filing a case for a customer). The admin has the "transition"
    permission of rma_portal.backoffice.actions.TransitionButtonsMixin."""

    queues: Sequence[Queue] = ()
    file_url_name = ""

    def may_file(self, request) -> bool:
        """Whether the user files cases for customers here (agents, coordinators, tenant
        admins); the filing page answers 403 to everyone else."""
        return may_file_for_customers(request.user) and self.has_transition_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "queues": self.queue_tabs(request),
            "file_for_customer_url": reverse(self.file_url_name) if self.may_file(request) else "",
            # Coordinators and up see each agent's load (rma_portal/accounts/admin.py).
            "load_url": reverse("admin:accounts_team_load")
            if may_manage_assignment(request.user)
            else "",
        }
        return super().changelist_view(request, extra_context)

    def queue_tabs(self, request) -> list[dict]:
        """The queues above the list, with how many cases each holds (one query)."""
        now = timezone.now()
        counts = (
            super()
            .get_queryset(request)
            .order_by()
            .aggregate(
                **{
                    queue.key: Count("pk", filter=queue.condition(request.user, now))
                    for queue in self.queues
                },
                all=Count("pk"),
            )
        )
        current = request.GET.get(PARAMETER, "")
        tabs = [
            {
                "key": queue.key,
                "label": queue.label,
                "count": counts[queue.key],
                "url": f"?{PARAMETER}={queue.key}",
                "selected": current == queue.key,
            }
            for queue in self.queues
        ]
        tabs.append(
            {
                "key": "all",
                "label": _("All"),
                "count": counts["all"],
                "url": "?",
                "selected": current == "",
            }
        )
        return tabs


def filing_admin_view(model_admin: CaseQueuesAdminMixin, view):
    """The back-office's own wrapper (sign-in, CSRF, no caching), after a role check that
    answers 403 to everyone signed in who may not file: customers and managers alike."""
    protected = model_admin.admin_site.admin_view(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated and not model_admin.may_file(request):
            raise PermissionDenied
        return protected(request, *args, **kwargs)

    return wrapper

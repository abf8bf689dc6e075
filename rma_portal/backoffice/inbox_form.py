"""The filters of "My work" (rma_portal/backoffice/inbox.py) as a form read from the query
string, and the staff the assignee filter offers: shared by the page (inbox_page.py) and its
bulk actions (inbox_bulk.py), which sends the agent back to the same filters."""

from __future__ import annotations

from django import forms
from django.http import QueryDict
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rma_portal.accounts.models import STAFF_ROLES, User

from .inbox import (
    ASSIGNEE_ME,
    ASSIGNEE_NONE,
    DEFAULT_SORT,
    DEFAULT_VIEW,
    SORTS,
    VIEWS,
    Filters,
    inbox_sources,
)

PAGE_SIZE = 50
MAX_PAGE = 10_000


def inbox_staff(tenant) -> list[User]:
    """The tenant's staff, whom the assignee filter offers: every staff role, also people no
    longer active (they may still hold cases), the active first, by name. One query."""
    return list(
        User.objects.filter(tenant=tenant, role__in=STAFF_ROLES).order_by(
            "-is_active", "full_name", "email"
        )
    )


def staff_label(user: User) -> str:
    name = user.get_full_name()
    return name if user.is_active else _("%(name)s (inactive)") % {"name": name}


class InboxForm(forms.Form):
    view = forms.ChoiceField(
        label=gettext_lazy("view"), choices=[(v.key, v.label) for v in VIEWS], required=False
    )
    kind = forms.ChoiceField(label=gettext_lazy("type"), required=False)
    priority = forms.ChoiceField(label=gettext_lazy("priority"), required=False)
    assignee = forms.ChoiceField(label=gettext_lazy("assignee"), required=False)
    q = forms.CharField(
        label=gettext_lazy("search"),
        required=False,
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("sort"),
        choices=[(key, label) for key, (label, _order) in SORTS.items()],
        required=False,
    )
    page = forms.IntegerField(
        label=gettext_lazy("page"), min_value=1, max_value=MAX_PAGE, required=False
    )

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            ("", _("Anyone")),
            (ASSIGNEE_ME, _("Me")),
            (ASSIGNEE_NONE, _("Nobody (unassigned)")),
            *((str(user.pk), staff_label(user)) for user in staff),
        ]
        sources = inbox_sources()
        self.fields["kind"].choices = [
            ("", _("Returns and complaints")),
            *((source.kind, source.label) for source in sources),
        ]
        priorities = {}
        for source in sources:
            priorities.update(source.priority_labels)
        self.fields["priority"].choices = [("", _("Any priority")), *priorities.items()]

    def filters(self) -> Filters:
        """The valid filters; an invalid one falls back to its default (the others stay)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return Filters(
            view=data.get("view") or DEFAULT_VIEW,
            kind=data.get("kind") or "",
            priority=data.get("priority") or "",
            q=data.get("q") or "",
            sort=data.get("sort") or DEFAULT_SORT,
            assignee=data.get("assignee") or "",
        )

    def page_number(self) -> int:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("page") or 1


def filter_params(filters: Filters) -> dict[str, str]:
    """The filters as the page's parameters, in a fixed order (links, saved views)."""
    return {
        "view": filters.view,
        "kind": filters.kind,
        "priority": filters.priority,
        "assignee": filters.assignee,
        "q": filters.q,
        "sort": filters.sort,
    }


def normal_query(query: str, staff) -> str:
    """The inbox filters of `query`, only those that are valid, in a fixed order."""
    filters = InboxForm(QueryDict(query), staff=staff).filters()
    return urlencode({key: value for key, value in filter_params(filters).items() if value})

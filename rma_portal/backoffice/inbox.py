"""The agents' inbox ("My work", the back-office's home): the open returns and complaints of
the tenant in one list, with views and their counts, sorted by the time the next deadline is
due (docs/backoffice.md#my-work).

The platform knows no case app: each registers an `InboxSource` from its AppConfig.ready()
saying how its cases read as inbox rows (the same columns for every kind, as SQL
expressions) and which of its cases each view holds. The list is one UNION query over the
sources, ordered and cut to a page in the database; the counts are one aggregate per source.

Bulk actions from the list (rma_portal/backoffice/inbox_bulk.py) reach each kind's cases
through the buttons its source names (`bulk_actions`): the same checks and services as the
kind's own list actions, one case at a time.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from rma_portal.sla import SlaState, state_at

from .actions import ButtonAction

# A row's columns, in this order in every source's SELECT (UNION matches them by position).
COLUMNS = (
    "kind",
    "pk",
    "number",
    "customer_name",
    "summary",
    "more",  # how many more items the summary leaves out (a return's other lines)
    "priority",
    "status",
    "assignee_id",
    "due_at",
    "at_risk_at",
    "paused",  # since when the clock is paused (the case waits for the customer), or None
    "created_at",
    "due_sort",
)
# Rows without a running clock sort after every deadline.
NO_DEADLINE = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class View:
    key: str
    label: str


VIEWS: tuple[View, ...] = (
    View("mine", gettext_lazy("Mine")),
    View("unassigned", gettext_lazy("Unassigned")),
    View("at_risk", gettext_lazy("At risk")),
    View("breached", gettext_lazy("Breached")),
    View("update_owed", gettext_lazy("Update owed")),
    View("waiting", gettext_lazy("Waiting for customer")),
    View("awaiting_approval", gettext_lazy("Awaiting approval")),
    View("all", gettext_lazy("All open")),
)
VIEW_KEYS = frozenset(view.key for view in VIEWS)
DEFAULT_VIEW = "mine"

# Sort orders: key -> (label, the UNION's ORDER BY).
SORTS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "due": (gettext_lazy("Due first"), ("due_sort", "created_at", "kind", "pk")),
    "newest": (gettext_lazy("Newest first"), ("-created_at", "kind", "pk")),
    "oldest": (gettext_lazy("Oldest first"), ("created_at", "kind", "pk")),
}
DEFAULT_SORT = "due"


@dataclass(frozen=True)
class BulkOperation:
    """What My work's bulk bar does to the selected cases, whatever their kind."""

    key: str
    label: str  # in the bar's list ("Assign to…" when it asks for something)
    title: str  # of the pages asking for the value and showing the results
    # What is asked once for every case: "" nothing, "assignee", "priority" or "text".
    value: str = ""
    value_label: str = ""
    # The source's bulk action that does it ("assign_me" is the source's "assign").
    action: str = ""

    @property
    def source_action(self) -> str:
        return self.action or self.key


BULK_OPERATIONS: tuple[BulkOperation, ...] = (
    BulkOperation(
        "assign_me", gettext_lazy("Assign to me"), gettext_lazy("Assign to me"), action="assign"
    ),
    BulkOperation(
        "assign",
        gettext_lazy("Assign to…"),
        gettext_lazy("Assign"),
        value="assignee",
        value_label=gettext_lazy("assign to"),
    ),
    BulkOperation(
        "priority",
        gettext_lazy("Change priority…"),
        gettext_lazy("Change priority"),
        value="priority",
        value_label=gettext_lazy("priority"),
    ),
    BulkOperation(
        "request_info",
        gettext_lazy("Ask for information…"),
        gettext_lazy("Ask for information"),
        value="text",
        value_label=gettext_lazy("Question for the customer"),
    ),
    BulkOperation(
        "reject",
        gettext_lazy("Reject, with a reason…"),
        gettext_lazy("Reject, with a reason"),
        value="text",
        value_label=gettext_lazy("Reason (the customer sees it)"),
    ),
    BulkOperation("close", gettext_lazy("Close"), gettext_lazy("Close")),
)
BULK_OPERATION_KEYS = {operation.key: operation for operation in BULK_OPERATIONS}


def _no_bulk_actions() -> Mapping[str, ButtonAction]:
    return {}


@dataclass(frozen=True)
class InboxSource:
    kind: str  # "return", "complaint": the row's `kind`
    label: str  # the kind as people read it ("Return")
    change_url_name: str  # the admin URL of one case, given its pk
    # The tenant's cases (the manager scoped by the tenant context).
    cases: Callable[[], QuerySet]
    # The open cases: what the inbox ever lists.
    open: Q
    # view key -> (user, now) -> the view's cases among the open ones; a missing view holds
    # none of this kind (returns are never "waiting for approval" of a complaint's kind...).
    views: Mapping[str, Callable[[object, datetime.datetime], Q]]
    # The columns but `kind` and `due_sort`, as expressions over the model.
    columns: Callable[[], Mapping[str, object]]
    status_labels: Mapping[str, str]
    priority_labels: Mapping[str, str]
    # Search: the lookups `q` is matched against (icontains), e.g. number, customer name.
    search_fields: tuple[str, ...] = ()
    # My work's bulk actions: a BulkOperation's source action ("assign", "priority",
    # "request_info", "reject", "close") -> the button of the kind's admin that does it to
    # one case (its service gets the value asked: an assignee, a priority, a text). Read when
    # needed: the admins are imported late.
    bulk_actions: Callable[[], Mapping[str, ButtonAction]] = _no_bulk_actions
    # An action the kind has none of -> why, said for each of its cases ("Returns have no
    # priority."); without one, a sentence that says only that it is not possible.
    bulk_refusals: Mapping[str, str] = field(default_factory=dict)


_sources: dict[str, InboxSource] = {}


def register_inbox_source(source: InboxSource) -> None:
    _sources[source.kind] = source


def inbox_sources() -> list[InboxSource]:
    return [_sources[kind] for kind in sorted(_sources)]


def source_of(kind: str) -> InboxSource | None:
    return _sources.get(kind)


# The assignee filter's values besides a staff member's id.
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"


@dataclass(frozen=True)
class Filters:
    view: str = DEFAULT_VIEW
    kind: str = ""  # "" for every kind
    priority: str = ""
    q: str = ""
    sort: str = DEFAULT_SORT
    # "" anyone, ASSIGNEE_ME, ASSIGNEE_NONE, or a staff member's id (validated by the page)
    assignee: str = ""


def _view_condition(source: InboxSource, view: str, user, now) -> Q:
    if view == "all":
        return Q()
    condition = source.views.get(view)
    return condition(user, now) if condition is not None else Q(pk__in=[])


def _filtered(source: InboxSource, filters: Filters, user, now) -> QuerySet:
    cases = source.cases().filter(source.open)
    if filters.priority:
        cases = cases.filter(priority=filters.priority) if _has_priority(source) else cases.none()
    if filters.assignee == ASSIGNEE_ME:
        cases = cases.filter(assignee_id=user.pk)
    elif filters.assignee == ASSIGNEE_NONE:
        cases = cases.filter(assignee__isnull=True)
    elif filters.assignee.isdecimal():
        cases = cases.filter(assignee_id=int(filters.assignee))
    if filters.q:
        search = Q()
        for lookup in source.search_fields:
            search |= Q(**{f"{lookup}__icontains": filters.q})
        cases = cases.filter(search)
    return cases


def _has_priority(source: InboxSource) -> bool:
    return bool(source.priority_labels)


def view_counts(filters: Filters, user, now) -> dict[str, int]:
    """The number of cases in each view under the filters (one query per source)."""
    counts = dict.fromkeys(VIEW_KEYS, 0)
    for source in inbox_sources():
        if filters.kind and filters.kind != source.kind:
            continue
        cases = _filtered(source, filters, user, now)
        aggregates = {
            view.key: Count("pk", filter=_view_condition(source, view.key, user, now))
            for view in VIEWS
            if view.key == "all" or view.key in source.views
        }
        for key, value in cases.aggregate(**aggregates).items():
            counts[key] += value
    return counts


def inbox_rows(filters: Filters, user, now, *, offset: int, limit: int) -> list[dict]:
    """One page of the view's rows (one query), as dicts of COLUMNS.

    Each source's SELECT is itself ordered and cut to the rows up to the page's end, and the
    UNION of these is ordered and cut to the page: the page is the same (the order is total:
    kind and pk break ties), but a source's costlier columns (a return's first product and
    its number of lines) are computed for those rows only, after its sort, not for every
    open case of the tenant. SQLite cannot cut inside a UNION: there, only the whole is cut."""
    order = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])[1]
    names = {name: f"inbox_{name}" if name != "kind" else "inbox_kind" for name in COLUMNS}
    ordering = [("-" + names[key[1:]]) if key.startswith("-") else names[key] for key in order]
    selects = []
    for source in inbox_sources():
        if filters.kind and filters.kind != source.kind:
            continue
        if filters.view != "all" and filters.view not in source.views:
            continue
        cases = _filtered(source, filters, user, now).filter(
            _view_condition(source, filters.view, user, now)
        )
        columns = {"pk": F("pk"), **source.columns()}
        columns["due_sort"] = Coalesce(
            columns["due_at"], Value(NO_DEADLINE), output_field=DateTimeField()
        )
        selects.append(
            cases.annotate(inbox_kind=Value(source.kind), **_renamed(columns))
            .values_list("inbox_kind", *(f"inbox_{name}" for name in COLUMNS[1:]))
            .order_by(*ordering)
        )
    if not selects:
        return []
    if len(selects) == 1:
        query = selects[0]
    elif connection.features.supports_slicing_ordering_in_compound:
        selects = [select[: offset + limit] for select in selects]
        query = selects[0].union(*selects[1:], all=True)
    else:  # SQLite (the embedded mode): no ORDER BY or LIMIT inside a compound SELECT
        query = selects[0].order_by().union(*(s.order_by() for s in selects[1:]), all=True)
    rows = query.order_by(*ordering)[offset : offset + limit]
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def _renamed(columns: Mapping[str, object]) -> dict[str, object]:
    """The columns as annotations of their own names (never a model field's name)."""
    return {f"inbox_{name}": columns[name] for name in COLUMNS[1:]}


def row_state(row: Mapping, now: datetime.datetime) -> SlaState | None:
    """The state of the row's running clock; None without one."""
    if row["due_at"] is None:
        return None
    return state_at(
        due_at=row["due_at"],
        at_risk_at=row["at_risk_at"],
        now=row["paused"] or now,  # a paused clock is judged at the moment it paused
    )


def customer_open_cases(
    customer_account_id: int, *, exclude: tuple[str, int] | None, limit: int
) -> tuple[list[dict], bool]:
    """A customer's open cases of every kind, the next deadline first (one query per kind),
    but `exclude` (kind, pk): the case being looked at. The rows (dicts of COLUMNS, with the
    kind's label and change URL name) up to `limit`, and whether there are more."""
    found = []
    for source in inbox_sources():
        cases = source.cases().filter(source.open, customer_account_id=customer_account_id)
        if exclude is not None and exclude[0] == source.kind:
            cases = cases.exclude(pk=exclude[1])
        columns = {"pk": F("pk"), **source.columns()}
        columns["due_sort"] = Coalesce(
            columns["due_at"], Value(NO_DEADLINE), output_field=DateTimeField()
        )
        rows = (
            cases.annotate(inbox_kind=Value(source.kind), **_renamed(columns))
            .values_list("inbox_kind", *(f"inbox_{name}" for name in COLUMNS[1:]))
            .order_by("inbox_due_sort", "inbox_created_at", "inbox_pk")[: limit + 1]
        )
        for row in rows:
            found.append({**dict(zip(COLUMNS, row, strict=True)), "source": source})
    found.sort(key=lambda row: (row["due_sort"], row["created_at"], row["kind"], row["pk"]))
    return found[:limit], len(found) > limit

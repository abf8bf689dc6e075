"""Bulk actions from My work (docs/backoffice.md#bulk-actions-from-my-work): the cases ticked
in the list, of any kind, and one operation (inbox.BULK_OPERATIONS). What it needs is asked
once (an assignee, a priority, a text); then each case goes through the button its kind's
source names (inbox.InboxSource.bulk_actions) with the checks and service of the kind's own
list actions (actions.bulk_one), each in its own transaction, and a page says per case what
happened. A case that is not the tenant's, or no case at all, is reported as not found and
nothing is done to it. Platform code: the case apps are reached through their sources and
their admins in the site's registry only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from rma_portal.accounts.models import ASSIGNABLE_ROLES, User

from .actions import TransitionButtonsMixin, bulk_one, report_bulk_counts
from .inbox import (
    BULK_OPERATION_KEYS,
    BULK_OPERATIONS,
    BulkOperation,
    InboxSource,
    inbox_sources,
    source_of,
)
from .inbox_form import inbox_staff, normal_query, staff_label

MAX_CASES = 100
MAX_TEXT = 10_000
SHOWN_ID_LENGTH = 40


def acting_sources(request, admin_site) -> dict[str, TransitionButtonsMixin]:
    """kind -> its admin, for the kinds whose list actions the user is offered: the same rule
    as the lists (the admin's has_transition_permission, so never managers)."""
    acting = {}
    for source in inbox_sources():
        modeladmin = admin_site._registry.get(source.cases().model)
        if modeladmin is not None and modeladmin.has_transition_permission(request):
            acting[source.kind] = modeladmin
    return acting


def offered_operations(acting: dict[str, TransitionButtonsMixin]) -> list[BulkOperation]:
    """The operations at least one kind the user acts on can do."""
    actions = set()
    for kind in acting:
        actions |= set(source_of(kind).bulk_actions())
    return [operation for operation in BULK_OPERATIONS if operation.source_action in actions]


@dataclass
class Selected:
    """One value of the form's `cases` ("complaint:12"), and the case it names, if any."""

    raw: str
    source: InboxSource | None
    pk: int | None
    case: object | None = None


def _selection(values: list[str], tenant) -> list[Selected]:
    """The cases named, each once, in the order given; one query per kind, only the tenant's
    cases (through the source's scoped manager, and its tenant once more)."""
    selected: list[Selected] = []
    seen = set()
    for value in values:
        raw = value.strip()
        if raw in seen:
            continue
        seen.add(raw)
        kind, _sep, number = raw.partition(":")
        valid = number.isascii() and number.isdigit() and 0 < len(number) <= 18
        selected.append(Selected(raw, source_of(kind), int(number) if valid else None))
    wanted: dict[str, list[int]] = defaultdict(list)
    for item in selected:
        if item.source is not None and item.pk is not None:
            wanted[item.source.kind].append(item.pk)
    found = {}
    for kind, pks in wanted.items():
        for case in source_of(kind).cases().filter(tenant_id=tenant.pk, pk__in=pks):
            found[(kind, case.pk)] = case
    for item in selected:
        if item.source is not None:
            item.case = found.get((item.source.kind, item.pk))
    return selected


def _case_name(item: Selected) -> str:
    return f"{item.source.label} {item.case}"


def _assignees(request, staff: list[User]) -> list[tuple[str, str, User]]:
    """Whom cases may be given to: the acting user first, then the tenant's active agents and
    coordinators (the services refuse, per case, what the user's role may not)."""
    me = request.user
    people = [(str(me.pk), _("Me (%(name)s)") % {"name": me.get_full_name()}, me)]
    people += [
        (str(user.pk), staff_label(user), user)
        for user in staff
        if user.is_active and user.role in ASSIGNABLE_ROLES and user.pk != me.pk
    ]
    return people


def _priorities() -> list[tuple[str, str]]:
    labels: dict[str, str] = {}
    for source in inbox_sources():
        labels.update(source.priority_labels)
    return list(labels.items())


def _asked_value(operation: BulkOperation, request, staff, text: str):
    """(choices or None for a text, the value for the services or None, what is wrong)."""
    if operation.value == "assignee":
        people = _assignees(request, staff)
        chosen = next((user for value, _label, user in people if value == text), None)
        error = "" if chosen is not None else _("Choose the value that goes to each case.")
        return [(value, label) for value, label, _user in people], chosen, error
    if operation.value == "priority":
        choices = _priorities()
        valid = text in {value for value, _label in choices}
        error = "" if valid else _("Choose the value that goes to each case.")
        return choices, text if valid else None, error
    if not text:
        return None, None, _("Write the text that goes to each case.")
    if len(text) > MAX_TEXT:
        return (
            None,
            None,
            _("The text is too long (at most %(max)d characters).") % {"max": MAX_TEXT},
        )
    return None, text, ""


def inbox_bulk(request, *, admin_site):
    """POST (the admin site's `inbox_bulk`): the bar's operation on the ticked cases."""
    staff = inbox_staff(request.tenant)
    back = reverse("admin:index")
    query = normal_query(request.POST.get("next", ""), staff)
    back += "?" + query if query else ""
    acting = acting_sources(request, admin_site)
    if not acting:
        raise PermissionDenied  # managers: the lists offer them no bulk change either
    operation = BULK_OPERATION_KEYS.get(request.POST.get("operation", ""))
    values = request.POST.getlist("cases")
    if operation is None or operation not in offered_operations(acting) or not values:
        messages.error(request, _("Tick the cases to change and choose what to do with them."))
        return HttpResponseRedirect(back)
    if len(values) > MAX_CASES:
        messages.error(
            request, _("Choose at most %(count)d cases at a time.") % {"count": MAX_CASES}
        )
        return HttpResponseRedirect(back)
    selected = _selection(values, request.tenant)
    # What each case's button gets: the user for "assign to me", the value asked, else no text.
    value = request.user if operation.key == "assign_me" else ""
    if operation.value and any(item.case is not None for item in selected):
        text = request.POST.get("bulk_text", "").strip()
        confirmed = request.POST.get("bulk_confirmed") == "yes"
        choices, value, error = _asked_value(operation, request, staff, text)
        if not confirmed or error:
            return TemplateResponse(
                request,
                "admin/bulk_text.html",
                {
                    **admin_site.each_context(request),
                    "title": operation.title,
                    "objects": [_case_name(item) for item in selected if item.case is not None],
                    "form_action": reverse("admin:inbox_bulk"),
                    "hidden_fields": [
                        ("operation", operation.key),
                        ("next", query),
                        *(("cases", item.raw) for item in selected),
                    ],
                    "text_label": operation.value_label,
                    "text_required": True,
                    "choices": choices,
                    "text": text,
                    "error": error if confirmed else "",
                    "back_url": back,
                },
            )
    results = [_one(request, operation, item, acting, value) for item in selected]
    report_bulk_counts(request, operation.title, [row["ok"] for row in results])
    return TemplateResponse(
        request,
        "admin/bulk_results.html",
        {
            **admin_site.each_context(request),
            "title": operation.title,
            "results": results,
            "back_url": back,
        },
    )


def _one(request, operation: BulkOperation, item: Selected, acting, value) -> dict:
    """What the operation did to one selected case, as the results page shows it."""
    if item.case is None:
        return {
            "case": item.raw[:SHOWN_ID_LENGTH],
            "kind_label": item.source.label if item.source else "",
            "object": str(item.pk) if item.source and item.pk else item.raw[:SHOWN_ID_LENGTH],
            "url": "",
            "ok": False,
            "message": _("No such case among yours: nothing was changed."),
        }
    source = item.source
    row = {
        "case": item.raw,
        "kind_label": source.label,
        "object": str(item.case),
        "url": reverse(source.change_url_name, args=[item.pk]),
    }
    modeladmin = acting.get(source.kind)
    if modeladmin is None:
        return {**row, "ok": False, "message": _("You may not do this to this case.")}
    action = source.bulk_actions().get(operation.source_action)
    if action is None:
        refusal = source.bulk_refusals.get(operation.source_action)
        message = str(refusal) if refusal else _("This cannot be done to a case of this kind.")
        return {**row, "ok": False, "message": message}
    with transaction.atomic():  # one case, one transaction: a refusal undoes only its own
        ok, message = bulk_one(modeladmin, request, action, item.case, value)
    return {**row, "ok": ok, "message": message}

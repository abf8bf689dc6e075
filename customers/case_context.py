"""The customer beside a case page (docs/backoffice.md#case-page): the company, the person
who filed the case, their other open cases, figures about them and their recent orders, so an
agent answers knowing who they talk to.

Both case apps build their page's side panel here. Figures that need other apps' data (the
return rate is the KPI layer's) come from providers those apps register
(`register_customer_fact`), so this module imports no case app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from rma_portal.backoffice.cases import sla_badge
from rma_portal.backoffice.conversation import Entry, File, conversation, email_entries
from rma_portal.backoffice.inbox import customer_open_cases, row_state

from .models import CustomerAccount, Order

OTHER_CASES = 5
RECENT_ORDERS = 5


@dataclass(frozen=True)
class CustomerFact:
    label: str
    value: str
    detail: str = ""  # how it was counted ("12 of 640 units, last 12 months")


# provider(customer_account, now) -> a fact, or None when it has nothing to say
_fact_providers: list[Callable[[CustomerAccount, object], CustomerFact | None]] = []


def register_customer_fact(provider: Callable[[CustomerAccount, object], CustomerFact | None]):
    if provider not in _fact_providers:
        _fact_providers.append(provider)
    return provider


def _admin_url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def customer_context(*, account: CustomerAccount, contact, exclude: tuple[str, int]) -> dict:
    """The side panel's context: a constant number of queries (other cases: one per kind;
    orders: one; each registered figure its own)."""
    now = timezone.now()
    rows, more = customer_open_cases(account.pk, exclude=exclude, limit=OTHER_CASES)
    other_cases = [
        {
            "kind_label": row["source"].label,
            "number": row["number"],
            "summary": row["summary"] or "",
            "status": row["source"].status_labels.get(row["status"], row["status"]),
            "badge": sla_badge(row_state(row, now), paused=row["paused"] is not None)
            if row["due_at"] is not None
            else "",
            "url": _admin_url(row["source"].change_url_name, row["pk"]),
        }
        for row in rows
    ]
    orders = (
        Order.objects.filter(tenant_id=account.tenant_id, customer_account=account)
        .annotate(line_count=Count("lines"))
        .order_by("-order_date", "-pk")[:RECENT_ORDERS]
    )
    return {
        "customer": {
            "account": account,
            "url": _admin_url("admin:customers_customeraccount_change", account.pk),
            "contact": contact,
            "other_cases": other_cases,
            "more_cases": more,
            "more_cases_query": account.number,
            "facts": [fact for fact in (p(account, now) for p in _fact_providers) if fact],
            "orders": [
                {
                    "number": order.number,
                    "order_date": order.order_date,
                    "delivery_date": order.delivery_date,
                    "invoice_number": order.invoice_number,
                    "line_count": order.line_count,
                    "url": _admin_url("admin:customers_order_change", order.pk),
                }
                for order in orders
            ],
        }
    }


def case_workspace(
    *,
    case,
    kind: str,
    account: CustomerAccount,
    contact,
    entries: list[Entry],
    files: list[File],
    head: list[tuple[str, str]],
    linked: list[tuple[str, str, str]],
) -> dict:
    """Everything the conversation-first case page adds to the admin's change form
    (templates/admin/_case_workspace.html): the case's facts at the top (`head`: label,
    value as HTML), the conversation with the e-mails sent about the case, the files with
    their thumbnails, the linked cases (label, number, URL) and the customer panel."""
    return {
        # The page needs its width: the admin's navigation is one link away (breadcrumbs).
        "is_nav_sidebar_enabled": False,
        "case_kind": kind,
        "case_head": head,
        "conversation": conversation(entries, email_entries(case)),
        "case_files": files,
        "case_images": [file for file in files if file.is_image],
        "linked_cases": linked,
        **customer_context(account=account, contact=contact, exclude=(kind, case.pk)),
    }

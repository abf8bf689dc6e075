"""What returns and complaints share about how a case came in: the channel it was filed
through, the customer user a staff member files it for, and what automatic assignment needs to
know of a case (customers/routing.py), and the cases about an order that the portal's order page
lists.

Both apps record the same channels and look up the customer the same way; they never import
each other, so the shared part lives here, with the customer companies it is about. What only
they know (complaint categories and priorities, return reasons, how to hand their open cases
on, which of their cases are about an order) they register here from their AppConfig.ready().
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from rma_portal.accounts.models import CUSTOMER_ROLES


class CaseChannel(models.TextChoices):
    """How a case reached us. Customers file in the portal (or with their own token, which
    is the portal's API); staff record how the customer contacted them; API keys are
    integrations (an ERP, a shop)."""

    PORTAL = "portal", _("Portal")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    CHAT = "chat", _("Chat")
    ON_SITE = "on_site", _("On site")
    API = "api", _("API integration")


def filing_customer(*, tenant, user_id):
    """The CustomerMembership (user and company) of the customer user `user_id` of `tenant`,
    when a case may be filed for them: an active customer user of an active company.

    Anything else answers None alike (no such id, a user of another tenant, a staff user, an
    inactive user or company), so that a caller cannot tell them apart.
    """
    from .models import CustomerMembership  # models name the channels of this module

    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        return None
    return (
        CustomerMembership.objects.for_tenant(tenant)
        .filter(
            user_id=user_id,
            user__tenant=tenant,
            user__is_active=True,
            user__role__in=CUSTOMER_ROLES,
            customer_account__is_active=True,
        )
        .select_related("user", "customer_account")
        .first()
    )


# --- automatic assignment ----------------------------------------------------------------


class CaseKind(models.TextChoices):
    RETURN = "return", _("Return")
    COMPLAINT = "complaint", _("Complaint")


@dataclass(frozen=True)
class CaseFacts:
    """What the assignment rules look at, built by the case's app (customers/routing.py)."""

    kind: str  # CaseKind
    tenant: object
    customer_account_id: int
    channel: str
    # The product categories of the case's products (a return's lines, a complaint's product).
    product_category_ids: frozenset[int] = frozenset()
    complaint_category: str = ""
    complaint_priority: str = ""
    return_reasons: frozenset[str] = frozenset()  # of any line
    requested_value: Decimal | None = None


# Conditions of an assignment rule whose values the case apps define: the rule's admin offers
# the choices registered here.
COMPLAINT_CATEGORY = "complaint_category"
COMPLAINT_PRIORITY = "complaint_priority"
RETURN_REASON = "return_reason"
_condition_choices: dict[str, Callable[[], Iterable[tuple[str, str]]]] = {}


def register_condition_choices(
    condition: str, choices: Callable[[], Iterable[tuple[str, str]]]
) -> None:
    """`choices()` answers (value, label) pairs, e.g. `lambda: ComplaintCategory.choices`."""
    _condition_choices[condition] = choices


def condition_choices(condition: str) -> list[tuple[str, str]]:
    choices = _condition_choices.get(condition)
    return list(choices()) if choices is not None else []


@dataclass(frozen=True)
class CaseReassigner:
    """How one case app hands on the cases of staff who are away: `reassign(tenant=,
    away_user_ids=, now=)` re-routes their cases not yet started through the rules (each case in
    its own transaction, under its row lock) and answers how many it moved."""

    kind: str
    reassign: Callable[..., int]


_reassigners: dict[str, CaseReassigner] = {}


def register_case_reassigner(reassigner: CaseReassigner) -> None:
    """Registered by each case app; routing hears of absences saved for today and re-routes
    at once (customers.routing.on_absence, registered when the app starts)."""
    _reassigners[reassigner.kind] = reassigner


def case_reassigners() -> list[CaseReassigner]:
    return [_reassigners[kind] for kind in sorted(_reassigners)]


# --- the cases about an order (the portal's order page) ----------------------------------


@dataclass(frozen=True)
class OrderCase:
    """A return or a complaint about an order, as the order's page in the portal lists it."""

    kind: str  # CaseKind
    kind_label: str
    number: str
    status: str
    status_label: str
    url: str
    created_at: datetime.datetime


# provider(order=, user=) -> the cases about the order that `user` may see: those of the
# order's company only, by the portal's rule of visibility (customers.selectors.
# cases_visible_to), in one query whatever their number.
_order_case_providers: dict[str, Callable[..., Iterable[OrderCase]]] = {}


def register_order_cases(kind: str, provider: Callable[..., Iterable[OrderCase]]) -> None:
    """Registered by each case app from its AppConfig.ready()."""
    _order_case_providers[kind] = provider


def order_cases(*, order, user) -> list[OrderCase]:
    """The returns and complaints about `order` that `user` may see, newest first: one query
    per case app."""
    cases = [
        case
        for kind in sorted(_order_case_providers)
        for case in _order_case_providers[kind](order=order, user=user)
    ]
    return sorted(cases, key=lambda case: (case.created_at, case.number), reverse=True)


# --- linked cases (a return started from a complaint's page) -----------------------------


@dataclass(frozen=True)
class CaseLinks:
    """What another case app may know of one case app's cases in the portal, without
    importing it: `find(user=, pk=)` answers the case of this kind with that id when `user`
    may see it (else None, whatever the reason), and `link_return(case=, actor=,
    return_request=)`, when the kind links returns, links a submitted return to the case (or
    raises ApplicationError with a message for the user)."""

    kind: str  # CaseKind
    find: Callable[..., object | None]
    link_return: Callable[..., object] | None = None


_case_links: dict[str, CaseLinks] = {}


def register_case_links(links: CaseLinks) -> None:
    """Registered by each case app from its AppConfig.ready()."""
    _case_links[links.kind] = links


def portal_case(kind: str, *, user, pk: int):
    """The case of `kind` with id `pk` that `user` may see in the portal, or None (also when
    no app registered the kind)."""
    links = _case_links.get(kind)
    return links.find(user=user, pk=pk) if links is not None else None


def link_return(kind: str, *, case, actor, return_request):
    """Link the submitted `return_request` to `case` (of `kind`), by that app's service."""
    links = _case_links.get(kind)
    if links is None or links.link_return is None:
        raise LookupError(f"No case app links returns to cases of kind {kind!r}")
    return links.link_return(case=case, actor=actor, return_request=return_request)

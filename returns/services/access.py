"""Who may act on a return: the role check every service runs after locking the row."""

from __future__ import annotations

from django.utils.translation import gettext as _

from rma_portal.accounts.models import STAFF_ACTING_ROLES, User

from ..models import ReturnRequest
from .errors import ReturnAccessDenied


def is_acting_staff(user: User, return_request: ReturnRequest | None = None) -> bool:
    """An agent, coordinator or tenant admin (of the return's tenant, when one is given), or a
    platform superuser."""
    if user.is_superuser:
        return True
    if user.role not in STAFF_ACTING_ROLES:
        return False
    # The scoped manager hides other tenants' returns, but a caller that set the wrong tenant
    # context must not let another tenant's staff act.
    return return_request is None or user.tenant_id == return_request.tenant_id


def is_customer_party(user: User, return_request: ReturnRequest) -> bool:
    """The requester, or a customer admin of the same company."""
    if not user.is_customer or user.tenant_id != return_request.tenant_id:
        return False
    membership = getattr(user, "customer_membership", None)
    if membership is None or membership.customer_account_id != return_request.customer_account_id:
        return False
    return user.pk == return_request.requester_id or user.is_customer_admin


def require_staff(user: User, return_request: ReturnRequest | None = None) -> None:
    if not is_acting_staff(user, return_request):
        raise ReturnAccessDenied(_("Only support staff may do this."))


def is_acting_for_customers(user: User, return_request: ReturnRequest | None = None) -> bool:
    """Acting staff, or the tenant's integration (its API keys, whose scopes the API checks):
    who may file a return for a customer user and confirm the ERP's documents."""
    if is_acting_staff(user, return_request):
        return True
    return user.is_integration and (
        return_request is None or user.tenant_id == return_request.tenant_id
    )


def require_acting_for_customers(user: User, return_request: ReturnRequest | None = None) -> None:
    if not is_acting_for_customers(user, return_request):
        raise ReturnAccessDenied(_("Only support staff may do this."))


def require_customer(user: User, return_request: ReturnRequest) -> None:
    if not is_customer_party(user, return_request):
        raise ReturnAccessDenied(_("Only the customer who filed this return may do this."))


def require_customer_or_staff(user: User, return_request: ReturnRequest) -> None:
    if not (is_acting_staff(user, return_request) or is_customer_party(user, return_request)):
        raise ReturnAccessDenied(_("You may not change this return."))

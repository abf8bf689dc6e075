"""Who may act on a return: the role check every service runs after locking the row."""

from __future__ import annotations

from django.utils.translation import gettext as _

from rma_portal.accounts.models import STAFF_ACTING_ROLES, Role, User

from ..models import ApprovalLevel, ReturnRequest, ReturnStatus
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


# Who approves at each level (ReturnRequest.approval_level; empty: any acting staff). Managers
# act on returns only here: approving, or rejecting, what awaits their approval.
APPROVERS = {
    "": STAFF_ACTING_ROLES,
    ApprovalLevel.COORDINATOR: frozenset({Role.COORDINATOR, Role.MANAGER, Role.TENANT_ADMIN}),
    ApprovalLevel.MANAGER: frozenset({Role.MANAGER, Role.TENANT_ADMIN}),
}


def may_approve(user: User, return_request: ReturnRequest) -> bool:
    """Whether `user` may approve the return at its approval level (a platform superuser
    always may)."""
    if user.is_superuser:
        return True
    if user.tenant_id != return_request.tenant_id:
        return False
    return user.role in APPROVERS[return_request.approval_level or ""]


def may_decide_awaiting(user: User, return_request: ReturnRequest) -> bool:
    """A manager may approve or reject a return awaiting approval at a level they hold."""
    return return_request.status == ReturnStatus.AWAITING_APPROVAL and may_approve(
        user, return_request
    )


def require_approver(user: User, return_request: ReturnRequest) -> None:
    if may_approve(user, return_request):
        return
    if is_acting_staff(user, return_request):
        raise ReturnAccessDenied(
            _(
                "Return %(number)s is approved by %(who)s (its value or a policy override "
                "needs it): ask for approval instead."
            )
            % {
                "number": return_request.reference,
                "who": ApprovalLevel(return_request.approval_level).label,
            }
        )
    raise ReturnAccessDenied(_("Only support staff may do this."))


def require_staff_or_awaiting_approver(user: User, return_request: ReturnRequest) -> None:
    """Acting staff, or the manager a return awaits (rejecting it)."""
    if is_acting_staff(user, return_request) or may_decide_awaiting(user, return_request):
        return
    raise ReturnAccessDenied(_("Only support staff may do this."))

"""Reads of customer companies, users and orders for the portal, API and back-office."""

from __future__ import annotations

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from .models import CustomerAccount, CustomerMembership, Order, OrderLine


def customer_account_for_user(*, user) -> CustomerAccount | None:
    """The company a customer user acts for, or None for anyone else."""
    if not user.is_authenticated or not user.is_customer:
        return None
    membership = (
        CustomerMembership.objects.select_related("customer_account")
        .filter(user_id=user.pk)
        .first()
    )
    return membership.customer_account if membership else None


def orders_for_customer(*, customer_account: CustomerAccount) -> QuerySet[Order]:
    """The company's orders, newest first, with their lines and products loaded."""
    lines = OrderLine.objects.select_related("product", "product__category", "invoice").order_by(
        "line_number"
    )
    return (
        Order.objects.filter(customer_account=customer_account)
        .annotate(line_count=Count("lines"), units=Sum("lines__quantity"))
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("-order_date", "-number")
    )


def order_for_customer(*, customer_account: CustomerAccount, order_id: int) -> Order | None:
    return orders_for_customer(customer_account=customer_account).filter(pk=order_id).first()


def invitation_pending_q() -> Q:
    """Memberships of users invited and not yet in: no password chosen, never signed in."""
    return Q(user__last_login__isnull=True, user__password__startswith=UNUSABLE_PASSWORD_PREFIX)


def colleagues_of(*, customer_account: CustomerAccount):
    """Users of the company, for its customer admins: those who took up their invitation.

    An invitation not yet taken up is not listed. An invitation to an address that already
    has an account creates nothing, so listing the pending ones would tell the customer admin
    which addresses are registered on the platform (docs/security.md#team-invitations).
    """
    return (
        CustomerMembership.objects.filter(customer_account=customer_account)
        .exclude(invitation_pending_q())
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def cases_visible_to(queryset: QuerySet, *, user, owner_field: str) -> QuerySet:
    """The one visibility rule of customer cases (returns, complaints): staff see the tenant's,
    customer admins their company's, customer users only those they filed (`owner_field`)."""
    if user.is_superuser or user.is_tenant_staff:
        return queryset
    if not user.is_customer:
        return queryset.none()
    membership = getattr(user, "customer_membership", None)
    if membership is None:
        return queryset.none()
    queryset = queryset.filter(customer_account_id=membership.customer_account_id)
    if not user.is_customer_admin:
        queryset = queryset.filter(**{owner_field: user})
    return queryset

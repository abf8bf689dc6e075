"""Rules about customer companies that other parts of the platform ask about."""

from __future__ import annotations


def customer_may_sign_in(user) -> bool:
    """Customer users sign in only while linked to an active company."""
    if not user.is_customer:
        return True
    from .models import CustomerMembership

    return CustomerMembership.unscoped.filter(
        user_id=user.pk, customer_account__is_active=True
    ).exists()

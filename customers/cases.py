"""What returns and complaints share about how a case came in: the channel it was filed
through, and the customer user a staff member files it for.

Both apps record the same channels and look up the customer the same way; they never import
each other, so the shared part lives here, with the customer companies it is about.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rma_portal.accounts.models import CUSTOMER_ROLES

from .models import CustomerMembership


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


def filing_customer(*, tenant, user_id) -> CustomerMembership | None:
    """The membership (user and company) of the customer user `user_id` of `tenant`, when a
    case may be filed for them: an active customer user of an active company.

    Anything else answers None alike (no such id, a user of another tenant, a staff user, an
    inactive user or company), so that a caller cannot tell them apart.
    """
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

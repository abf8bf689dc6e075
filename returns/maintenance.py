"""Housekeeping of returns run by beat (returns/maintenance_tasks.py): closing resolved returns
the tenant's staff left resolved longer than the tenant's auto-close days, and the shipping
deadlines of approved returns (a reminder to send the goods, then expiry)."""

from __future__ import annotations

import datetime
import logging

from django.utils import timezone

# The tenant sets one "resolved cases close after (days)" for complaints and returns alike, in
# its support settings (the back-office's editor of them lives with complaints).
from complaints.selectors import support_settings
from rma_portal.errors import ApplicationError
from rma_portal.tenancy.models import Tenant

from .models import ReturnRequest, ReturnStatus
from .services import return_request_close, return_request_expire, return_request_remind_to_ship

logger = logging.getLogger(__name__)


def returns_auto_close(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Close the tenant's returns resolved more than `auto_close_days` ago, as the system
    (actor None); returns how many were closed."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=support_settings(tenant).auto_close_days)
    due = ReturnRequest.objects.for_tenant(tenant).filter(
        status=ReturnStatus.RESOLVED, resolved_at__lte=cutoff
    )
    closed = 0
    for return_request in due.order_by("pk"):
        try:
            return_request_close(return_request=return_request, actor=None)
        except ApplicationError:
            # Closed by staff between the query and the lock: nothing left to do.
            logger.info("auto-close skipped", extra={"return_request_id": return_request.pk})
            continue
        closed += 1
    return closed


def returns_ship_deadlines(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Remind the customers of the tenant's approved returns whose reminder is due, then expire
    those whose goods did not arrive by their `ship_by`; each return in its own transaction
    under its row lock (a return received meanwhile is left alone). Returns how many returns
    were reminded or expired."""
    now = now or timezone.now()
    approved = ReturnRequest.objects.for_tenant(tenant).filter(status=ReturnStatus.APPROVED)
    done = 0
    to_remind = approved.filter(ship_reminded_at__isnull=True, ship_reminder_at__lte=now)
    for return_request in to_remind.order_by("ship_reminder_at", "pk"):
        done += return_request_remind_to_ship(return_request=return_request, now=now)
    for return_request in approved.filter(ship_by__lt=now).order_by("ship_by", "pk"):
        done += return_request_expire(return_request=return_request, now=now)
    return done

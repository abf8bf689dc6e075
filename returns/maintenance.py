"""Housekeeping of returns run by beat (returns/maintenance_tasks.py): closing resolved returns
the tenant's staff left resolved longer than the tenant's auto-close days, the shipping
deadlines of approved returns (a reminder to send the goods, then expiry), and removing the
drafts left empty (no lines) for more than a day."""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

# The tenant sets one "resolved cases close after (days)" for complaints and returns alike, in
# its support settings (kept by complaints, which registers how to read it with the calendar).
from customers.calendar import auto_close_days
from rma_portal.errors import ApplicationError
from rma_portal.tenancy.models import Tenant

from .models import ReturnAttachment, ReturnLine, ReturnRequest, ReturnStatus
from .services import return_request_close, return_request_expire, return_request_remind_to_ship

logger = logging.getLogger(__name__)


def returns_auto_close(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Close the tenant's returns resolved more than `auto_close_days` ago, as the system
    (actor None); returns how many were closed."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=auto_close_days(tenant))
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


# A draft nobody chose goods for in this long is removed (the portal never lists it).
EMPTY_DRAFT_MAX_AGE = datetime.timedelta(days=1)


def _empty_drafts(queryset):
    """Drafts never submitted, with no line and no file, that no complaint links to."""
    return (
        queryset.filter(status=ReturnStatus.DRAFT, submitted_at__isnull=True)
        .exclude(Exists(ReturnLine.objects.filter(return_request=OuterRef("pk"))))
        .exclude(Exists(ReturnAttachment.objects.filter(return_request=OuterRef("pk"))))
        .filter(complaints__isnull=True)
    )


def returns_delete_empty_drafts(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Delete the tenant's empty drafts (`_empty_drafts`) untouched for more than
    EMPTY_DRAFT_MAX_AGE: started in the portal's first step and given up. They have no RMA
    number (numbers are given on submission), so nothing is lost but the "created" event.
    Each in its own transaction under its row lock, checked again there: a draft being
    saved at that moment is skipped (and kept, if it got lines). Returns how many."""
    now = now or timezone.now()
    cutoff = now - EMPTY_DRAFT_MAX_AGE
    candidates = _empty_drafts(ReturnRequest.objects.for_tenant(tenant)).filter(
        updated_at__lt=cutoff
    )
    deleted = 0
    for pk in candidates.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            locked = (
                _empty_drafts(ReturnRequest.objects.for_tenant(tenant))
                .filter(pk=pk, updated_at__lt=cutoff)
                .select_for_update(skip_locked=True, of=("self",))
                .first()
            )
            if locked is None:  # got lines, submitted, or being saved right now
                continue
            locked.delete()
        deleted += 1
    if deleted:
        logger.info("empty return drafts deleted", extra={"count": deleted})
    return deleted

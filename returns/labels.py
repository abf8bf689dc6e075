"""The return label + packing slip PDF: queued for a worker when a return is approved, stored
under the tenant's media folder, and rendered again on download when the file is missing."""

from __future__ import annotations

import datetime
import logging
import re
import zoneinfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.policy_page import public_policy_url
from rma_portal.documents.pdf import code128_svg, html_to_pdf, qr_svg
from rma_portal.errors import ApplicationError
from rma_portal.files.transactions import save_file
from rma_portal.notifications.enqueue import enqueue_after_commit, enqueue_now

from .models import ReturnLine, ReturnRequest, ReturnStatus, return_label_upload_to

logger = logging.getLogger(__name__)

TEMPLATE = "documents/return_label.html"
DEFAULT_BRAND_COLOUR = "#1f4e79"
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Goods may be on their way or already back: the label stays downloadable for the record.
LABEL_STATUSES = frozenset(
    {
        ReturnStatus.APPROVED,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
        ReturnStatus.RESOLVED,
        ReturnStatus.CLOSED,
    }
)


class LabelUnavailable(ApplicationError):
    """The return is not (or no longer) approved: there is no label to render (HTTP 409)."""

    code = "conflict"


def label_available(return_request: ReturnRequest) -> bool:
    return return_request.status in LABEL_STATUSES


def label_filename(return_request: ReturnRequest) -> str:
    return f"{return_request.number}-return-label.pdf"


def request_label(return_request: ReturnRequest) -> None:
    """After the caller's commit, have a worker render the label (at once in embedded mode).

    A lost enqueue (broker down) or a worker that died costs only time: the outbox sweep
    hands the label to a worker again (`label_sweep`), and a download renders a missing one.
    """
    from .tasks import render_return_label_task

    return_id, tenant_id = return_request.pk, return_request.tenant_id
    # In the caller's transaction: asked for, until rendered (the outbox sweep's mark).
    ReturnRequest.objects.for_tenant(return_request.tenant).filter(pk=return_id).update(
        label_requested_at=timezone.now()
    )
    enqueue_after_commit(
        render_return_label_task,
        args=[return_id, tenant_id],
        what="return label not rendered ahead; the outbox sweep or the download renders it",
        extra={"return_id": return_id, "tenant_id": tenant_id},
    )


# A label still asked for this long after the request (or the last sweep) was lost.
LABEL_SWEEP_AFTER = datetime.timedelta(minutes=5)
# Labels of returns approved longer ago than this are left to the download.
LABEL_SWEEP_WINDOW = datetime.timedelta(days=7)
LABEL_SWEEP_BATCH = 500


def label_request_drop(*, return_request: ReturnRequest) -> None:
    """No label is needed any more (the return was cancelled before it was rendered)."""
    ReturnRequest.objects.for_tenant(return_request.tenant).filter(pk=return_request.pk).update(
        label_requested_at=None
    )


def labels_due(*, now: datetime.datetime) -> list[tuple[int, int]]:
    """(return id, tenant id) of labels asked for and not rendered since LABEL_SWEEP_AFTER."""
    return list(
        ReturnRequest.unscoped.filter(
            label_requested_at__lte=now - LABEL_SWEEP_AFTER,
            approved_at__gte=now - LABEL_SWEEP_WINDOW,
        )
        .order_by("label_requested_at")
        .values_list("pk", "tenant_id")[:LABEL_SWEEP_BATCH]
    )


def label_sweep(*, now: datetime.datetime) -> int:
    """Hand every lost label to a worker again (registered with the outbox sweep); the mark
    moves to `now`, so one that keeps failing is tried again every LABEL_SWEEP_AFTER."""
    from .tasks import render_return_label_task

    due = labels_due(now=now)
    if not due:
        return 0
    ReturnRequest.unscoped.filter(pk__in=[pk for pk, _tenant in due]).update(label_requested_at=now)
    for return_id, tenant_id in due:
        enqueue_now(
            render_return_label_task,
            args=[return_id, tenant_id],
            what="return label sweep could not enqueue; the next sweep retries",
            extra={"return_id": return_id, "tenant_id": tenant_id},
        )
    return len(due)


def portal_url(return_request: ReturnRequest) -> str:
    site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    return site + reverse("portal:return_detail", args=[return_request.pk])


def return_label_lines(*, return_request: ReturnRequest) -> list[ReturnLine]:
    return list(
        ReturnLine.objects.for_tenant(return_request.tenant)
        .filter(return_request_id=return_request.pk)
        .select_related("order_line__order", "order_line__product")
        .order_by("pk")
    )


def return_label_html(*, return_request: ReturnRequest, lines: list[ReturnLine]) -> str:
    """The label's HTML in the requester's language and the tenant's time zone."""
    tenant = return_request.tenant
    url = portal_url(return_request)
    policy_url = public_policy_url(tenant)
    context = {
        "rma": return_request,
        "tenant": tenant,
        # It goes into the stylesheet, where autoescaping does not protect: hex or default.
        "brand_colour": tenant.brand_colour
        if HEX_COLOUR.fullmatch(tenant.brand_colour or "")
        else DEFAULT_BRAND_COLOUR,
        "customer": return_request.customer_account,
        "ship_from": return_request.customer_account.shipping_address_lines,
        "ship_to": tenant.return_address_lines,
        "lines": lines,
        "total_quantity": sum(line.quantity for line in lines),
        "barcode": code128_svg(return_request.number),
        "barcode_small": code128_svg(return_request.number, height="10mm", module=0.25),
        "qr_code": qr_svg(url),
        "portal_url": url,
        # The tenant's public return policy (customers/policy_page.py), printed and as a QR code.
        "policy_url": policy_url,
        "policy_qr": qr_svg(policy_url, size="18mm"),
        "rendered_at": timezone.now(),
    }
    with (
        translation.override(return_request.requester.preferred_language),
        timezone.override(zoneinfo.ZoneInfo(tenant.timezone)),
    ):
        return render_to_string(TEMPLATE, context)


def return_label_render(*, return_request: ReturnRequest) -> ReturnRequest:
    """Render the label, store it as `tenants/<tenant>/labels/<uuid>.pdf`, point the return
    at it and remove the file it replaces (after commit, so a rollback keeps it)."""
    if not label_available(return_request):
        raise LabelUnavailable(
            _("Return %(number)s has no return label until it is approved.")
            % {"number": return_request.number}
        )
    lines = return_label_lines(return_request=return_request)
    pdf = html_to_pdf(return_label_html(return_request=return_request, lines=lines))
    field = ReturnRequest._meta.get_field("label_file")
    rendered_at = timezone.now()
    rows = ReturnRequest.objects.for_tenant(return_request.tenant)
    with transaction.atomic():
        # Written inside the transaction: a rollback deletes the file again.
        name = save_file(
            field.storage, return_label_upload_to(return_request, "label.pdf"), ContentFile(pdf)
        )
        # The lock orders concurrent renders (a worker and a download): each replaces the
        # file the other stored, so no file is left behind without a row pointing at it.
        previous = (
            rows.select_for_update().values_list("label_file", flat=True).get(pk=return_request.pk)
        )
        rows.filter(pk=return_request.pk).update(
            label_file=name, label_rendered_at=rendered_at, label_requested_at=None
        )
        if previous and previous != name:
            transaction.on_commit(lambda: field.storage.delete(previous))
        if not previous:  # the return's first label: integrations hear of it (webhook)
            from .notifications import on_label_rendered

            return_request.label_rendered_at = rendered_at
            on_label_rendered(return_request)
    return_request.label_file = name
    return_request.label_rendered_at = rendered_at
    logger.info(
        "return label rendered",
        extra={"return_id": return_request.pk, "tenant_id": return_request.tenant_id},
    )
    return return_request


def return_label_file(*, return_request: ReturnRequest) -> FieldFile:
    """The stored label, rendered now if it never was or its file is gone."""
    label = return_request.label_file
    if not label or not label.storage.exists(label.name):
        return_request = return_label_render(return_request=return_request)
    return return_request.label_file

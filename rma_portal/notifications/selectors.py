"""Reads of the webhook endpoints and their delivery log, scoped to the user's tenant (the API
views check who may manage webhooks before asking)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.fields.json import KT

from .models import WebhookDelivery, WebhookEndpoint


def webhook_endpoints_for(*, user) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_tenant(user.tenant).order_by("url", "pk")


def webhook_deliveries_for(
    *, user, endpoint: WebhookEndpoint | None = None, status: str = "", event: str = ""
) -> QuerySet[WebhookDelivery]:
    """The tenant's deliveries, newest first, optionally of one endpoint, status or event.

    The body stays in the database (a list shows the event's id, read from it by SQL); the
    detail reads the whole row."""
    deliveries = (
        WebhookDelivery.objects.for_tenant(user.tenant)
        .annotate(event_id=KT("payload__id"))
        .defer("payload")
        .order_by("-created_at", "-pk")
    )
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    if event:
        deliveries = deliveries.filter(event=event)
    return deliveries


def webhook_delivery_detail(*, user) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.for_tenant(user.tenant).select_related("endpoint")

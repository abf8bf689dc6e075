"""API v1 of webhooks.

- `GET /webhooks/events/` — the event catalogue: every event type with its versions, the JSON
  Schema of a call's body and an example. Any user of the tenant may read it (it is
  documentation, like the OpenAPI document).
- `/webhooks/endpoints/` — the tenant's endpoints: list, create, read, change, delete; rotate
  the signing secret, send a test event, read the delivery log.
- `/webhooks/deliveries/` — every delivery of the tenant; read one with its body, send one
  again.

Endpoints and deliveries are for tenant admins, or an API key with the `webhooks:manage`
scope; everyone else gets 403, and another tenant's ids answer 404. The catalogue is open to
every user of the tenant and to any API key.
"""

from __future__ import annotations

import datetime

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from rma_portal.accounts.models import Role
from rma_portal.api.permissions import IsTenantUser, require_scopes
from rma_portal.api.views import TenantScopedAPIMixin, TenantScopedViewSet

from .. import catalogue, selectors, services
from ..models import WebhookDelivery, WebhookEndpoint
from .serializers import (
    DeliveryFilterSerializer,
    EventTypeSerializer,
    RotateSecretInputSerializer,
    WebhookDeliveryDetailSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
)

MANAGE_SCOPE = "webhooks:manage"


class ManagesWebhooks(BasePermission):
    """People: tenant admins only (endpoints receive the tenant's data, and their secrets sign
    it). A request with an API key is judged by its scopes (require_scopes) instead."""

    message = _("Only tenant admins manage webhooks.")

    def has_permission(self, request, view) -> bool:
        if getattr(request.auth, "scopes", None) is not None:
            return True
        return request.user.role == Role.TENANT_ADMIN


MANAGERS = [IsTenantUser, require_scopes(MANAGE_SCOPE), ManagesWebhooks]


# --- the catalogue ---------------------------------------------------------------------------


def catalogue_entry(event: catalogue.EventType) -> dict:
    return {
        "type": event.name,
        "label": str(event.label),
        "description": event.description,
        "group": event.group,
        "subscribable": event.subscribable,
        "version": event.version,
        "versions": [
            {
                "version": version.version,
                "schema": catalogue.envelope_schema(version),
                "example": catalogue.example_envelope(version),
            }
            for version in catalogue.event_versions(event.name)
        ],
    }


EVENT_TYPE = OpenApiParameter(
    "event_type", OpenApiTypes.STR, OpenApiParameter.PATH, description='e.g. "return.resolved"'
)


@extend_schema(tags=["webhooks"])
class WebhookEventViewSet(TenantScopedAPIMixin, GenericViewSet):
    """The webhook event catalogue (docs/webhooks.md)."""

    # Documentation, like the OpenAPI document: every user of the tenant, and any API key.
    permission_classes = [IsTenantUser, require_scopes()]
    serializer_class = EventTypeSerializer
    lookup_url_kwarg = "event_type"
    lookup_value_converter = "str"

    def get_queryset(self):
        return []  # not rows: the catalogue is the code's

    @extend_schema(responses=EventTypeSerializer(many=True))
    def list(self, request, *args, **kwargs):
        """Every event type, by name, with the JSON Schema (draft 2020-12) of each version's
        body and an example."""
        page = self.paginate_queryset([catalogue_entry(e) for e in catalogue.event_types()])
        return self.get_paginated_response(EventTypeSerializer(page, many=True).data)

    @extend_schema(parameters=[EVENT_TYPE], responses=EventTypeSerializer)
    def retrieve(self, request, *args, event_type: str = "", **kwargs):
        """One event type with its versions."""
        if not catalogue.is_known(event_type):
            raise exceptions.NotFound
        return Response(EventTypeSerializer(catalogue_entry(catalogue.event_type(event_type))).data)


# --- endpoints -------------------------------------------------------------------------------


@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(TenantScopedViewSet):
    """The tenant's webhook endpoints (tenant admins, or API keys with `webhooks:manage`)."""

    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    permission_classes = MANAGERS
    parser_classes = [JSONParser]
    # Creation and rotation answer a secret: never kept for replaying an Idempotency-Key.
    idempotent_posts = False

    def scoped_queryset(self, *, user):
        return selectors.webhook_endpoints_for(user=user)

    @extend_schema(responses=WebhookEndpointSerializer(many=True))
    def list(self, request, *args, **kwargs):
        """The tenant's endpoints, by URL; never with their secrets."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointWithSecretSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Add an endpoint. The answer holds its signing secret, shown this once."""
        form = WebhookEndpointInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(
            tenant=request.user.tenant, **form.validated_data, **_audited(request)
        )
        return Response(_with_secret(endpoint, secret), status=201)

    def retrieve(self, request, *args, **kwargs):
        """One endpoint, without its secret."""
        return Response(WebhookEndpointSerializer(self.get_object()).data)

    @extend_schema(
        request=WebhookEndpointInputSerializer(partial=True), responses=WebhookEndpointSerializer
    )
    def partial_update(self, request, *args, **kwargs):
        """Change the URL, description, events or the active flag (only the fields sent)."""
        endpoint = self.get_object()
        form = WebhookEndpointInputSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        services.webhook_endpoint_update(
            endpoint=endpoint, **form.validated_data, **_audited(request)
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Remove the endpoint and its delivery log; calls still queued for it are dropped."""
        services.webhook_endpoint_delete(endpoint=self.get_object(), **_audited(request))
        return Response(status=204)

    @extend_schema(
        request=RotateSecretInputSerializer, responses=WebhookEndpointWithSecretSerializer
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret, shown this once. The replaced secret keeps signing next to it
        (a second `v1` in X-Signature) for `previous_secret_hours` (default 24, at most 168;
        0: not at all), so the receiver can switch without refusing calls."""
        endpoint = self.get_object()
        form = RotateSecretInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        hours = form.validated_data["previous_secret_hours"]
        endpoint, secret = services.webhook_secret_rotate(
            endpoint=endpoint, grace=datetime.timedelta(hours=hours), **_audited(request)
        )
        return Response(_with_secret(endpoint, secret))

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        """Send a `webhook.ping` to this endpoint through the outbox, like any event; the
        answer is its delivery, to follow in the log (409 if the endpoint is inactive)."""
        delivery = services.webhook_ping(endpoint=self.get_object())
        return Response(_delivery(delivery), status=202)

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The endpoint's delivery log, newest first: event, state, attempts, last answer.
        Filters by state or event: `GET /webhooks/deliveries/?endpoint={id}&status=failed`."""
        endpoint = self.get_object()
        rows = selectors.webhook_deliveries_for(user=request.user, endpoint=endpoint)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


def _audited(request) -> dict:
    """Who changes an endpoint, for its audit row: the user, or the integration user of the
    request's API key (the row then names the key)."""
    return {"actor": request.user, "request": request, "via": "api"}


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> dict:
    endpoint.secret = secret
    return WebhookEndpointWithSecretSerializer(endpoint).data


def _delivery(delivery: WebhookDelivery) -> dict:
    return WebhookDeliverySerializer(delivery).data


# --- deliveries ------------------------------------------------------------------------------


@extend_schema(tags=["webhooks"])
class WebhookDeliveryViewSet(TenantScopedViewSet):
    """Every webhook delivery of the tenant (tenant admins, or API keys with
    `webhooks:manage`)."""

    model = WebhookDelivery
    serializer_class = WebhookDeliveryDetailSerializer
    permission_classes = MANAGERS
    parser_classes = [JSONParser]
    filter_serializer_class = DeliveryFilterSerializer

    def scoped_queryset(self, *, user):
        if self.action != "list":
            return selectors.webhook_delivery_detail(user=user)
        filters = DeliveryFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        endpoint_id = data.pop("endpoint", None)
        rows = selectors.webhook_deliveries_for(user=user, **data)
        return rows.filter(endpoint_id=endpoint_id) if endpoint_id else rows

    @extend_schema(
        parameters=[DeliveryFilterSerializer], responses=WebhookDeliverySerializer(many=True)
    )
    def list(self, request, *args, **kwargs):
        """Deliveries of all the tenant's endpoints, newest first; `endpoint`, `status` and
        `event` narrow it."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        """One delivery with the body it POSTs."""
        return Response(WebhookDeliveryDetailSerializer(self.get_object()).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        """Send the same body again as a new delivery (its own X-Delivery and attempts; the
        event's `id` is the same). 409 while this one is still pending or being sent, or when
        the endpoint is inactive."""
        delivery = services.webhook_redeliver(delivery=self.get_object())
        return Response(_delivery(delivery), status=202)

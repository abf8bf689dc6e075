"""URLs under /api/: version 1 of the REST API, its OpenAPI schema and the Swagger UI."""

from __future__ import annotations

from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.routers import SimpleRouter

from complaints.api.views import ComplaintViewSet
from customers.api.erp import (
    CustomerAccountViewSet,
    CustomerUserInviteViewSet,
    InvoiceViewSet,
    ProductCategoryViewSet,
    ProductViewSet,
)
from returns.api.policies import ReturnPolicyOverrideViewSet
from returns.api.views import OrderViewSet, ReturnRequestViewSet
from rma_portal.credentials.api import ApiKeyViewSet
from rma_portal.notifications.api.views import (
    WebhookDeliveryViewSet,
    WebhookEndpointViewSet,
    WebhookEventViewSet,
)

from .exceptions import api_not_found
from .permissions import IsTenantUser, is_tenant_user
from .tokens import PersonalTokenViewSet
from .views import AuthTokenView

app_name = "api"


class DocsAccess(BasePermission):
    """The schema maps every endpoint, parameter and error of the API: an attacker's
    reconnaissance. It is shown to the people who use the API (a tenant user signed in, or
    with a token), to everyone only when API_DOCS_PUBLIC is on. Read at each request, so the
    setting can change without a new URLconf."""

    message = IsTenantUser.message

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or is_tenant_user(request.user)


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema (YAML, or JSON with ?format=json); refusals in the API's error shape
    as JSON, not as a YAML document a client would take for the schema."""

    permission_classes = [DocsAccess]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with no inline script: the page loads its start-up script from this same
    URL (?script), so the Content-Security-Policy needs no nonce or 'unsafe-inline' for it.
    A visitor who is not signed in is sent to the sign-in page and back."""

    permission_classes = [DocsAccess]
    template_name = "api/swagger_ui.html"

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


# SimpleRouter: no browsable root view, every route is a tenant-scoped viewset. Path
# converters (`<id:pk>`, rma_portal/ids.py): an id that is no number, 0 or past bigint never
# reaches a view (404), and the schema types it.
router = SimpleRouter(use_regex_path=False)
router.register("orders", OrderViewSet, basename="order")
router.register("returns", ReturnRequestViewSet, basename="return")
router.register("complaints", ComplaintViewSet, basename="complaint")
router.register("product-categories", ProductCategoryViewSet, basename="product-category")
router.register("products", ProductViewSet, basename="product")
router.register("customers", CustomerAccountViewSet, basename="customer")
router.register("customer-users", CustomerUserInviteViewSet, basename="customer-user")
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("auth/tokens", PersonalTokenViewSet, basename="personal-token")
router.register("webhooks/events", WebhookEventViewSet, basename="webhook-event")
router.register("webhooks/endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhooks/deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

v1_urlpatterns = [
    path("auth/token/", AuthTokenView.as_view(), name="auth-token"),
    path("schema/", SchemaView.as_view(), name="schema"),
    # Before the router's `customers/by-external-id/<path:external_id>/`, whose external id
    # would take ".../return-policy" for a customer number.
    path(
        "customers/by-external-id/<path:external_id>/return-policy/",
        ReturnPolicyOverrideViewSet.as_view(
            {"get": "retrieve", "put": "update", "delete": "destroy"},
            detail=True,
            basename="customer-return-policy",
        ),
        name="customer-return-policy",
    ),
    *router.urls,
]

urlpatterns = [
    path("v1/", include(v1_urlpatterns)),
    # Swagger UI's stylesheet embeds its icons as data: images; no other page needs them.
    path(
        "docs/",
        csp_update({"img-src": ["data:"]})(SwaggerView.as_view(url_name="api:schema")),
        name="docs",
    ),
    # Every other path under /api/, a newline in it too (`.` alone does not match one).
    re_path(r"^[\s\S]*$", api_not_found),
]

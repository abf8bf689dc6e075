"""URLs under /api/: version 1 of the REST API, its OpenAPI schema and the Swagger UI."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from complaints.api.views import ComplaintViewSet
from returns.api.views import OrderViewSet, ReturnRequestViewSet

from .exceptions import api_not_found
from .views import AuthTokenView

app_name = "api"

# SimpleRouter: no browsable root view, every route is a tenant-scoped viewset. Path
# converters (`<int:pk>`): a non-numeric id never reaches a view, and the schema types it.
router = SimpleRouter(use_regex_path=False)
router.register("orders", OrderViewSet, basename="order")
router.register("returns", ReturnRequestViewSet, basename="return")
router.register("complaints", ComplaintViewSet, basename="complaint")

v1_urlpatterns = [
    path("auth/token/", AuthTokenView.as_view(), name="auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    *router.urls,
]

urlpatterns = [
    path("v1/", include(v1_urlpatterns)),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", api_not_found),
]

"""The base every tenant API view inherits, and the token endpoint.

`TenantScopedViewSet` is the one place where API requests get their tenant and their rows:
the tenant comes from the authenticated user, the queryset from a selector given that user.
"""

from __future__ import annotations

import contextlib
import zoneinfo

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.viewsets import GenericViewSet

from rma_portal.concurrency import VersionedModel, version_from_if_match
from rma_portal.tenancy.context import no_tenant, tenant_context

from .permissions import IsTenantUser, is_tenant_user
from .throttling import ClientAddressScopedRateThrottle, SignInAccountRateThrottle
from .tokens import TokenEndpoint


class TenantScopedAPIMixin:
    """Runs the view under the authenticated user's tenant, and only for tenant users.

    TenantMiddleware resolves the tenant from the *session* before DRF authenticates, so a
    token-authenticated request arrives with no tenant. After DRF's authentication the scope
    is set again from `request.user` (no tenant at all for anyone else, so scoped managers
    fail closed) and restored when the view returns.
    """

    permission_classes = [IsTenantUser]

    def perform_authentication(self, request) -> None:
        super().perform_authentication(request)
        user = request.user
        tenant = user.tenant if is_tenant_user(user) else None
        self._tenant_scope.enter_context(
            tenant_context(tenant) if tenant is not None else no_tenant()
        )
        if tenant is not None:
            self._tenant_scope.enter_context(timezone.override(zoneinfo.ZoneInfo(tenant.timezone)))
        request._request.tenant = tenant
        request._request.all_tenants = False

    def dispatch(self, request, *args, **kwargs):
        self._tenant_scope = contextlib.ExitStack()
        with self._tenant_scope:
            return super().dispatch(request, *args, **kwargs)


class TenantScopedViewSet(TenantScopedAPIMixin, GenericViewSet):
    """Base of every tenant API viewset: rows come only from `scoped_queryset(user=...)`.

    Subclasses name their `model` and implement `scoped_queryset` with a selector that applies
    the tenant and the customer company. They may not set `queryset` or override
    `get_queryset`, so the scoping cannot be forgotten; lookups of foreign ids answer 404.
    """

    model: type[Model]
    lookup_value_converter = "int"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "queryset", None) is not None or "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__}: implement scoped_queryset(user=...) instead of setting "
                "queryset or overriding get_queryset."
            )

    def scoped_queryset(self, *, user) -> QuerySet:
        raise NotImplementedError(f"{type(self).__name__} must implement scoped_queryset().")

    def get_object(self):
        """The object, through the scoped queryset; for a change, it carries the version the
        client saw when it sent one (`If-Match`), which the service compares with the row it
        locks (docs/architecture.md#concurrent-changes)."""
        obj = super().get_object()
        self.seen_version = None
        if self.request.method not in SAFE_METHODS and isinstance(obj, VersionedModel):
            try:
                self.seen_version = version_from_if_match(self.request.headers.get("If-Match"))
            except ValueError:
                raise exceptions.ValidationError(
                    {"If-Match": [_('Send the ETag of the detail answer, e.g. "3".')]}
                ) from None
            obj.seen_version = self.seen_version
        return obj

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if (
            getattr(self, "detail", False)
            and response.status_code < 300
            and isinstance(data, dict)
            and isinstance(data.get("version"), int)
        ):
            response["ETag"] = f'"{data["version"]}"'
        return response

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation only inspects the model; `.none()` never reaches the database.
            return self.model.unscoped.none()
        return self.scoped_queryset(user=self.request.user)


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag of the detail answer you read (e.g. "7"): the change is refused '
    "with 409 if the object changed since (docs/api.md).",
)


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """For file downloads: the answer is the file whatever the client accepts (errors: JSON)."""

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# --- token ----------------------------------------------------------------------------------


class AuthTokenView(TokenEndpoint):
    """Exchange e-mail and password for a new personal API token; revoke the token in use
    (rma_portal/api/tokens.py)."""

    # Credentials travel in the body; no session, so no CSRF token is needed.
    authentication_classes = []
    permission_classes = [AllowAny]
    # Per client address ("auth_token") and per account named ("auth_token_account").
    throttle_classes = [ClientAddressScopedRateThrottle, SignInAccountRateThrottle]
    throttle_scope = "auth_token"

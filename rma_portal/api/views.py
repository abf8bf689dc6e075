"""The base every tenant API view inherits, and the token endpoint.

`TenantScopedViewSet` is the one place where API requests get their tenant and their rows:
the tenant comes from the authenticated user, the queryset from a selector given that user.
It is also where every tenant API request gets what they all share: API keys' scopes and
audit label, rate limits on refused requests too, `Idempotency-Key` on POST, and `Location`
on 201 answers.
"""

from __future__ import annotations

import contextlib
import zoneinfo

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.viewsets import GenericViewSet

from rma_portal.concurrency import VersionedModel, version_from_if_match
from rma_portal.security.audit import acting_api_key
from rma_portal.tenancy.context import no_tenant, tenant_context

from . import idempotency
from .permissions import IsTenantUser, ScopePermission, is_api_key, is_tenant_user
from .throttling import ClientAddressScopedRateThrottle, SignInAccountRateThrottle
from .tokens import TokenEndpoint

# Refusals that come after authentication: the request still counts against its rate limit.
_REFUSED = (
    exceptions.AuthenticationFailed,
    exceptions.NotAuthenticated,
    exceptions.PermissionDenied,
)


class TenantScopedAPIMixin:
    """Runs the view under the authenticated user's tenant, and only for tenant users.

    TenantMiddleware resolves the tenant from the *session* before DRF authenticates, so a
    token-authenticated request arrives with no tenant. After DRF's authentication the scope
    is set again from `request.user` (no tenant at all for anyone else, so scoped managers
    fail closed) and restored when the view returns.

    Besides (docs/api.md):

    - A request with an API key is refused (403) on a view whose permissions check no scope
      (`ScopePermission`, e.g. `require_scopes`): a new endpoint is closed to keys until it
      names the scope that opens it. Audit rows the request writes name the key.
    - The throttles (rma_portal.api.throttling) also run when authentication or permissions
      refuse the request, so refused requests count against the limit and every answer
      carries the X-RateLimit-* headers.
    - A POST with `Idempotency-Key` runs once (rma_portal/api/idempotency.py); views whose
      answers must never be kept set `idempotent_posts = False` and refuse the header.
    - `add_response_headers()` runs on every answer before it is kept for replays (ETag,
      Location).
    """

    permission_classes = [IsTenantUser]
    idempotent_posts = True

    def perform_authentication(self, request) -> None:
        super().perform_authentication(request)
        user = request.user
        tenant = user.tenant if is_tenant_user(user) else None
        self._tenant_scope.enter_context(
            tenant_context(tenant) if tenant is not None else no_tenant()
        )
        if tenant is not None:
            self._tenant_scope.enter_context(timezone.override(zoneinfo.ZoneInfo(tenant.timezone)))
        if is_api_key(request.auth):
            self._tenant_scope.enter_context(acting_api_key(request.auth))
        request._request.tenant = tenant
        request._request.all_tenants = False

    def check_permissions(self, request) -> None:
        super().check_permissions(request)
        if is_api_key(request.auth) and not any(
            isinstance(permission, ScopePermission) for permission in self.get_permissions()
        ):
            self.permission_denied(
                request, message=_("API keys cannot use this endpoint."), code="forbidden"
            )

    def check_throttles(self, request) -> None:
        self._throttles_checked = True
        super().check_throttles(request)

    def initial(self, request, *args, **kwargs) -> None:
        self._throttles_checked = False
        try:
            super().initial(request, *args, **kwargs)
        except _REFUSED:
            if not self._throttles_checked:
                self.check_throttles(request)  # a 429 wins over the refusal
            raise
        if request.method == "POST":
            if not self.idempotent_posts and idempotency.HEADER in request.headers:
                raise exceptions.ValidationError(
                    {idempotency.HEADER: [_("This endpoint does not take an Idempotency-Key.")]}
                )
            self._idempotency = idempotency.begin(
                request, enter_transaction=self._tenant_scope.enter_context
            )

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)

    def add_response_headers(self, request, response) -> None:
        """Headers that depend on the answer's data; kept with it for idempotent replays."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if not response.has_header(idempotency.REPLAYED_HEADER):
            self.add_response_headers(request, response)
        claim, self._idempotency = getattr(self, "_idempotency", None), None
        if claim is not None:
            idempotency.finish(claim, response)
        return response

    def dispatch(self, request, *args, **kwargs):
        self._tenant_scope = contextlib.ExitStack()
        self._idempotency = None
        with self._tenant_scope:
            return super().dispatch(request, *args, **kwargs)


class TenantScopedViewSet(TenantScopedAPIMixin, GenericViewSet):
    """Base of every tenant API viewset: rows come only from `scoped_queryset(user=...)`.

    Subclasses name their `model` and implement `scoped_queryset` with a selector that applies
    the tenant and the customer company. They may not set `queryset` or override
    `get_queryset`, so the scoping cannot be forgotten; lookups of foreign ids answer 404.
    """

    model: type[Model]
    lookup_value_converter = "id"

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

    def add_response_headers(self, request, response) -> None:
        data = getattr(response, "data", None)
        if (
            getattr(self, "detail", False)
            and response.status_code < 300
            and isinstance(data, dict)
            and isinstance(data.get("version"), int)
        ):
            response["ETag"] = f'"{data["version"]}"'
        if response.status_code == 201 and not response.has_header("Location"):
            location = self.created_location(request, data)
            if location:
                response["Location"] = location

    def created_location(self, request, data) -> str | None:
        """Where what a 201 answer created can be read (its `Location`): a file's download
        URL; a created object's detail URL; otherwise the URL posted to (a message appears in
        the thread it was posted to). Views with better answers override this."""
        if not isinstance(data, dict):
            return None
        if isinstance(data.get("download_url"), str):
            return data["download_url"]
        if self.action == "create" and data.get("id") is not None:
            try:
                path = reverse(
                    f"{request.resolver_match.namespace}:{self.basename}-detail",
                    kwargs={self.lookup_url_kwarg or self.lookup_field: data["id"]},
                )
            except NoReverseMatch:
                return None
            return request.build_absolute_uri(path)
        return request.build_absolute_uri(request.path)

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation only inspects the model; `.none()` never reaches the database.
            return getattr(self.model, "unscoped", self.model._default_manager).none()
        return self.scoped_queryset(user=self.request.user)


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    pattern=r'^\s*((W/)?"?[0-9]{1,10}"?\s*)?$',  # what version_from_if_match reads
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

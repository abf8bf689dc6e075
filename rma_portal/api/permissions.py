"""Who may use the API: personal-token authentication that applies the sign-in rules on every
request, tenant API keys acting as the tenant's integration, the permission that keeps the API
to users of a tenant, and the scopes an API key needs."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    TokenAuthentication,
    get_authorization_header,
)
from rest_framework.permissions import SAFE_METHODS, BasePermission

from rma_portal.accounts.backends import RoleBackend
from rma_portal.accounts.models import Role
from rma_portal.credentials.models import ApiKey
from rma_portal.credentials.services import (
    TokenRejected,
    find_api_key,
    find_personal_token,
    integration_may_act,
    record_api_key_use,
    record_use,
)


class TenantTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` with a personal API token (rma_portal.credentials).

    Refused (401) when the key is unknown, revoked or expired, and as soon as the user could
    no longer sign in: DRF only checks `user.is_active`; a token must also stop working when
    the tenant or the customer company is deactivated, exactly like the session login
    (RoleBackend). `request.auth` is the PersonalToken.
    """

    def authenticate_credentials(self, key):
        try:
            token = find_personal_token(key)
        except TokenRejected as rejected:
            raise exceptions.AuthenticationFailed(rejected.message, code=rejected.code) from None
        if not RoleBackend().user_can_authenticate(token.user):
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        record_use(token)
        return token.user, token


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>` with a tenant API key (rma_portal.credentials).

    The request acts as the tenant's integration user (role Integration: reads the tenant like
    staff, never signs in) and `request.auth` is the ApiKey, whose `scopes` the views check
    (`require_scopes`). Refused (401) when the key is unknown, revoked or expired (a rotated
    key after its grace period), or when the tenant or its integration user is deactivated.
    The key is also put on Django's request (`api_key`), so audit rows name it.
    """

    keyword = "Api-Key"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the API key as: Authorization: Api-Key <key>.")
            )
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from None
        try:
            api_key = find_api_key(key)
        except TokenRejected as rejected:
            raise exceptions.AuthenticationFailed(rejected.message, code=rejected.code) from None
        if not integration_may_act(api_key):
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        django_request = getattr(request, "_request", request)
        django_request.api_key = api_key
        record_api_key_use(api_key, request=request)
        return api_key.user, api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """ApiKeyAuthentication in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A tenant API key: `Api-Key <key>` (docs/api.md#api-keys).",
        }


def is_api_key(auth) -> bool:
    return isinstance(auth, ApiKey)


def is_tenant_user(user) -> bool:
    """A signed-in customer or staff user of a tenant, or the tenant's integration (only ever
    authenticated by an API key: the sign-in checks refuse it everywhere else): the only
    principals the API serves."""
    return bool(
        user
        and user.is_authenticated
        and user.tenant_id
        and (user.is_customer or user.is_tenant_staff)
    )


class IsTenantUser(BasePermission):
    """Platform superusers have no tenant; the API never runs across tenants
    (docs/architecture.md#interfaces)."""

    message = _("The API is for users of a tenant; platform accounts cannot use it.")

    def has_permission(self, request, view) -> bool:
        return is_tenant_user(request.user)


class ScopePermission(BasePermission):
    """Base of the permissions that check an API key's scopes. A request authenticated by an
    API key needs every scope `required_scopes(request)` names; people (session or personal
    token) are governed by their role, which each view checks as before.

    The API base refuses API keys on views with no ScopePermission at all
    (rma_portal.api.views.TenantScopedAPIMixin): a new endpoint is closed to keys until it
    says which scope opens it.
    """

    code = "insufficient_scope"

    def required_scopes(self, request) -> frozenset[str]:
        raise NotImplementedError

    def has_permission(self, request, view) -> bool:
        granted = getattr(request.auth, "scopes", None)
        if granted is None:  # a person: no scopes to check
            return True
        self.missing = sorted(self.required_scopes(request) - set(granted))
        return not self.missing

    @property
    def message(self) -> str:
        # Made when the request is refused, in its language (not once at import).
        return gettext("This API key lacks the scope this request needs: %(scopes)s.") % {
            "scopes": ", ".join(getattr(self, "missing", []))
        }


def require_scopes(*scopes: str) -> type[BasePermission]:
    """A permission class: a request authenticated by a tenant API key needs every one of
    `scopes` (e.g. "orders:write"); people (session or personal token) are governed by their
    role, which each view checks as before. Use next to IsTenantUser:
    `permission_classes = [IsTenantUser, require_scopes("orders:write")]`."""
    required = frozenset(scopes)

    class RequiresScopes(ScopePermission):
        def required_scopes(self, request) -> frozenset[str]:
            return required

    return RequiresScopes


def require_read_write_scopes(*, read: str, write: str) -> type[BasePermission]:
    """`read` for GET, HEAD and OPTIONS, `write` for every other method (a change answers the
    changed object: `write` alone covers that answer). E.g. `permission_classes =
    [IsTenantUser, require_read_write_scopes(read="returns:read", write="returns:write")]`."""

    class RequiresReadWriteScopes(ScopePermission):
        def required_scopes(self, request) -> frozenset[str]:
            return frozenset({read if request.method in SAFE_METHODS else write})

    return RequiresReadWriteScopes


class IsPerson(BasePermission):
    """A person (session or personal token), never an API key: for what people manage about
    themselves, such as their own personal tokens."""

    code = "forbidden"

    @property
    def message(self) -> str:
        return gettext("API keys cannot use this endpoint.")

    def has_permission(self, request, view) -> bool:
        return not is_api_key(request.auth)


class IsTenantAdmin(BasePermission):
    """A tenant admin in person (session or personal token), never an API key."""

    @property
    def message(self) -> str:
        return gettext("Only tenant admins may do this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            is_tenant_user(user) and user.role == Role.TENANT_ADMIN and not is_api_key(request.auth)
        )

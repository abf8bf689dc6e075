"""Who may use the API: personal-token authentication that applies the sign-in rules on every
request, and the permission that keeps the API to users of a tenant."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission

from rma_portal.accounts.backends import RoleBackend
from rma_portal.credentials.services import TokenRejected, find_personal_token, record_use


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


def is_tenant_user(user) -> bool:
    """A signed-in customer or staff user of a tenant: the only people the API serves."""
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


def require_scopes(*scopes: str) -> type[BasePermission]:
    """A permission class: a request authenticated by a tenant API key needs every one of
    `scopes` (e.g. "orders:write"); people (session or personal token) are governed by their
    role, which each view checks as before. Use next to IsTenantUser:
    `permission_classes = [IsTenantUser, require_scopes("orders:write")]`."""

    class RequiresScopes(BasePermission):
        required = frozenset(scopes)
        message = _("This API key lacks the scope this request needs: %(scopes)s.") % {
            "scopes": ", ".join(sorted(scopes))
        }

        def has_permission(self, request, view) -> bool:
            granted = getattr(request.auth, "scopes", None)
            if granted is None:
                return True
            return self.required <= set(granted)

    return RequiresScopes

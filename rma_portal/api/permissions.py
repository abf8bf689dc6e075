"""Who may use the API: token authentication that applies the sign-in rules on every request,
and the permission that keeps the API to users of a tenant."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission

from rma_portal.accounts.backends import RoleBackend


class TenantTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused as soon as the user could no longer sign in.

    DRF only checks `user.is_active`; a token must also stop working when the tenant or the
    customer company is deactivated, exactly like the session login (RoleBackend).
    """

    def authenticate_credentials(self, key):
        model = self.get_model()
        token = model.objects.select_related("user", "user__tenant").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not RoleBackend().user_can_authenticate(token.user):
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
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

"""Authentication by e-mail with permissions derived from the user's role."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.backends import ModelBackend

from rma_portal.tenancy.context import tenant_context

from .models import Role, User
from .permissions import role_has_module_perms, role_has_perm


def is_not_integration(user: User) -> bool:
    """The tenant's integration user is the principal of its API keys, never a person: no
    sign-in page, session or personal token lets anyone act as it (its password is unusable
    too). API keys authenticate it without these checks (rma_portal.credentials.services)."""
    return user.role != Role.INTEGRATION


# Domain apps add checks here (e.g. "the customer company is active") from AppConfig.ready().
login_checks: list[Callable[[User], bool]] = [is_not_integration]


def register_login_check(check: Callable[[User], bool]) -> None:
    if check not in login_checks:
        login_checks.append(check)


class RoleBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        if not super().user_can_authenticate(user):
            return False
        if user.is_superuser and user.tenant_id is None:
            return True
        if user.tenant_id is None or not user.tenant.is_active:
            return False
        # Checks read tenant-owned rows (the customer company): in the user's own tenant,
        # which is also what row-level security lets a request see before its tenant is set.
        with tenant_context(user.tenant):
            return all(check(user) for check in login_checks)

    def get_user(self, user_id):
        user = User._default_manager.select_related("tenant").filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        return user

    def get_all_permissions(self, user_obj, obj=None):
        # Roles are the only source of permissions; no group or per-user grants.
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return super().get_all_permissions(user_obj) if user_obj.is_superuser else set()

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        if not user_obj.is_active or user_obj.is_anonymous:
            return False
        if user_obj.is_superuser:
            return True
        return role_has_perm(user_obj.role, perm)

    def has_module_perms(self, user_obj, app_label) -> bool:
        if not user_obj.is_active or user_obj.is_anonymous:
            return False
        if user_obj.is_superuser:
            return True
        return role_has_module_perms(user_obj.role, app_label)

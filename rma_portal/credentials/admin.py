"""Personal API tokens in the back-office: tenant admins see and revoke their own tenant's
tokens; a platform superuser those of all tenants, or of the tenant switched into. Nobody
adds, edits or deletes one here: a token is created by its user, its secret is never shown
again, and revocation keeps the row the audit log names."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rma_portal.accounts.models import Role

from .models import CredentialState, PersonalToken, RevokeReason
from .services import revoke_token


def may_manage_tokens(user) -> bool:
    """Tenant admins (of their tenant) and platform superusers; no other staff role."""
    return bool(
        user.is_active
        and (
            (user.is_superuser and user.tenant_id is None)
            or (user.tenant_id and user.role == Role.TENANT_ADMIN)
        )
    )


class StateFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return CredentialState.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == CredentialState.ACTIVE:
            return queryset.usable(now)
        if self.value() == CredentialState.EXPIRED:
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == CredentialState.REVOKED:
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "display_prefix",
        "user",
        "created_at",
        "expires_at",
        "last_used_at",
        "status",
    ]
    list_filter = [StateFilter, "revoked_reason"]
    search_fields = ["name", "prefix", "user__email"]
    list_select_related = ["user", "tenant"]
    date_hierarchy = "created_at"
    # Never the hash: it is not the secret, but nobody needs to see it.
    fields = [
        "name",
        "display_prefix",
        "user",
        "tenant",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_reason",
    ]
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.display(description=gettext_lazy("prefix"), ordering="prefix")
    def display_prefix(self, obj: PersonalToken) -> str:
        return obj.display_prefix

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj: PersonalToken) -> str:
        return obj.get_state_display()

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        return [*columns, "tenant"] if request.tenant is None else columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        return ["tenant", *filters] if request.tenant is None else filters

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not may_manage_tokens(request.user):
            return queryset.none()
        if request.tenant is not None:
            return queryset.filter(tenant=request.tenant)
        if request.user.is_superuser and request.user.tenant_id is None:
            return queryset
        return queryset.none()

    def has_module_permission(self, request) -> bool:
        return may_manage_tokens(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return may_manage_tokens(request.user)

    def has_revoke_permission(self, request) -> bool:
        return may_manage_tokens(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Django refuses the delete page before looking the id up: 403 for every id alike.
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index saying "doesn't exist"; another tenant's id must look
        # exactly like a missing one (docs/architecture.md#tenancy).
        raise Http404

    @admin.action(description=gettext_lazy("Revoke"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for token in queryset.select_related("user", "tenant"):
            revoked += revoke_token(
                token, reason=RevokeReason.BY_ADMIN, actor=request.user, request=request
            )
        self.message_user(request, _("Revoked: %(count)d.") % {"count": revoked}, messages.SUCCESS)

"""Personal API tokens in the back-office: tenant admins see and revoke their own tenant's
tokens; a platform superuser those of all tenants, or of the tenant switched into. Nobody
adds, edits or deletes one here: a token is created by its user, its secret is never shown
again, and revocation keeps the row the audit log names."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rma_portal.backoffice.admin import TenantAdminRecordsAdmin, is_tenant_admin_or_platform

from .models import CredentialState, PersonalToken, RevokeReason
from .services import revoke_token


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
class PersonalTokenAdmin(TenantAdminRecordsAdmin):
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

    def has_revoke_permission(self, request) -> bool:
        return is_tenant_admin_or_platform(request.user)

    @admin.action(description=gettext_lazy("Revoke"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for token in queryset.select_related("user", "tenant"):
            revoked += revoke_token(
                token, reason=RevokeReason.BY_ADMIN, actor=request.user, request=request
            )
        self.message_user(request, _("Revoked: %(count)d.") % {"count": revoked}, messages.SUCCESS)

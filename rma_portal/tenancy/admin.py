from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Tenants are platform objects: only platform superusers manage them."""

    list_display = ["name", "slug", "is_active", "default_language", "timezone", "currency"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "is_active", "support_email"]}),
        (
            _("Branding and locale"),
            {"fields": ["brand_colour", "logo", "default_language", "timezone", "currency"]},
        ),
        (
            _("Return address"),
            {
                "fields": [
                    "return_address_name",
                    "return_address_street",
                    "return_address_postal_code",
                    "return_address_city",
                    "return_address_country",
                ]
            },
        ),
    ]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False

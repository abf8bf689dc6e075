from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from rma_portal.languages import language_codes, native_choices

from .models import Tenant


class TenantForm(forms.ModelForm):
    """The tenant, with the languages its customers are offered as tick boxes (every one
    ticked when the tenant chose none)."""

    offered_languages = forms.MultipleChoiceField(
        label=_("languages offered to customers"),
        choices=native_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Offer at least one language.")},
        help_text=Tenant._meta.get_field("offered_languages").help_text,
    )

    class Meta:
        model = Tenant
        fields = ["offered_languages"]  # the admin adds those of its fieldsets

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("offered_languages")
        if field is not None and not self.initial.get("offered_languages"):
            self.initial["offered_languages"] = language_codes()

    def clean_offered_languages(self) -> list[str]:
        offered = self.cleaned_data["offered_languages"]
        # Every language ticked is every language, including ones added later.
        return [] if set(language_codes()) <= set(offered) else offered


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Platform superusers manage tenants; a tenant admin edits their own tenant's branding,
    locale and return address (not its slug or active flag)."""

    list_display = ["name", "slug", "is_active", "default_language", "timezone", "currency"]
    form = TenantForm
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "is_active", "support_email"]}),
        (_("Sign-in security"), {"fields": ["staff_two_factor_required"]}),
        (_("API"), {"fields": ["api_rate_limit_per_minute"]}),
        (
            _("Branding and locale"),
            {
                "fields": [
                    "brand_colour",
                    "logo",
                    "default_language",
                    "offered_languages",
                    "timezone",
                    "currency",
                ]
            },
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

    def _is_own_tenant_admin(self, request, obj=None) -> bool:
        user = request.user
        return (
            getattr(user, "role", "") == "tenant_admin"
            and user.tenant_id is not None
            and (obj is None or obj.pk == user.tenant_id)
        )

    def get_queryset(self, request):
        # The tenant in context, like every other admin: a tenant's staff see their own; a
        # platform superuser switched into a tenant sees that one and reaches no other (a
        # foreign id answers 404); only a superuser working across tenants sees them all.
        queryset = super().get_queryset(request)
        if request.tenant is not None:
            return queryset.filter(pk=request.tenant.pk)
        if request.user.is_superuser and getattr(request, "all_tenants", False):
            return queryset
        return queryset.none()

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return []
        # The API rate limit protects the platform as much as the tenant: the platform sets it.
        return ["slug", "is_active", "api_rate_limit_per_minute"]

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ["name"]} if request.user.is_superuser else {}

    def has_module_permission(self, request):
        return request.user.is_superuser or self._is_own_tenant_admin(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or self._is_own_tenant_admin(request, obj)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser or self._is_own_tenant_admin(request, obj)

    def has_add_permission(self, request):
        # Adding a tenant is work across tenants: not while switched into one.
        return request.user.is_superuser and getattr(request, "all_tenants", False)

    def has_delete_permission(self, request, obj=None):
        return False  # tenants are deactivated, never deleted

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        from django.http import Http404

        raise Http404

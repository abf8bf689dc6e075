"""Users in the back-office: tenant admins manage their own tenant's people."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from rma_portal.security.lockout import lift_account_lockout

from .models import CUSTOMER_ROLES, Role, User
from .two_factor_admin import reset_two_factor


def _customer_account_model():
    from django.apps import apps

    return apps.get_model("customers", "CustomerAccount")


def _membership_model():
    from django.apps import apps

    return apps.get_model("customers", "CustomerMembership")


class CustomerAccountFieldMixin(forms.ModelForm):
    """Customer roles need the company they act for; staff roles must not have one."""

    customer_account = forms.ModelChoiceField(
        label=_("customer account"),
        queryset=None,
        required=False,
        help_text=_("Required for customer roles, empty for staff."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Scoped to the request's tenant by the tenancy middleware.
        self.fields["customer_account"].queryset = _customer_account_model().objects.all()
        if self.instance.pk:
            membership = _membership_model().unscoped.filter(user_id=self.instance.pk).first()
            if membership:
                self.fields["customer_account"].initial = membership.customer_account_id

    def clean_email(self) -> str:
        # Stored lower-cased: checked for uniqueness the same way, not left to the database.
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        account = cleaned.get("customer_account")
        tenant = cleaned.get("tenant") or getattr(self, "request_tenant", None)
        if role in CUSTOMER_ROLES and account is None:
            self.add_error("customer_account", _("Choose the company this user acts for."))
        if role and role not in CUSTOMER_ROLES and account is not None:
            self.add_error("customer_account", _("Staff users do not belong to a customer."))
        if account is not None and tenant is not None and account.tenant_id != tenant.pk:
            self.add_error("customer_account", _("Choose a customer of the same tenant."))
        return cleaned


# E-mail addresses are unique on the whole platform. A taken one is refused with one message
# whichever tenant's account holds it, never saying where (docs/security.md#team-invitations).
EMAIL_TAKEN = {
    "email": {"unique": _("This e-mail address cannot be used: it already has an account.")}
}


class TenantUserCreationForm(CustomerAccountFieldMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "full_name", "tenant", "role", "language"]
        error_messages = EMAIL_TAKEN


class TenantUserChangeForm(CustomerAccountFieldMixin, UserChangeForm):
    class Meta:
        model = User
        fields = ["email", "full_name", "tenant", "role", "language", "is_active"]
        error_messages = EMAIL_TAKEN


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = TenantUserChangeForm
    add_form = TenantUserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "full_name"]
    filter_horizontal = []
    readonly_fields = ["last_login", "date_joined"]
    actions = ["lift_sign_in_lockout", reset_two_factor]

    def get_fieldsets(self, request, obj=None):
        person = ["email", "full_name", "language"]
        access = ["role", "customer_account"]
        if request.tenant is None:
            access.insert(0, "tenant")
        if obj is None:
            return [
                (None, {"fields": [*person, "password1", "password2"]}),
                (_("Access"), {"fields": access}),
            ]
        return [
            (None, {"fields": [*person, "password"]}),
            (_("Access"), {"fields": [*access, "is_active"]}),
            (_("History"), {"fields": ["last_login", "date_joined"]}),
        ]

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if request.tenant is None:
            columns.append("tenant")
        return columns

    def get_queryset(self, request):
        # The tenant's integration (the principal of its API keys) is no person to manage
        # here: its keys are (rma_portal/credentials).
        queryset = (
            super().get_queryset(request).select_related("tenant").exclude(role=Role.INTEGRATION)
        )
        if request.tenant is not None:
            return queryset.filter(tenant=request.tenant)
        if request.user.is_superuser:
            return queryset
        return queryset.none()

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_tenant = request.tenant
        if "role" in form.base_fields:
            form.base_fields["role"].required = not (obj is not None and obj.is_superuser)
            form.base_fields["role"].choices = [
                ("", "---------"),
                *((value, label) for value, label in Role.choices if value != Role.INTEGRATION),
            ]
        if "tenant" in form.base_fields and obj is not None:
            form.base_fields["tenant"].disabled = True
        return form

    def save_model(self, request, obj, form, change):
        if request.tenant is not None:
            obj.tenant = request.tenant
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            account = form.cleaned_data.get("customer_account")
            memberships = _membership_model().unscoped
            if account is None:
                memberships.filter(user_id=obj.pk).delete()
            else:
                memberships.update_or_create(
                    user_id=obj.pk,
                    defaults={"customer_account": account, "tenant_id": obj.tenant_id},
                )

    @admin.action(description=_("Lift sign-in lockout"), permissions=["change"])
    def lift_sign_in_lockout(self, request, queryset):
        """The selected users may sign in again at once (rma_portal/security/lockout.py). The
        queryset is get_queryset's: a tenant admin reaches only their own tenant's users."""
        lifted = [
            user
            for user in queryset
            if lift_account_lockout(user, reason="back_office", by=request.user, request=request)
        ]
        if not lifted:
            self.message_user(request, _("None of the selected users was locked out."))
            return
        message = ngettext(
            "Sign-in lockout lifted for %(count)d user.",
            "Sign-in lockout lifted for %(count)d users.",
            len(lifted),
        )
        self.message_user(request, message % {"count": len(lifted)}, messages.SUCCESS)

    def has_delete_permission(self, request, obj=None):
        # Users are deactivated, never deleted: their cases and audit rows point at them.
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404

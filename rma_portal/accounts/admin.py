"""Users in the back-office: tenant admins manage their own tenant's people; coordinators,
managers and tenant admins keep the teams and absences automatic assignment reads, and see
the load per agent."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from rma_portal.backoffice.admin import TenantScopedAdmin, TenantScopedTabularInline
from rma_portal.security.lockout import lift_account_lockout

from .models import (
    ASSIGNABLE_ROLES,
    CUSTOMER_ROLES,
    STAFF_ROLES,
    Absence,
    Role,
    Team,
    TeamMembership,
    User,
)
from .services import absence_recorded, staff_load, tenant_today, workload_columns
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


# --- teams, absences and the load per agent ---------------------------------------------


def may_manage_assignment(user) -> bool:
    """Whether the user keeps the set-up of automatic assignment and sees the load per agent
    (the roles' table, rma_portal/accounts/permissions.py: coordinators, managers, tenant
    admins; and platform superusers)."""
    return bool(user.is_active and user.is_staff and user.has_perm("accounts.view_team"))


def staff_choices(request, roles):
    """Active users of the request's tenant with one of `roles` (every tenant's, for a
    platform superuser working across all of them: the models' clean() keeps tenants apart)."""
    users = User.objects.filter(role__in=roles, is_active=True)
    if request.tenant is not None:
        return users.filter(tenant=request.tenant)
    return users.filter(tenant__isnull=False)


class TeamMembershipInline(TenantScopedTabularInline):
    model = TeamMembership
    fields = ["tenant", "user"]
    extra = 1
    verbose_name_plural = _("members (agents and coordinators)")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = staff_choices(request, ASSIGNABLE_ROLES).order_by(
                "full_name", "email"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Team)
class TeamAdmin(TenantScopedAdmin):
    list_display = ["name", "strategy", "member_count", "last_assigned"]
    list_filter = ["strategy"]
    list_select_related = ["last_assigned"]
    search_fields = ["name"]
    fields = ["tenant", "name", "strategy", "last_assigned"]
    readonly_fields = ["last_assigned"]
    inlines = [TeamMembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj) -> int:
        return obj.member_count

    def get_urls(self):
        return [
            path("load/", self.admin_site.admin_view(self.load_view), name="accounts_team_load"),
            *super().get_urls(),
        ]

    def load_view(self, request):
        """The load per agent: open returns and complaints, complaints at risk and breached,
        who is away today; of one team when `?team=` names one."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenant = request.tenant
        teams = list(Team.objects.for_tenant(tenant).order_by("name")) if tenant else []
        wanted = request.GET.get("team", "")
        team = next((t for t in teams if str(t.pk) == wanted), None)
        now = timezone.now()
        columns = workload_columns()
        rows = []
        if tenant is not None:
            for load in staff_load(tenant=tenant, team_id=team.pk if team else None, now=now):
                rows.append(
                    {
                        "user": load.user,
                        "teams": load.teams,
                        "away_until": load.away_until,
                        "open_cases": load.open_cases,
                        "cells": [
                            {
                                "key": column.key,
                                "count": load.counts.get(column.key, 0),
                                "link": column.link(load.user.pk) if column.link else "",
                            }
                            for column in columns
                        ],
                    }
                )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Load per agent"),
            "opts": self.model._meta,
            "tenant": tenant,
            "teams": teams,
            "team": team,
            "columns": columns,
            "rows": rows,
            "today": tenant_today(tenant, now) if tenant else None,
        }
        return TemplateResponse(request, "admin/accounts/team/load.html", context)


@admin.register(Absence)
class AbsenceAdmin(TenantScopedAdmin):
    list_display = ["user", "first_day", "last_day", "away_today", "note"]
    list_filter = ["first_day"]
    list_select_related = ["user"]
    search_fields = ["user__email", "user__full_name", "note"]
    date_hierarchy = "first_day"
    fields = ["tenant", "user", "first_day", "last_day", "note"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = staff_choices(request, STAFF_ROLES).order_by("full_name", "email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("away today"), boolean=True)
    def away_today(self, obj) -> bool:
        return obj.covers(tenant_today(obj.tenant))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # An absence of today hands the person's cases not yet started on at once.
        moved = absence_recorded(obj)
        if moved:
            message = ngettext(
                "%(count)d case of %(name)s was handed on to a colleague.",
                "%(count)d cases of %(name)s were handed on to colleagues.",
                moved,
            )
            self.message_user(request, message % {"count": moved, "name": obj.user.get_full_name()})

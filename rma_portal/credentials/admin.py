"""Personal API tokens and tenant API keys in the back-office.

Tokens: tenant admins see and revoke their own tenant's tokens; a platform superuser those of
all tenants, or of the tenant switched into. Nobody adds, edits or deletes one here: a token is
created by its user, its secret is never shown again, and revocation keeps the row the audit
log names.

API keys: tenant admins (and a platform superuser switched into the tenant) create, rotate and
revoke their tenant's keys. A new key's secret is shown once, on the page that answers the
form, and never stored; keys are never edited or deleted (rotate or revoke instead).
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rma_portal.backoffice.admin import TenantAdminRecordsAdmin, is_tenant_admin_or_platform
from rma_portal.errors import ApplicationError
from rma_portal.forms import add_application_error

from .models import ApiKey, ApiScope, CredentialState, PersonalToken, RevokeReason
from .services import (
    API_KEY_NAME_MAX_LENGTH,
    DEFAULT_ROTATION_GRACE,
    MAX_ROTATION_GRACE,
    issue_api_key,
    may_manage_api_keys,
    revoke_api_key,
    revoke_token,
    rotate_api_key,
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


# --- tenant API keys -------------------------------------------------------------------------

_HOUR = datetime.timedelta(hours=1)


class NewApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=API_KEY_NAME_MAX_LENGTH,
        help_text=gettext_lazy("The system that uses the key, e.g. ERP or warehouse."),
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("Scopes"),
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Only what the system needs."),
    )
    expires_at = forms.DateTimeField(
        label=gettext_lazy("Expires"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("Empty: until revoked or rotated. In the tenant's time zone."),
    )


class RotateApiKeyForm(forms.Form):
    grace_hours = forms.IntegerField(
        label=gettext_lazy("Old key keeps working for (hours)"),
        min_value=0,
        max_value=MAX_ROTATION_GRACE // _HOUR,
        initial=DEFAULT_ROTATION_GRACE // _HOUR,
        help_text=gettext_lazy(
            "Time to put the new key in place; 0 stops the old key at once. At most 168 hours."
        ),
    )


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdminRecordsAdmin):
    list_display = [
        "name",
        "display_prefix",
        "scopes_display",
        "created_at",
        "expires_at",
        "last_used_at",
        "status",
    ]
    list_filter = [StateFilter]
    search_fields = ["name", "prefix"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    # Never the hash: it is not the secret, but nobody needs to see it.
    fields = [
        "name",
        "display_prefix",
        "scopes_display",
        "tenant",
        "created_at",
        "created_by",
        "expires_at",
        "last_used_at",
        "rotated_to",
        "rotated_at",
        "revoked_at",
        "revoked_reason",
    ]
    readonly_fields = fields
    actions = ["revoke_selected"]
    change_form_template = "admin/credentials/apikey/change_form.html"

    @admin.display(description=gettext_lazy("prefix"), ordering="prefix")
    def display_prefix(self, obj: ApiKey) -> str:
        return obj.display_prefix

    @admin.display(description=gettext_lazy("scopes"))
    def scopes_display(self, obj: ApiKey) -> str:
        return obj.get_scopes_display()

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj: ApiKey) -> str:
        return obj.get_state_display()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")

    def has_revoke_permission(self, request) -> bool:
        return is_tenant_admin_or_platform(request.user)

    def has_add_permission(self, request) -> bool:
        # A key belongs to one tenant: a platform superuser switches into it first. Rotate or
        # revoke instead of changing; revoked, never deleted (the audit log names the row).
        return may_manage_api_keys(request.user, request.tenant)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        rotate = require_http_methods(["GET", "POST"])(self.rotate_view)
        return [
            path(
                "<path:object_id>/rotate/",
                self.admin_site.admin_view(rotate),
                name="{}_{}_rotate".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_rotate": self._may_rotate(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _may_rotate(self, request) -> bool:
        return may_manage_api_keys(request.user, request.tenant)

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        return TemplateResponse(
            request,
            f"admin/credentials/apikey/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "changelist_url": reverse("admin:credentials_apikey_changelist"),
                **context,
            },
        )

    @method_decorator(never_cache)  # the answer may carry a new key's secret
    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = NewApiKeyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                issued = issue_api_key(
                    tenant=request.tenant,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.cleaned_data["expires_at"],
                    actor=request.user,
                    via="back-office",
                    request=request,
                )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                return self._page(request, "issued.html", _("API key created"), issued=issued)
        return self._page(request, "add.html", _("Add API key"), form=form)

    @method_decorator(never_cache)
    def rotate_view(self, request, object_id):
        api_key = self.get_object(request, object_id)
        if api_key is None:
            raise Http404
        if not self._may_rotate(request):
            raise PermissionDenied
        change_url = reverse("admin:credentials_apikey_change", args=[api_key.pk])
        form = RotateApiKeyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                issued = rotate_api_key(
                    api_key,
                    actor=request.user,
                    grace=datetime.timedelta(hours=form.cleaned_data["grace_hours"]),
                    via="back-office",
                    request=request,
                )
            except ApplicationError as error:
                if error.code == "conflict":
                    messages.error(request, error.message)
                    return HttpResponseRedirect(change_url)
                add_application_error(form, error)
            else:
                return self._page(
                    request, "issued.html", _("API key rotated"), issued=issued, rotated=api_key
                )
        return self._page(
            request,
            "rotate.html",
            _("Rotate API key"),
            form=form,
            original=api_key,
            change_url=change_url,
        )

    @admin.action(description=gettext_lazy("Revoke"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for api_key in queryset.select_related("tenant"):
            revoked += revoke_api_key(
                api_key,
                actor=request.user,
                reason=RevokeReason.BY_ADMIN,
                via="back-office",
                request=request,
            )
        self.message_user(request, _("Revoked: %(count)d.") % {"count": revoked}, messages.SUCCESS)

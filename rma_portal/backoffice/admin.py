"""Base ModelAdmin for tenant-owned models: the queryset, the foreign-key choices and the
saved tenant all come from the request's tenant; another tenant's object answers 404."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.http import Http404
from django.utils.text import capfirst

from rma_portal.accounts.models import Role
from rma_portal.tenancy.models import Tenant, TenantOwnedModel


def name_fields_for_screen_readers(form: forms.BaseForm) -> None:
    """A form shown as one row of a table (a tabular inline, an editable list, a line of the
    inspection) has no <label> per field: the column's heading names it on the screen, and an
    aria-label with the field's own label names it for screen readers."""
    for field in form.fields.values():
        widget = field.widget
        while isinstance(widget, RelatedFieldWidgetWrapper):
            widget = widget.widget  # the wrapper's own attrs are shared with the class
        if widget.is_hidden or not field.label:
            continue
        widget.attrs.setdefault("aria-label", capfirst(str(field.label)))


def with_named_fields(formset_class: type) -> type:
    """`formset_class` whose every form (the "delete" box included) names its fields."""

    class NamedFieldsFormSet(formset_class):
        def add_fields(self, form, index):
            super().add_fields(form, index)
            name_fields_for_screen_readers(form)

    NamedFieldsFormSet.__name__ = formset_class.__name__
    NamedFieldsFormSet.__qualname__ = formset_class.__qualname__
    return NamedFieldsFormSet


class TenantFieldsMixin:
    """Foreign-key choices limited to the current tenant; the tenant field fixed to it.

    The tenant stays a (hidden, disabled) form field rather than being excluded, so that
    unique constraints starting with the tenant are validated by the form, not by an
    IntegrityError at save time.
    """

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant" and db_field.related_model is Tenant:
            if request.tenant is not None:
                kwargs.update(
                    queryset=Tenant.objects.filter(pk=request.tenant.pk),
                    initial=request.tenant.pk,
                    disabled=True,
                    widget=forms.HiddenInput,
                )
        elif issubclass(db_field.related_model, TenantOwnedModel) and "queryset" not in kwargs:
            # The default manager is scoped to the request's tenant by the middleware
            # (or explicitly to all tenants for a platform superuser).
            kwargs["queryset"] = db_field.related_model._default_manager.all()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if issubclass(db_field.related_model, TenantOwnedModel) and "queryset" not in kwargs:
            kwargs["queryset"] = db_field.related_model._default_manager.all()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TenantScopedAdmin(TenantFieldsMixin, admin.ModelAdmin):
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "tenant" in form.base_fields:
            form.base_fields["tenant"].disabled = True  # objects never move between tenants
        return form

    def get_changelist_formset(self, request, **kwargs):
        return with_named_fields(super().get_changelist_formset(request, **kwargs))

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if request.tenant is None and "tenant" not in columns:
            columns.append("tenant")
        return columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.tenant is None and "tenant" not in filters:
            filters.insert(0, "tenant")
        return filters

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index saying "doesn't exist"; a foreign or unknown id
        # must look exactly like a missing page (docs/architecture.md#tenancy).
        raise Http404


class TenantScopedTabularInline(TenantFieldsMixin, admin.TabularInline):
    def get_formset(self, request, obj=None, **kwargs):
        return with_named_fields(super().get_formset(request, obj, **kwargs))


class ReadOnlyAdminMixin:
    """Nothing is added, changed or deleted here: rows written by services, shown as kept."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def is_tenant_admin_or_platform(user) -> bool:
    """A tenant admin (of their own tenant) or a platform superuser; no other staff role."""
    return bool(
        user.is_active
        and (
            (user.is_superuser and user.tenant_id is None)
            or (user.tenant_id and user.role == Role.TENANT_ADMIN)
        )
    )


class TenantAdminRecordsAdmin(admin.ModelAdmin):
    """Records kept about a tenant (the audit log, personal tokens) that only its tenant admins
    and platform superusers read: the request's tenant's rows, or every tenant's for a platform
    superuser who has not switched into one. Nothing is added, changed or deleted through the
    admin, and another tenant's id answers 404 like a missing one."""

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        return [*columns, "tenant"] if request.tenant is None else columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        return ["tenant", *filters] if request.tenant is None else filters

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not is_tenant_admin_or_platform(request.user):
            return queryset.none()
        if request.tenant is not None:
            return queryset.filter(tenant=request.tenant)
        return queryset if request.user.is_superuser else queryset.none()

    def has_module_permission(self, request) -> bool:
        return is_tenant_admin_or_platform(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_tenant_admin_or_platform(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Django refuses the delete page before looking the id up: 403 for every id alike.
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404

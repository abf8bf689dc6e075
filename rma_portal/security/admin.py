"""The audit log in the back-office: read-only, the tenant admin's own tenant only (a platform
superuser: all tenants, or the tenant switched into), exportable as CSV."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rma_portal.backoffice.admin import TenantAdminRecordsAdmin, is_tenant_admin_or_platform
from rma_portal.csv_export import (
    SEPARATOR_PARAMETER,
    csv_response,
    default_separator,
    separator_from,
)

from .audit import record
from .models import AuditAction, AuditEvent

EXPORT_LIMIT = 100_000


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAdminRecordsAdmin):
    list_display = ["at", "action", "actor_label", "target_label", "ip_address"]
    list_filter = ["action", "actor_kind", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "target_label", "ip_address"]
    date_hierarchy = "at"
    list_select_related = ["tenant"]
    readonly_fields = [
        "at",
        "tenant",
        "actor",
        "actor_kind",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "ip_address",
        "user_agent",
        "details",
    ]
    change_list_template = "admin/security/auditevent/change_list.html"

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="security_auditevent_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The rows the list shows (same filters and search), newest first, as CSV."""
        if not is_tenant_admin_or_platform(request.user):
            raise PermissionDenied
        separator = separator_from(request, default=default_separator())
        # The list's own filters and search; the separator is the export's, not a filter.
        request.GET = request.GET.copy()
        request.GET.pop(SEPARATOR_PARAMETER, None)
        changelist = self.get_changelist_instance(request)
        events = changelist.get_queryset(request).select_related("tenant")[:EXPORT_LIMIT]
        record(
            AuditAction.EXPORT,
            request=request,
            target=str(AuditEvent._meta.verbose_name_plural),
            details={"filters": dict(request.GET.items())},
        )
        header = [
            str(_("when")),
            str(_("tenant")),
            str(_("action")),
            str(_("actor kind")),
            str(_("actor")),
            str(_("object type")),
            str(_("object id")),
            str(_("object")),
            str(_("IP address")),
            str(_("browser or client")),
            str(_("details")),
        ]
        rows = (
            [
                timezone.localtime(event.at).isoformat(timespec="seconds"),
                event.tenant.name if event.tenant_id else "",
                event.get_action_display(),
                event.get_actor_kind_display(),
                event.actor_label,
                event.target_type,
                event.target_id,
                event.target_label,
                event.ip_address or "",
                event.user_agent,
                json.dumps(event.details, ensure_ascii=False, sort_keys=True),
            ]
            for event in events.iterator(chunk_size=2000)
        )
        return csv_response(
            filename=f"audit-log-{timezone.localdate().isoformat()}",
            header=header,
            rows=rows,
            separator=separator,
        )

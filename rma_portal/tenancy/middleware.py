"""Sets the current tenant for each request from the signed-in user
(docs/architecture.md#tenancy)."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone

from .context import ALL_TENANTS, _current, _row_security
from .models import Tenant

ACTIVE_TENANT_SESSION_KEY = "platform_active_tenant_id"


def resolve_request_scope(request):
    """The tenant (or the explicit all-tenants scope) a request runs under."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if user.tenant_id:
        return user.tenant
    if user.is_superuser:
        # A platform superuser works across tenants unless they switched into one.
        chosen = request.session.get(ACTIVE_TENANT_SESSION_KEY)
        if chosen:
            tenant = Tenant.objects.filter(pk=chosen).first()
            if tenant is not None:
                return tenant
        return ALL_TENANTS
    return None


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        scope = resolve_request_scope(request)
        request.tenant = None if scope is ALL_TENANTS else scope
        request.all_tenants = scope is ALL_TENANTS
        token = _current.set(scope)
        # Every query of the request from here on runs under row-level security.
        row_security_token = _row_security.set(True)
        if request.tenant is not None:
            timezone.activate(zoneinfo.ZoneInfo(request.tenant.timezone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
            _row_security.reset(row_security_token)
            _current.reset(token)

"""Writing the audit log: `record(action, ...)` from anywhere (views, services, signal
receivers). The request's address and browser come from the request given or, when none is,
from the request being served (AuditContextMiddleware); workers and commands have neither."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import models

from .client import client_ip
from .models import ActorKind, AuditEvent

logger = logging.getLogger(__name__)

# Labels are stored as written, in no particular reader's language (like the e-mail
# addresses in the other rows).
INTEGRATION_LABEL = "Integration"


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str
    user_agent: str


_origin: ContextVar[RequestOrigin | None] = ContextVar("audit_request_origin", default=None)
# The API key a request is authenticated with, for rows written without the request.
_api_key: ContextVar[object | None] = ContextVar("audit_api_key", default=None)


def origin_of(request) -> RequestOrigin:
    return RequestOrigin(
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )


@contextlib.contextmanager
def request_origin(request) -> Iterator[None]:
    token = _origin.set(origin_of(request))
    try:
        yield
    finally:
        _origin.reset(token)


@contextlib.contextmanager
def acting_api_key(api_key) -> Iterator[None]:
    """Rows written by the integration user while this runs name `api_key` (an object with
    `audit_label`, rma_portal.credentials.models.ApiKey), also when `record()` is not given
    the request: services only know their actor. The API base enters it after
    authentication (rma_portal.api.views.TenantScopedAPIMixin)."""
    token = _api_key.set(api_key)
    try:
        yield
    finally:
        _api_key.reset(token)


def _acting_api_key(request):
    # Set on Django's request by the API key authentication (rma_portal.api.permissions);
    # read without touching DRF's lazy `request.auth`, which would authenticate again.
    api_key = getattr(request, "api_key", None) if request is not None else None
    return api_key if api_key is not None else _api_key.get()


class AuditContextMiddleware:
    """Makes the request's address and browser known to `record()` called without it (signal
    receivers such as the admin's change log)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_origin(request):
            return self.get_response(request)


def _target_fields(target, label: str | None = None) -> dict:
    if target is None:
        return {}
    if isinstance(target, models.Model):
        return {
            "target_type": target._meta.label,
            "target_id": str(target.pk or "")[:64],
            "target_label": (str(target) if label is None else label)[:200],
        }
    return {"target_label": (str(target) if label is None else label)[:200]}


def record(
    action: str,
    *,
    request=None,
    user=None,
    tenant=None,
    actor_label: str = "",
    actor_kind: str | None = None,
    target=None,
    target_label: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Add one audit row. `user` defaults to the request's signed-in user, `tenant` to the
    user's tenant (else the request's tenant). `target_label` names the target instead of
    `str(target)` (when that may hold something the log must not keep)."""
    if user is None and request is not None:
        candidate = getattr(request, "user", None)
        if candidate is not None and candidate.is_authenticated:
            user = candidate
    if tenant is None:
        if user is not None and user.tenant_id:
            tenant = user.tenant
        elif request is not None:
            tenant = getattr(request, "tenant", None)
    if user is not None and getattr(user, "is_integration", False):
        # Whatever the caller assumed, the tenant's integration acted, with one of its keys.
        actor_kind = ActorKind.INTEGRATION
        if not actor_label or actor_label == user.email:
            api_key = _acting_api_key(request)
            actor_label = api_key.audit_label if api_key is not None else INTEGRATION_LABEL
    if actor_kind is None:
        actor_kind = ActorKind.USER if user is not None else ActorKind.ANONYMOUS
    origin = origin_of(request) if request is not None else _origin.get()
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=user,
        actor_kind=actor_kind,
        actor_label=(actor_label or (user.email if user is not None else ""))[:254],
        action=action,
        ip_address=(origin.ip_address or None) if origin else None,
        user_agent=origin.user_agent if origin else "",
        details=details or {},
        **_target_fields(target, target_label),
    )

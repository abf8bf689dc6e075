"""The current tenant of a request, task or command, kept in a context variable.

Scoped managers read it; nothing else decides which tenant's rows a query may see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Tenant


class _AllTenants:
    """Marker for an explicit, deliberate cross-tenant scope (platform admin, rollups)."""

    def __repr__(self) -> str:
        return "ALL_TENANTS"


ALL_TENANTS = _AllTenants()

_current: ContextVar[Tenant | _AllTenants | None] = ContextVar("current_tenant", default=None)


# Whether PostgreSQL row-level security applies to the queries of this context: on for
# every web request (TenantMiddleware), off for workers, commands and migrations, which act
# as the platform (docs/security.md#database-enforced-tenancy).
_row_security: ContextVar[bool] = ContextVar("row_security", default=False)


class TenantNotSetError(RuntimeError):
    """A tenant-scoped query ran with no tenant in context: fail closed."""


def get_current_tenant() -> Tenant | None:
    """The tenant in context, or None (also None under the all-tenants scope)."""
    value = _current.get()
    return None if value is ALL_TENANTS else value


def current_scope() -> Tenant | _AllTenants | None:
    return _current.get()


def require_current_tenant() -> Tenant:
    tenant = get_current_tenant()
    if tenant is None:
        raise TenantNotSetError("No tenant is set for this request, task or command.")
    return tenant


@contextlib.contextmanager
def tenant_context(tenant: Tenant) -> Iterator[Tenant]:
    """Run a block (a task, a command, a test) as `tenant`; restores the previous scope."""
    if tenant is None:
        raise TenantNotSetError("tenant_context() needs a tenant.")
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


@contextlib.contextmanager
def dangerously_all_tenants() -> Iterator[None]:
    """Run a block that may see every tenant's rows. Say why at each call site."""
    token = _current.set(ALL_TENANTS)
    try:
        yield
    finally:
        _current.reset(token)


def row_security_enforced() -> bool:
    return _row_security.get()


@contextlib.contextmanager
def row_security(enforced: bool = True) -> Iterator[None]:
    """Run a block with PostgreSQL row-level security on (as the application role, seeing
    only the tenant in context) or off (as the platform)."""
    token = _row_security.set(enforced)
    try:
        yield
    finally:
        _row_security.reset(token)


@contextlib.contextmanager
def no_tenant() -> Iterator[None]:
    """Run a block with no tenant set (e.g. to prove the scoped manager fails closed)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def task_tenant_context(tenant_id: int) -> Iterator[Tenant]:
    """A Celery task's tenant, loaded from its id and cleared afterwards, so a reused worker
    process never carries one tenant into the next task."""
    from .models import Tenant

    token = _current.set(None)
    try:
        tenant = Tenant.objects.get(pk=tenant_id)
        _current.set(tenant)
        yield tenant
    finally:
        _current.reset(token)

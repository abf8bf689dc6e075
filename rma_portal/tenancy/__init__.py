"""Tenancy platform: the Tenant model, the current-tenant context and scoped managers.

Every tenant-owned model inherits TenantOwnedModel; see docs/architecture.md#tenancy.
"""

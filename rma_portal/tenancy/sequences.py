"""Gap-tolerant, race-free document numbers per tenant and year."""

from __future__ import annotations

from django.db import connection

from .models import Tenant, TenantSequence


def next_in_sequence(*, tenant: Tenant, name: str, year: int) -> int:
    """Atomically increment and return the counter (one statement, safe under concurrency).

    Runs inside the caller's transaction: a rolled-back caller gives its number back.
    """
    table = connection.ops.quote_name(TenantSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, name, year, last_value) VALUES (%s, %s, %s, 1) "  # noqa: S608 - table name from model meta
            "ON CONFLICT (tenant_id, name, year) DO UPDATE "
            f"SET last_value = {table}.last_value + 1 RETURNING last_value",
            [tenant.pk, name, year],
        )
        return cursor.fetchone()[0]


def format_document_number(prefix: str, year: int, value: int) -> str:
    return f"{prefix}-{year}-{value:06d}"

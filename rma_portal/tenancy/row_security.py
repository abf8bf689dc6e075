"""PostgreSQL row-level security on every tenant-owned table, the second line behind the
scoped managers (docs/security.md#database-enforced-tenancy).

After every `migrate` (post_migrate) the database is brought to this state, idempotently and
in one catalogue query when nothing is missing:

- the application role `DATABASE_APP_ROLE` exists (NOLOGIN), the migrating role may switch to
  it, and it may read and write every table and sequence of the schema;
- every table of a `TenantOwnedModel` has row-level security enabled and one policy: a row is
  visible and writable only when its `tenant_id` is the session's `rma.tenant_id`, or when
  `rma.all_tenants` is 'on' (a platform admin's explicit all-tenants scope).

The tables' owner (the role that migrates, and that workers and commands use) is not bound
by the policies; web requests switch to the application role (rma_portal.tenancy.postgresql).
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import connections

POLICY_NAME = "rma_tenant_isolation_v2"
POLICY_PREFIX = "rma_tenant_isolation"
# Each setting is read once per statement (a scalar subquery is an InitPlan), not once per
# row, and the tenant comparison can use the tenant indexes.
CONDITION = (
    "((SELECT current_setting('rma.all_tenants', true)) = 'on' "
    "OR tenant_id = (SELECT NULLIF(current_setting('rma.tenant_id', true), '')::bigint))"
)


def tenant_owned_tables() -> list[str]:
    from .models import TenantOwnedModel

    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if issubclass(model, TenantOwnedModel) and model._meta.managed and not model._meta.proxy
        }
    )


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


def _ensure_role(cursor, role: str) -> None:
    cursor.execute(
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} NOLOGIN; END IF; "
        # Two databases of one cluster migrating at once (parallel test runs) race here.
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    cursor.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", [role])
    if not cursor.fetchone()[0]:
        cursor.execute(f"GRANT {role} TO CURRENT_USER")


def apply_row_security(using: str = "default") -> list[str]:
    """Bring the database to the state above; returns the tables whose policy was (re)made."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not settings.DATABASE_ROW_SECURITY:
        return []
    role = settings.DATABASE_APP_ROLE
    tables = tenant_owned_tables()
    changed = []
    with connection.cursor() as cursor:
        _ensure_role(cursor, role)
        cursor.execute("SELECT current_schema()")
        schema = _quote(connection, cursor.fetchone()[0])
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
            "AND NOT has_table_privilege(%s, format('%%I.%%I', schemaname, tablename), "
            "'SELECT, INSERT, UPDATE, DELETE')",
            [role],
        )
        if cursor.fetchone()[0]:
            cursor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}"
            )
            cursor.execute(
                f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}"
            )
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, "
            "EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = current_schema() "
            "AND p.tablename = c.relname AND p.policyname = %s) "
            "FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind = 'r' AND c.relname = ANY(%s)",
            [POLICY_NAME, tables],
        )
        state = {name: (enabled, has_policy) for name, enabled, has_policy in cursor.fetchall()}
        for table in tables:
            enabled, has_policy = state.get(table, (False, False))
            if table not in state or (enabled and has_policy):
                continue
            quoted = _quote(connection, table)
            cursor.execute(
                "SELECT policyname FROM pg_policies WHERE schemaname = current_schema() "
                "AND tablename = %s AND policyname LIKE %s",
                [table, POLICY_PREFIX + "%"],
            )
            for (old,) in cursor.fetchall():
                cursor.execute(f"DROP POLICY {_quote(connection, old)} ON {quoted}")
            cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
            cursor.execute(
                f"CREATE POLICY {POLICY_NAME} ON {quoted} USING {CONDITION} WITH CHECK {CONDITION}"
            )
            changed.append(table)
    return changed


def on_post_migrate(sender, using="default", **kwargs) -> None:
    apply_row_security(using)

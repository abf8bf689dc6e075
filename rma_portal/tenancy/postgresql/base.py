"""PostgreSQL backend that keeps row-level security in step with the tenancy context.

Before each statement the connection is brought to the state the current context asks for,
when it differs from what the connection already has:

- in a web request (`row_security_enforced()`), the session's role is the application role
  (`DATABASE_APP_ROLE`), on which the tenant policies apply, and `rma.tenant_id` names the
  tenant in context ('' for none: no tenant-owned row is visible or writable);
  `rma.all_tenants` is 'on' only under the explicit all-tenants scope of a platform admin;
- anywhere else (workers, commands, migrations, tests' own setup) the role is reset to the
  connecting (owner) role, which the policies do not bind: the platform's cross-tenant jobs.

The settings are session-level (`set_config(..., false)`) so that they also hold in
autocommit, where every statement is its own transaction; a rollback undoes a setting made
inside the transaction, so any rollback makes the next statement set them again. They are
set on the raw connection, outside Django's query log, so query counts do not change.
"""

from __future__ import annotations

from django.conf import settings
from django.db.backends.postgresql import base

from rma_portal.tenancy.context import ALL_TENANTS, current_scope, row_security_enforced

# psycopg2's "role" GUC name for "the session user" (RESET ROLE).
_NO_ROLE = "none"
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._row_security_state: tuple[str, str, str] | None = None
        self.execute_wrappers.append(self._with_row_security)

    def _desired_row_security(self) -> tuple[str, str, str]:
        if not (settings.DATABASE_ROW_SECURITY and row_security_enforced()):
            return (_NO_ROLE, "", "off")
        scope = current_scope()
        if scope is ALL_TENANTS:
            return (settings.DATABASE_APP_ROLE, "", "on")
        return (settings.DATABASE_APP_ROLE, str(scope.pk) if scope is not None else "", "off")

    def _with_row_security(self, execute, sql, params, many, context):
        if isinstance(sql, str) and sql.startswith(_TRANSACTION_CONTROL):
            # Reads no table, and may run in a failed transaction that accepts nothing else.
            return execute(sql, params, many, context)
        desired = self._desired_row_security()
        if desired != self._row_security_state:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('role', %s, false), set_config('rma.tenant_id', %s, "
                    "false), set_config('rma.all_tenants', %s, false)",
                    desired,
                )
            self._row_security_state = desired
        return execute(sql, params, many, context)

    def init_connection_state(self):
        self._row_security_state = None
        super().init_connection_state()

    def _rollback(self):
        super()._rollback()
        self._row_security_state = None

    def _savepoint_rollback(self, sid):
        super()._savepoint_rollback(sid)
        self._row_security_state = None

    def _close(self):
        self._row_security_state = None
        super()._close()

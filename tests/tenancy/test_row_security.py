"""PostgreSQL row-level security: the second line behind the scoped managers. A query that
forgets the tenant filter still sees and writes only the tenant in context, in every web
request; the platform (migrations, workers, commands) works across tenants as the owner."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from rma_portal.tenancy.context import (
    dangerously_all_tenants,
    no_tenant,
    row_security,
    tenant_context,
)
from rma_portal.tenancy.models import TenantOwnedModel
from rma_portal.tenancy.row_security import POLICY_NAME, apply_row_security, tenant_owned_tables

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row-level security is PostgreSQL's"
    ),
]


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return cursor.fetchone()[0]


def _orders(world_a, world_b, make_order):
    make_order(world_a.company)
    make_order(world_a.company)
    make_order(world_b.company)


def test_every_tenant_owned_table_has_row_security_and_the_policy(db):
    from django.apps import apps

    expected = {
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantOwnedModel) and model._meta.managed
    }
    assert set(tenant_owned_tables()) == expected
    assert len(expected) >= 30
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) AND c.relrowsecurity "
            "AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname "
            "AND p.policyname = %s)",
            [sorted(expected), POLICY_NAME],
        )
        protected = {name for (name,) in cursor.fetchall()}
    assert sorted(expected - protected) == []


def test_applying_again_changes_nothing(db):
    assert apply_row_security() == []


def test_raw_sql_without_a_tenant_setting_returns_no_rows(world_a, world_b, make_order):
    _orders(world_a, world_b, make_order)
    # The platform (owner role) sees all three orders.
    assert _count("customers_order") == 3
    with row_security(), no_tenant():
        assert _count("customers_order") == 0
        assert _count("customers_orderline") == 0
        assert _count("customers_customeraccount") == 0


def test_raw_sql_sees_only_the_tenant_in_context(world_a, world_b, make_order):
    _orders(world_a, world_b, make_order)
    with row_security():
        with tenant_context(world_a.tenant):
            assert _count("customers_order") == 2
            with connection.cursor() as cursor:
                cursor.execute("SELECT DISTINCT tenant_id FROM customers_order")
                assert cursor.fetchall() == [(world_a.tenant.pk,)]
        with tenant_context(world_b.tenant):
            assert _count("customers_order") == 1
        with dangerously_all_tenants():
            assert _count("customers_order") == 3


def test_unscoped_manager_in_a_request_context_sees_only_its_tenant(world_a, world_b, make_order):
    from customers.models import Order

    _orders(world_a, world_b, make_order)
    with row_security(), tenant_context(world_b.tenant):
        # `.unscoped` is the application's escape hatch; the database still holds the line.
        assert {order.tenant_id for order in Order.unscoped.all()} == {world_b.tenant.pk}


def test_writing_another_tenants_row_is_refused(world_a, world_b, make_order):
    _orders(world_a, world_b, make_order)
    with row_security(), tenant_context(world_a.tenant):
        with (
            pytest.raises(DatabaseError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "INSERT INTO tenancy_tenantsequence (tenant_id, name, year, last_value) "
                "VALUES (%s, 'X', 2026, 1)",
                [world_b.tenant.pk],
            )
        with connection.cursor() as cursor:
            cursor.execute("UPDATE customers_order SET invoice_number = 'changed'")
            assert cursor.rowcount == 2  # tenant B's order is not even seen
            cursor.execute(
                "DELETE FROM customers_orderline WHERE tenant_id = %s", [world_b.tenant.pk]
            )
            assert cursor.rowcount == 0
    assert _count("customers_orderline") == 6


def test_a_web_request_runs_as_the_application_role_of_its_tenant(world_a, login):
    seen = []

    def spy(execute, sql, params, many, context):
        if not seen and "customers_order" in sql:
            with connection.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT current_user, current_setting('rma.tenant_id', true), "
                    "current_setting('rma.all_tenants', true)"
                )
                seen.append(cursor.fetchone())
        return execute(sql, params, many, context)

    client = login(world_a.customer)
    with connection.execute_wrapper(spy):
        response = client.get("/portal/")
    assert response.status_code == 200
    assert seen == [(settings.DATABASE_APP_ROLE, str(world_a.tenant.pk), "off")]
    # Outside the request the connection is the platform's again.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user = session_user")
        assert cursor.fetchone() == (True,)


def test_a_rolled_back_setting_is_set_again(world_a, world_b, make_order):
    _orders(world_a, world_b, make_order)
    with row_security(), tenant_context(world_a.tenant):
        try:
            with transaction.atomic():
                assert _count("customers_order") == 2  # sets the tenant inside the savepoint
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        # The rollback undid the setting; the next statement must not run unscoped.
        assert _count("customers_order") == 2


def test_an_older_policy_is_replaced_by_the_current_one(db):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP POLICY {POLICY_NAME} ON customers_order")
        cursor.execute("CREATE POLICY rma_tenant_isolation_v0 ON customers_order USING (true)")
    assert apply_row_security() == ["customers_order"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT policyname FROM pg_policies WHERE tablename = 'customers_order'")
        assert cursor.fetchall() == [(POLICY_NAME,)]

"""The scoped manager fails closed and never crosses tenants; `unscoped` is the only way."""

import pytest

from customers.models import CustomerAccount, Order, Product
from rma_portal.tenancy.context import (
    TenantNotSetError,
    dangerously_all_tenants,
    no_tenant,
    tenant_context,
)
from tests.factories import CustomerAccountFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_scoped_manager_raises_without_tenant(world_a):
    with no_tenant(), pytest.raises(TenantNotSetError):
        list(CustomerAccount.objects.all())
    with no_tenant(), pytest.raises(TenantNotSetError):
        CustomerAccount.objects.filter(pk=world_a.company.pk).exists()
    with no_tenant(), pytest.raises(TenantNotSetError):
        CustomerAccount.objects.count()


def test_tenant_a_never_sees_tenant_b_rows(world_a, world_b, make_order):
    order_b = make_order(world_b.company)
    make_order(world_a.company)
    ProductFactory(tenant=world_b.tenant, sku="ONLY-IN-B")

    with tenant_context(world_a.tenant):
        assert set(CustomerAccount.objects.values_list("tenant_id", flat=True)) == {
            world_a.tenant.pk
        }
        assert not Order.objects.filter(pk=order_b.pk).exists()
        assert not Product.objects.filter(sku="ONLY-IN-B").exists()
        with pytest.raises(Order.DoesNotExist):
            Order.objects.get(pk=order_b.pk)
        # Reverse relations and lookups across relations are scoped too.
        assert not Order.objects.filter(customer_account__tenant=world_b.tenant).exists()
        assert world_a.company.orders.count() == 1


def test_unscoped_is_the_only_way_across(world_a, world_b):
    with tenant_context(world_a.tenant):
        assert CustomerAccount.objects.count() == 2
        assert CustomerAccount.unscoped.count() == 4
        assert CustomerAccount.objects.for_tenant(world_b.tenant).count() == 2
    with dangerously_all_tenants():
        assert CustomerAccount.objects.count() == 4


def test_saving_into_another_tenant_is_refused(world_a, world_b):
    with tenant_context(world_a.tenant):
        with pytest.raises(TenantNotSetError):
            CustomerAccountFactory.build(tenant=world_b.tenant).save()
        new = CustomerAccountFactory.build(tenant=None)
        new.tenant_id = None
        new.save()
        assert new.tenant_id == world_a.tenant.pk


def test_cross_tenant_foreign_key_is_refused(world_a, world_b):
    product_b = ProductFactory(tenant=world_b.tenant)
    order_a = Order.unscoped.create(
        tenant=world_a.tenant,
        number="X-1",
        customer_account=world_a.company,
        order_date="2026-01-01",
    )
    from customers.models import OrderLine

    line = OrderLine(
        tenant=world_a.tenant,
        order=order_a,
        line_number=1,
        product=product_b,
        quantity=1,
        unit_price=1,
    )
    with pytest.raises(ValueError, match="another tenant"):
        line.save()
    assert not OrderLine.unscoped.exists()


def test_cache_keys_carry_the_tenant(world_a, world_b):
    from django.core.cache import cache

    with tenant_context(world_a.tenant):
        cache.set("dashboard", "alpha figures")
    with tenant_context(world_b.tenant):
        assert cache.get("dashboard") is None
        cache.set("dashboard", "beta figures")
    with tenant_context(world_a.tenant):
        assert cache.get("dashboard") == "alpha figures"


def test_querysets_are_lazy_and_scoped_when_they_run(world_a, world_b):
    # Built with no tenant (as a form field's queryset at import time): no error yet.
    with no_tenant():
        accounts = CustomerAccount.objects.filter(is_active=True)
    with tenant_context(world_a.tenant):
        assert {a.tenant_id for a in accounts.all()} == {world_a.tenant.pk}
    with tenant_context(world_b.tenant):
        assert {a.tenant_id for a in accounts.all()} == {world_b.tenant.pk}
    with no_tenant(), pytest.raises(TenantNotSetError):
        accounts.exists()


def test_updates_and_deletes_are_scoped_too(world_a, world_b):
    with tenant_context(world_a.tenant):
        assert CustomerAccount.objects.update(contact_phone="123") == 2
        assert CustomerAccount.objects.filter(pk=world_b.company.pk).delete()[0] == 0
    assert CustomerAccount.unscoped.get(pk=world_b.company.pk).contact_phone == ""
    with no_tenant(), pytest.raises(TenantNotSetError):
        CustomerAccount.objects.update(contact_phone="x")


def test_scoped_querysets_as_subqueries_filter_their_own_rows(world_a, world_b, make_order):
    from django.db.models import Exists, OuterRef

    from rma_portal.tenancy.models import Tenant

    make_order(world_a.company)
    make_order(world_b.company)
    with tenant_context(world_a.tenant):
        # The inner scoped queryset must test its own table, not the outer one.
        tenants_with_customers = Tenant.objects.filter(
            Exists(CustomerAccount.objects.filter(tenant=OuterRef("pk")))
        )
        assert list(tenants_with_customers) == [world_a.tenant]
        orders = Order.unscoped.filter(customer_account__in=CustomerAccount.objects.all())
        assert {o.tenant_id for o in orders} == {world_a.tenant.pk}


def test_conditional_unique_constraints_validate_through_the_scoped_manager(world_a):
    from django.core.exceptions import ValidationError

    from returns.models import ReturnPolicy

    with tenant_context(world_a.tenant):
        ReturnPolicy.objects.create(tenant=world_a.tenant)
        second_default = ReturnPolicy(tenant=world_a.tenant)
        with pytest.raises(ValidationError):
            second_default.validate_constraints()
        ReturnPolicy(tenant=world_a.tenant, customer_account=world_a.company).validate_constraints()

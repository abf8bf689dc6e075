"""factory_boy factories. Tenant-owned rows are created through the unscoped manager with an
explicit tenant, so tests never depend on whatever tenant happens to be in context."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from customers.models import (
    CustomerAccount,
    CustomerMembership,
    Order,
    OrderLine,
    Product,
    ProductCategory,
)
from rma_portal.accounts.models import Role, User
from rma_portal.tenancy.models import Tenant

PASSWORD = "Secret-pass-123"


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant

    # Names of one width: no name is the beginning of another ("Product 1" of "Product 12"),
    # so a test that looks for one in a page never finds another by the luck of the counter.
    name = factory.Sequence(lambda n: f"Tenant {n:05d}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    brand_colour = "#336699"
    default_language = "en"  # tests that need Polish say so
    return_address_name = factory.LazyAttribute(lambda o: f"{o.name} returns")
    return_address_street = "ul. Magazynowa 1"
    return_address_postal_code = "00-001"
    return_address_city = "Warszawa"


class TenantOwnedFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.unscoped


def _nip(n: int) -> str:
    """A valid Polish NIP derived from n (checksum digit computed, 10 never used)."""
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    base = 100000000 + n * 7
    while True:
        digits = f"{base:09d}"[-9:]
        check = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return digits + str(check)
        base += 1


class CustomerAccountFactory(TenantOwnedFactory):
    class Meta:
        model = CustomerAccount

    number = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n} Sp. z o.o.")
    vat_number = factory.Sequence(_nip)
    contact_email = factory.Sequence(lambda n: f"office{n}@customer.example")
    billing_street = "ul. Prosta 2"
    billing_postal_code = "00-002"
    billing_city = "Kraków"
    shipping_street = "ul. Prosta 2"
    shipping_postal_code = "00-002"
    shipping_city = "Kraków"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"User {n:05d}")
    tenant = factory.SubFactory(TenantFactory)
    role = Role.AGENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


def customer_user(customer_account: CustomerAccount, *, admin: bool = False, **kwargs) -> User:
    user = UserFactory(
        tenant=customer_account.tenant,
        role=Role.CUSTOMER_ADMIN if admin else Role.CUSTOMER_USER,
        **kwargs,
    )
    CustomerMembership.unscoped.create(
        tenant=customer_account.tenant, user=user, customer_account=customer_account
    )
    return user


class ProductCategoryFactory(TenantOwnedFactory):
    class Meta:
        model = ProductCategory
        django_get_or_create = ["tenant", "code"]

    code = "electronics"
    name = "Electronics"


class ProductFactory(TenantOwnedFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n:05d}")
    category = factory.SubFactory(ProductCategoryFactory, tenant=factory.SelfAttribute("..tenant"))
    unit_price = Decimal("100.00")


class OrderFactory(TenantOwnedFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"ZAM/2026/{n:06d}")
    customer_account = factory.SubFactory(
        CustomerAccountFactory, tenant=factory.SelfAttribute("..tenant")
    )
    order_date = datetime.date(2026, 10, 1)
    delivery_date = datetime.date(2026, 10, 3)
    invoice_number = factory.Sequence(lambda n: f"FV/2026/{n:06d}")


class OrderLineFactory(TenantOwnedFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory, tenant=factory.SelfAttribute("..tenant"))
    line_number = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    quantity = 5
    unit_price = Decimal("100.00")

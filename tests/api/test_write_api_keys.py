"""The ERP's write API with tenant API keys: each kind opens to its scope only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import Order, OrderLine, Product
from tests.api import api_with_key, assert_error
from tests.factories import ProductFactory

credentials = pytest.importorskip("rma_portal.credentials.services")
pytestmark = pytest.mark.django_db

API = "/api/v1"
PRODUCT = {
    "name": "Drill",
    "category": "tools",
    "unit_price": "10.00",
    "returnable": True,
    "serial_tracked": False,
}


def key_client(world, *scopes: str):
    issued = credentials.issue_api_key(
        tenant=world.tenant, name="ERP", scopes=list(scopes), actor=world.tenant_admin, via="test"
    )
    client = api_with_key(issued.key)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.key}")
    return client


def order(world) -> dict:
    return {
        "customer_number": world.company.number,
        "order_date": "2026-03-01",
        "lines": [{"line_number": 1, "sku": "BOLT-1", "quantity": 2, "unit_price": "1.00"}],
    }


def test_catalog_key_writes_and_reads_the_catalogue_only(world_a):
    ProductFactory(tenant=world_a.tenant, sku="BOLT-1", unit_price=Decimal("1.00"))
    client = key_client(world_a, "catalog:write")

    created = client.put(f"{API}/products/by-external-id/DRL-1/", PRODUCT, format="json")
    assert created.status_code == 201, created.content
    assert client.get(f"{API}/products/by-external-id/DRL-1/").json()["sku"] == "DRL-1"

    refused = client.put(f"{API}/orders/by-external-id/ZAM/1/", order(world_a), format="json")
    assert_error(refused, 403, "insufficient_scope")
    assert_error(
        client.post(f"{API}/customers/bulk/", {"records": []}, format="json"),
        403,
        "insufficient_scope",
    )
    assert not Order.unscoped.exists()


def test_orders_key_writes_orders_customers_and_invitations_but_not_the_catalogue(
    world_a, django_capture_on_commit_callbacks
):
    ProductFactory(tenant=world_a.tenant, sku="BOLT-1", unit_price=Decimal("1.00"))
    client = key_client(world_a, "orders:write", "orders:read")

    response = client.put(f"{API}/orders/by-external-id/ZAM/1/", order(world_a), format="json")
    assert response.status_code == 201, response.content
    assert OrderLine.unscoped.filter(tenant=world_a.tenant, order__number="ZAM/1").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        invited = client.post(
            f"{API}/customer-users/",
            {"customer_number": world_a.company.number, "email": "erp-made@buyer.example"},
            format="json",
        )
    assert invited.status_code == 202, invited.content

    refused = client.put(f"{API}/products/by-external-id/DRL-1/", PRODUCT, format="json")
    assert_error(refused, 403, "insufficient_scope")
    assert not Product.unscoped.filter(sku="DRL-1").exists()


def test_a_key_never_writes_another_tenants_data(world_a, world_b):
    ProductFactory(tenant=world_b.tenant, sku="DRL-1", name="Theirs")
    client = key_client(world_a, "catalog:write")

    assert (
        client.put(f"{API}/products/by-external-id/DRL-1/", PRODUCT, format="json").status_code
        == 201
    )

    assert Product.unscoped.get(tenant=world_b.tenant, sku="DRL-1").name == "Theirs"
    assert Product.unscoped.get(tenant=world_a.tenant, sku="DRL-1").name == "Drill"

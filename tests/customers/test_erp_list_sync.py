"""The ERP's lists (categories, products, customers, invoices) sync like every other list:
`updated_since`, `created_from` / `created_to`, a cursor by the time of the last change, and
400 for a parameter they do not know."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from customers.models import CustomerAccount, Product, ProductCategory
from tests.api import api_as, assert_error
from tests.api.test_sync_reads import walk
from tests.factories import CustomerAccountFactory, ProductFactory

pytestmark = pytest.mark.django_db

BASE = timezone.make_aware(datetime.datetime(2026, 6, 1, 12, 0))


def _at(model, rows, hours_apart: int = 1) -> None:
    """Each row created and last changed a day and `hours_apart` hours after the previous."""
    for index, row in enumerate(rows):
        moment = BASE + datetime.timedelta(days=index, hours=index * hours_apart)
        model.unscoped.filter(pk=row.pk).update(created_at=moment, updated_at=moment)


@pytest.mark.parametrize("kind", ["products", "customers", "product-categories"])
def test_updated_since_and_created_dates_narrow_the_list(world_a, kind):
    if kind == "products":
        rows, model = [ProductFactory(tenant=world_a.tenant) for _ in range(3)], Product
    elif kind == "customers":
        rows, model = [world_a.company, world_a.other_company], CustomerAccount
        rows.append(CustomerAccountFactory(tenant=world_a.tenant))
    else:
        rows = [
            ProductCategory.unscoped.create(tenant=world_a.tenant, code=f"sync-{n}", name=f"S{n}")
            for n in range(3)
        ]
        model = ProductCategory
    _at(model, rows)
    client = api_as(world_a.agent)
    url = f"/api/v1/{kind}/"

    def keys(**params):
        answer = client.get(url, params)
        assert answer.status_code == 200, answer.content
        return len(answer.json()["results"])

    second = (BASE + datetime.timedelta(days=1, hours=1)).isoformat()
    assert keys(updated_since=second) == 2
    assert keys(created_from="2026-06-02", created_to="2026-06-02") == 1
    assert keys(created_from="2026-06-04") == 0
    assert_error(client.get(url, {"colour": "red"}), 400, "invalid")
    assert_error(client.get(url, {"updated_since": "yesterday"}), 400, "invalid")


def test_a_cursor_walks_every_product_once_while_others_change(world_a):
    products = [ProductFactory(tenant=world_a.tenant) for _ in range(5)]
    _at(Product, products)
    client = api_as(world_a.agent)

    def touch_first(page: int) -> None:
        # A product already read changes: it comes again at the end, nothing is skipped.
        if page == 1:
            Product.unscoped.filter(pk=products[0].pk).update(updated_at=BASE.replace(year=2027))

    seen = walk(client, "/api/v1/products/", {"page_size": 2}, between_pages=touch_first)

    assert set(seen) == {product.pk for product in products}
    assert seen[-1] == products[0].pk


def test_the_schema_documents_the_sync_parameters(world_a):
    schema = api_as(world_a.agent).get("/api/v1/schema/", {"format": "json"}).json()
    for kind in ("products", "product-categories", "customers", "invoices"):
        parameters = {p["name"] for p in schema["paths"][f"/api/v1/{kind}/"]["get"]["parameters"]}
        assert {"updated_since", "created_from", "created_to", "cursor"} <= parameters, kind

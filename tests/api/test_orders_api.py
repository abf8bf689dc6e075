"""Orders through the API: who sees which, returnable quantities, filters, isolation and
query counts that do not grow with rows."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Order, OrderLine
from tests.returns import conftest as returns_fixtures

from . import api_as, assert_error, assert_not_found, delivered_line

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"

# The service tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return


def numbers(client, **params) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return [order["number"] for order in response.json()["results"]]


def test_customers_see_their_companys_orders_and_staff_the_tenants(world_a, world_b):
    own = delivered_line(world_a.company).order
    other_company = delivered_line(world_a.other_company).order
    other_tenant = delivered_line(world_b.company).order

    assert numbers(api_as(world_a.customer)) == [own.number]
    assert numbers(api_as(world_a.colleague)) == [own.number]
    assert set(numbers(api_as(world_a.agent))) == {own.number, other_company.number}
    assert set(numbers(api_as(world_a.manager))) == {own.number, other_company.number}
    assert numbers(api_as(world_b.agent)) == [other_tenant.number]


def test_filters(world_a):
    own = delivered_line(world_a.company).order
    other_company = delivered_line(world_a.other_company).order
    agent = api_as(world_a.agent)

    assert numbers(agent, customer=world_a.other_company.pk) == [other_company.number]
    assert numbers(agent, number=own.number[-4:]) == [own.number]
    assert numbers(agent, number="NO-SUCH") == []
    # a customer's filter for another company only narrows their own list
    assert numbers(api_as(world_a.customer), customer=world_a.other_company.pk) == []
    error = assert_error(agent.get(URL, {"customer": "acme"}), 400, "invalid")
    assert "customer" in error["fields"]


def test_detail_has_lines_products_and_returnable_quantities(world_a, delivered_order, file_return):
    # given
    line1, line2 = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")
    file_return(  # submitted: holds 2 of line 1
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 2, "reason": "defective"}],
    )
    file_return(  # a draft holds nothing
        world_a.customer,
        world_a.company,
        [{"order_line_id": line2.pk, "quantity": 4, "reason": "defective"}],
        submit=False,
    )
    # when
    response = api_as(world_a.customer).get(f"{URL}{delivered_order.pk}/")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["number"] == delivered_order.number
    assert body["customer"] == {
        "id": world_a.company.pk,
        "number": world_a.company.number,
        "name": world_a.company.name,
    }
    assert body["delivery_date"] == delivered_order.delivery_date.isoformat()
    first, second = body["lines"]
    assert (first["quantity"], first["returnable_quantity"]) == (5, 3)
    assert (second["quantity"], second["returnable_quantity"]) == (10, 10)
    assert first["unit_price"] == "100.00"
    assert first["line_total"] == "500.00"
    assert first["product"] == {
        "id": line1.product.pk,
        "sku": line1.product.sku,
        "name": line1.product.name,
        "category": {"code": "electronics", "name": "Electronics"},
        "is_serial_tracked": False,
        "is_returnable": True,
    }
    assert second["product"]["category"]["code"] == "workwear"
    # the list shows the same quantities
    listed = api_as(world_a.customer).get(URL).json()["results"][0]
    assert [line["returnable_quantity"] for line in listed["lines"]] == [3, 10]


@pytest.mark.parametrize(
    ("actor", "target"),
    [
        ("agent", "other_tenant"),
        ("customer_admin", "other_tenant"),
        ("customer", "other_company"),
        ("customer_admin", "other_company"),
    ],
)
def test_foreign_orders_answer_404(world_a, world_b, actor, target):
    orders = {
        "other_company": delivered_line(world_a.other_company).order,
        "other_tenant": delivered_line(world_b.company).order,
    }

    response = api_as(getattr(world_a, actor)).get(f"{URL}{orders[target].pk}/")

    assert_not_found(response)


def test_orders_are_read_only(world_a):
    order = delivered_line(world_a.company).order
    client = api_as(world_a.agent)

    assert_error(client.post(URL, {"number": "X"}), 405, "method_not_allowed")
    assert_error(client.delete(f"{URL}{order.pk}/"), 405, "method_not_allowed")
    assert Order.unscoped.filter(pk=order.pk).exists()


def test_page_size_is_at_most_200(world_a):
    Order.unscoped.bulk_create(
        Order(
            tenant=world_a.tenant,
            customer_account=world_a.company,
            number=f"BULK/{index:04d}",
            order_date=datetime.date(2026, 1, 1),
        )
        for index in range(201)
    )
    client = api_as(world_a.agent)

    too_large = client.get(URL, {"page_size": 500})
    capped = client.get(URL, {"page_size": 200}).json()
    small = client.get(URL, {"page_size": 2, "page": 3}).json()

    assert set(assert_error(too_large, 400, "invalid")["fields"]) == {"page_size"}
    assert capped["count"] == 201
    assert len(capped["results"]) == 200
    assert capped["next"] is not None
    assert len(small["results"]) == 2
    assert_not_found(client.get(URL, {"page": 999}))


def count_list_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("who", ["customer", "agent"])
def test_list_query_count_does_not_grow_with_rows(world_a, file_return, who):
    client = api_as(getattr(world_a, who))

    def make(count):
        for _index in range(count):
            line = delivered_line(world_a.company)
            delivered_line(world_a.company, order=line.order)
            file_return(  # a claim on the first line, so the ledger has rows to read
                world_a.customer,
                world_a.company,
                [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
            )

    make(3)
    with_three, rows = count_list_queries(client)
    assert rows == 3
    make(12)
    with_fifteen, rows = count_list_queries(client)
    assert rows == 15
    assert with_fifteen == with_three
